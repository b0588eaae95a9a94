"""What `foxplug call` and `foxplug dev` show a plugin author: the plugin's own output (`print`, `console.log`,
`fox.log.*`, `fox.ui.notify`) without `-v`, its answer checked against the capability's result type, and the
`--plugin-config` it is tried with."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.engine import Engine
from engine.loading.pipeline import read_version

PLUGIN_LOGGER = "foxplug.plugin"


def with_plugin_config(config: Config, target: str, overrides: list[dict[str, Any]], is_path: bool) -> Config:
    """`config` with the overrides merged into the target plugin's `plugin_configs.<id>.config`, so that every
    load of it, reloads included, gets them."""
    if not overrides:
        return config
    plugin_id = read_version(Path(target).resolve()).manifest.id if is_path else target
    settings = config.settings(plugin_id)
    merged = dict(settings.config)
    for override in overrides:
        merged.update(override)
    configs = {**config.plugin_configs, plugin_id: replace(settings, config=merged)}
    return replace(config, plugin_configs=configs)


class _Say(logging.Handler):
    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._say = say

    def emit(self, record: logging.LogRecord) -> None:
        plugin = record.name.removeprefix(PLUGIN_LOGGER + ".")
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        self._say(f"[{plugin}] {level}{record.getMessage()}")


def show_plugin_output(engine: Engine, say: Callable[[str], None], verbose: int) -> Callable[[], None]:
    """Print what plugins print and notify through `say`; returns the undo. With `-v` the log already shows it."""
    unsubscribe = engine.on("notify", lambda p: say(f"[{p['plugin']}] notify ({p['level']}): {p['text']}"))
    if verbose:
        return unsubscribe
    logger = logging.getLogger(PLUGIN_LOGGER)
    handler, level = _Say(say), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def undo() -> None:
        unsubscribe()
        logger.removeHandler(handler)
        logger.setLevel(level)

    return undo
