"""A fan-out search's answer: every source's items, normalised and tagged, and per-source errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from script_api.types import Playlist, songs_from_plugin


@dataclass
class SearchResult:
    """Merged items in provider order, and what went wrong per plugin (never raised)."""

    items: list[Any] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, answer: Any, kind: str, source: str, limit: int) -> None:
        """One source's answer; junk is recorded as that source's error rather than raised."""
        try:
            self.items.extend(_normalise(answer, kind, source)[:limit])
        except ValueError as exc:
            self.errors[source] = f"PluginError: search() returned {exc}"

    def to_dict(self) -> dict[str, Any]:
        items = [item.to_dict() if hasattr(item, "to_dict") else item for item in self.items]
        return {"items": items, "errors": dict(self.errors)}


def _normalise(answer: Any, kind: str, source: str) -> list[Any]:
    if kind == "song":
        return songs_from_plugin(answer, source=source, path="search()")
    items = answer.get("items", []) if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ValueError(f"search(): expected a list of {kind}s, got {type(items).__name__}")
    if kind == "playlist":
        return [Playlist.from_plugin(item, path=f"search()[{i}]") for i, item in enumerate(items)]
    return [{**item, "source": source} if isinstance(item, dict) else item for item in items]
