"""Values crossing from plugin code to the host: copied into plain JSON data, or refused with a path."""

from __future__ import annotations

import json
import math
import reprlib
from typing import Any

MAX_DEPTH = 64
_LONE = "string is not valid Unicode (lone surrogate)"


class Junk(ValueError):
    """A plugin value the host cannot use; `where(root)` names its path, e.g. `result[2].title`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []

    def inside(self, key: Any) -> Junk:
        if isinstance(key, int):
            self.path.append(f"[{key}]")
        else:
            self.path.append(f".{key}" if isinstance(key, str) else f"[{type(key).__name__} key]")
        return self

    def where(self, root: str) -> str:
        parts = list(reversed(self.path))
        if len(parts) > 8:
            parts = [*parts[:4], "…", *parts[-2:]]
        return f"{root}{''.join(parts)}: {self.reason}"


class Oversize(Junk):
    """A value past the result-size limit: a resource limit hit, not malformed data."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the value is larger than the {limit}-byte result limit")
        self.limit = limit


class Budget:
    """Counts the approximate size of a value as it is copied, so huge results stop early."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = self.left = limit

    def spend(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise Oversize(self.limit)


def check_key(key: Any) -> str:
    if type(key) is not str:
        raise Junk(f"has a non-string key {_shown(key)} ({type(key).__name__}); object keys must be strings")
    return key


def _shown(value: Any) -> str:
    """A short repr for an error message; repr itself may be huge, or refuse (an int past 4300 digits)."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to show>"


def check_scalar(value: Any, budget: Budget) -> Any:
    """Return a JSON scalar unchanged, or raise for anything that is not data."""
    kind = type(value)
    if kind is str:
        budget.spend(len(value) + 2)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Junk(_LONE) from None
        return value
    if kind is int or kind is bool or value is None:
        budget.spend(8)
        return value
    if kind is float:
        if not math.isfinite(value):
            raise Junk(f"{value} is not a finite number")
        budget.spend(8)
        return value
    raise Junk(f"a {kind.__name__} is not data (expected string, number, boolean, list or object)")


def to_plain(value: Any, limit: int) -> Any:
    """Deep-copy Python data from a plugin, refusing cycles, non-string keys, non-data and oversize values."""
    budget = Budget(limit)

    def copy(item: Any, depth: int) -> Any:
        kind = type(item)
        if kind is dict or kind is list or kind is tuple:
            if depth >= MAX_DEPTH:
                raise Junk(f"nested deeper than {MAX_DEPTH} levels (or cyclic)")
            budget.spend(2)
            if kind is dict:
                out = {}
                for key, sub in item.items():
                    check_key(key)
                    try:
                        out[key] = copy(sub, depth + 1)
                    except Junk as junk:
                        raise junk.inside(key) from None
                return out
            items = []
            for index, sub in enumerate(item):
                try:
                    items.append(copy(sub, depth + 1))
                except Junk as junk:
                    raise junk.inside(index) from None
            return items
        return check_scalar(item, budget)

    return copy(value, 0)


def from_json(text: str) -> Any:
    """Parse JSON a plugin's runtime wrote (QuickJS's JSON.stringify); nesting too deep for Python is Junk."""
    try:
        return json.loads(text)
    except RecursionError:
        raise Junk("nested too deeply for the host to read") from None
    except ValueError as exc:
        raise Junk(f"is not JSON ({exc})") from None


def check_unicode(value: Any, text: str) -> None:
    """Refuse lone surrogates in `value`, parsed from `text`.

    JSON.stringify writes a lone surrogate as a `\\udXXX` escape, and json.loads turns that into a str nothing
    can encode; only text holding such an escape needs the walk.
    """
    if "\\ud" not in text and "\\uD" not in text:
        return

    def walk(item: Any) -> None:
        if type(item) is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise Junk(_LONE) from None
        elif type(item) is dict:
            for key, sub in item.items():
                try:
                    walk(key)
                except Junk:
                    raise Junk(f"has a key whose {_LONE}") from None
                try:
                    walk(sub)
                except Junk as junk:
                    raise junk.inside(key) from None
        elif type(item) is list:
            for index, sub in enumerate(item):
                try:
                    walk(sub)
                except Junk as junk:
                    raise junk.inside(index) from None

    try:
        walk(value)
    except RecursionError:
        raise Junk("nested too deeply for the host to read") from None
