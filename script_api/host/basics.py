"""The permission-free host functions: logging, JSON and the plugin's own identity."""

from __future__ import annotations

import json
import logging
from typing import Any

from engine.errors import PluginError
from script_api.context import PluginContext

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def log(level: str):
    """Build the `log.<level>` implementation; plugin output goes to logger `foxplug.plugin.<id>`."""
    number = _LEVELS[level]

    def write(ctx: PluginContext, *parts: Any) -> None:
        ctx.logger.log(number, " ".join(p if isinstance(p, str) else json.dumps(p) for p in parts))

    write.__name__ = f"log_{level}"
    return write


# Built once: json.dumps with any non-default option constructs a new encoder on every call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_PRETTY = json.JSONEncoder(ensure_ascii=False, indent=2)


def json_encode(ctx: PluginContext, value: Any, pretty: bool = False) -> str:
    return (_PRETTY if pretty else _COMPACT).encode(value)


def json_decode(ctx: PluginContext, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PluginError(f"fox.json.decode: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def plugin_info(ctx: PluginContext) -> dict[str, Any]:
    return {"id": ctx.plugin_id, "version": ctx.version, "config": ctx.config}
