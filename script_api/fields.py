"""Field checks for data that crosses the plugin boundary: each returns the value in the expected shape or
raises a ``ValueError`` whose message starts with the field's path (``items[3].title: expected a string``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_NUMBER = 2**53
"""Past this a number is not a count, a duration or a timestamp (and scaling it may overflow a float)."""
MAX_DEPTH = 64
"""How deeply plugin-private JSON (``extra``) may nest; the host's own copies recurse."""
MAX_TEXT = 1 << 16
"""Characters of one text field (a title, a name, a URL); whole documents such as LRC are bounded elsewhere."""


def at(path: str, key: str) -> str:
    """Extend a field path: ``at("items[3]", "title") == "items[3].title"``."""
    return f"{path}.{key}" if path else key


def type_name(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, str) and not value:
        return "empty string"
    return type(value).__name__


def invalid(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}" if where else message)


def type_error(where: str, expected: str, value: object) -> ValueError:
    return invalid(where, f"expected {expected}, got {type_name(value)}")


def pick(data: Mapping[str, Any], *keys: str) -> tuple[str, Any]:
    """Value of the first alias the plugin set, with its key so error paths name what the plugin wrote."""
    for key in keys:
        if data.get(key) is not None:
            return key, data[key]
    return keys[0], None


def as_object(value: Any, where: str, expected: str = "an object") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise type_error(where, expected, value)
    return value


def as_list(value: Any, where: str) -> list[Any]:
    """A list; ``{}`` counts as empty because Lua cannot tell an empty array from an empty table."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping) and not value:
        return []
    raise type_error(where, "a list", value)


def as_str(value: Any, where: str, *, limit: int | None = MAX_TEXT) -> str:
    """A string of at most `limit` characters (None: bounded by the result-size limit alone)."""
    if not isinstance(value, str):
        raise type_error(where, "a string", value)
    if limit is not None and len(value) > limit:
        raise invalid(where, f"expected at most {limit:,} characters, got {len(value):,}")
    return value


def opt_str(value: Any, where: str, *, limit: int | None = MAX_TEXT) -> str | None:
    """Plugins often send ``""`` for "unknown", so it means the same as a missing value."""
    if value is None or value == "":
        return None
    return as_str(value, where, limit=limit)


def as_id(value: Any, where: str, *, required: bool = True) -> str:
    """Ids are strings; numeric ids (common in JSON APIs) are converted, bools are not ids."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and (value or not required):
        return value
    if value is None and not required:
        return ""
    raise type_error(where, "a non-empty string or integer", value)


def as_number(value: Any, where: str) -> float:
    """A non-negative finite number up to 2**53; JavaScript hands every number over as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise type_error(where, "a number", value)
    if (isinstance(value, float) and not math.isfinite(value)) or value < 0:
        raise invalid(where, f"expected a non-negative number, got {value!r}")
    if value > MAX_NUMBER:  # an int past 4,300 digits cannot even be shown: no repr in this message
        raise invalid(where, f"expected a number up to 2**53, got a larger {type(value).__name__}")
    return value


def opt_int(value: Any, where: str) -> int | None:
    return None if value is None else round(as_number(value, where))


def as_json(value: Any, where: str, depth: int = 0) -> Any:
    """Copy ``value`` as plain JSON data: ``extra`` is opaque to us but must survive ``to_dict``."""
    if depth > MAX_DEPTH:
        raise invalid(where, f"nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            raise invalid(where, "expected an integer up to 2**53 (JSON readers lose larger ones)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise invalid(where, f"expected a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise invalid(where, f"expected string keys, got {type_name(key)} key {key!r}")
            copied[key] = as_json(item, at(where, key), depth + 1)
        return copied
    if isinstance(value, list | tuple):
        return [as_json(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise type_error(where, "JSON data", value)
