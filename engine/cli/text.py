"""Text to and from the command line: an error as the one line the CLI contract prints, arguments as JSON
when they parse. Imports nothing of the engine, so `foxplug --help` stays quick."""

from __future__ import annotations

import argparse
import json
from typing import Any


def error_line(error: BaseException) -> str:
    """`ClassName: message` — the one line the CLI contract prints for every error."""
    return f"{type(error).__name__}: {error}"


def parse_arg(text: str) -> Any:
    """A command-line argument as JSON if it parses (`5`, `{"a":1}`, `true`), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def plugin_config_arg(text: str) -> dict[str, Any]:
    """`--plugin-config KEY=VALUE` (VALUE as JSON if it parses) or a whole JSON object."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not a JSON object: {error}") from None
        if isinstance(value, dict):
            return value
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE or a JSON object")
    return {key: parse_arg(raw)}
