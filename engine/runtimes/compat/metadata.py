"""What both ecosystems' metadata needs on its way into a foxplug manifest."""

from __future__ import annotations

import re

_RELEASE = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def semantic_version(text: str | None) -> str:
    """`1.2` → `1.2.0`, `v3` → `3.0.0`; anything else (or nothing) → `0.0.0`."""
    match = _RELEASE.fullmatch((text or "").strip())
    return ".".join(part or "0" for part in match.groups()) if match else "0.0.0"


def clip(text: str, limit: int) -> str:
    """As LX clips its header fields: at most `limit` characters, then `...`."""
    return text if len(text) <= limit else text[:limit] + "..."
