"""Durations (`30s`, `250ms`) and sizes (`64MB`) as people write them in YAML."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}
_BYTES = {"B": 1, "KB": 1 << 10, "KiB": 1 << 10, "MB": 1 << 20, "MiB": 1 << 20, "GB": 1 << 30, "GiB": 1 << 30}


def parse_duration(value: str | float) -> float:
    """Seconds; a bare number means seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration (expected e.g. 250ms, 5s, 2m)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_size(value: str | int) -> int:
    """Bytes; binary multiples (64MB = 64 MiB), as memory limits are usually meant."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a size (expected e.g. 512KB, 64MB)")
    return int(float(match.group(1)) * _BYTES[match.group(2) or "B"])
