"""Version ranges as manifests write them (`>=1.2 <2`, `^1.4.0`, `~3.11`, `1.x`, `>=3.11 || 3.10.4`).

One small reader for every range in a manifest (`compatibility.engine`, `compatibility.python`), so a range
means the same wherever it appears. A partial version (`3.11`) in a comparison is padded with zeros; standing
alone it means every release that starts with it (`3.11` = `3.11.x`).
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?$")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|==|=|\^|~=|~)?\s*(.+)$")


def parse_version(text: str) -> Version:
    """'3.11.7' -> (3, 11, 7); pre-release and build suffixes are ignored for ordering."""
    match = _VERSION.match(text.strip())
    if not match or any(part and not part.isdigit() for part in match.groups()):
        raise ValueError(f"{text!r} is not a version (expected e.g. 1.2.0)")
    major, minor, patch = (int(part or 0) for part in match.groups())
    return major, minor, patch


def _partial(text: str) -> tuple[int, ...]:
    """'1.2' -> (1, 2); '1.x' -> (1,): the parts given, up to the first wildcard."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a version (expected e.g. 1.2.0, 1.2 or 1.x)")
    parts: list[int] = []
    for part in match.groups():
        if part is None or not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _pad(parts: tuple[int, ...]) -> Version:
    major, minor, patch = (*parts, 0, 0, 0)[:3]
    return major, minor, patch


def _bump(parts: tuple[int, ...]) -> Version:
    """The first version past every release starting with `parts`: (1, 2) -> (1, 3, 0)."""
    if not parts:
        return (1 << 62, 0, 0)
    return _pad((*parts[:-1], parts[-1] + 1))


def _bounds(op: str, parts: tuple[int, ...]) -> list[tuple[str, Version]]:
    if op in ("", "=", "=="):
        if len(parts) == 3:
            return [("==", parts)]  # type: ignore[list-item]
        return [(">=", _pad(parts)), ("<", _bump(parts))]
    if op == "^":  # up to the next change of the first non-zero part
        significant = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
        return [(">=", _pad(parts)), ("<", _bump(parts[: max(significant, 0) + 1]))]
    if op in ("~", "~="):  # patch changes (minor changes when only a major is given)
        return [(">=", _pad(parts)), ("<", _bump(parts[:2] if len(parts) > 1 else parts))]
    if op in ("<=", ">") and len(parts) < 3:  # `<=1.2` includes every 1.2.x; `>1.2` starts at 1.3
        return [("<" if op == "<=" else ">=", _bump(parts))]
    return [(op, _pad(parts))]


_TESTS = {
    "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def parse_range(text: str) -> list[list[tuple[str, Version]]]:
    """Alternatives (`||`) of comparator sets (space or comma separated), each an (op, version) bound."""
    alternatives = []
    for alternative in text.split("||"):
        bounds: list[tuple[str, Version]] = []
        tokens = re.sub(r"(>=|<=|==|~=|[<>=^~])\s+", r"\1", alternative).replace(",", " ").split()
        for token in tokens:
            if token in ("*", "x", "X"):
                continue
            match = _COMPARATOR.match(token)
            if not match:
                raise ValueError(f"{text!r} is not a version range (expected e.g. >=1.2 <2, ^1.4 or 3.11)")
            bounds += _bounds(match.group(1) or "", _partial(match.group(2)))
        alternatives.append(bounds)
    return alternatives


def satisfies(version: str | Version, range_text: str) -> bool:
    """Whether `version` lies in `range_text`; raises ValueError for a malformed range."""
    have = parse_version(version) if isinstance(version, str) else version
    return any(all(_TESTS[op](have, bound) for op, bound in bounds) for bounds in parse_range(range_text))
