"""One hostile value in an answer costs only that source: `Engine.search`, `lyrics` and `ui.*` never raise for it,
never block the event loop on it, and every other plugin's results come through."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine

Write = Callable[[str, str], Path]

GOOD_SOURCE = """
--[[---
id: good
version: 1.0.0
---]]
local M = {}
function M.search(q) return {{id = "1", title = "kept", duration_ms = 1000}} end
function M.get_lyrics(song) return "[00:01.00]kept line" end
function M.keymap() return {k = "good-action"} end
function M.status() return "good status" end
return M
"""

HOSTILE = {
    "huge_float.lua": """
        --[[---
        id: huge-float
        version: 1.0.0
        ---]]
        local M = {}
        function M.search(q) return {{id = "1", title = "x", duration_s = 1e308}} end
        return M
    """,
    "huge_int.py": '''
        """---
        id: huge-int
        version: 1.0.0
        ---"""
        def search(query, opts):
            return [{"id": 10 ** 400, "title": "x", "duration": 10 ** 400}]
    ''',
    "huge_title.lua": """
        --[[---
        id: huge-title
        version: 1.0.0
        ---]]
        local M = {}
        function M.search(q) return {{id = "1", title = string.rep("x", 100000)}} end
        return M
    """,
    "deep_extra.js": """
        /*---
        id: deep-extra
        version: 1.0.0
        ---*/
        module.exports = {
          search(q) {
            let t = {};
            for (let i = 0; i < 985; i++) t = {t};
            return [{id: "1", title: "x", extra: t}];
          },
        };
    """,
}

# 300 timestamps on a line whose text has 2,000 word tags: 600,000 words from 16 KB of text.
LRC_BOMB = "[00:01.00]" * 300 + "<00:01.00>a" * 2000

BOMB_PROVIDER = f"""
--[[---
id: lrc-bomb
version: 1.0.0
---]]
local M = {{}}
function M.get_lyrics(song) return "{LRC_BOMB}" end
function M.keymap() return {{"not", "a", "map"}} end
function M.status() local t = {{}}; for i = 1, 60 do t = {{t}} end; return t end
return M
"""


@pytest.fixture
async def fox(engine_config: Callable[..., dict[str, Any]], write_plugin: Write) -> Any:
    async with Engine(engine_config(plugin_configs={"lrc-bomb": {"priority": 100}})) as engine:
        await engine.load(write_plugin("good.lua", GOOD_SOURCE))
        for name, source in HOSTILE.items():
            await engine.load(write_plugin(name, source))
        await engine.load(write_plugin("lrc_bomb.lua", BOMB_PROVIDER))
        yield engine


async def test_a_hostile_number_or_nesting_costs_only_its_source(fox: Engine) -> None:
    result = await fox.search("anything")
    assert [song.title for song in result.items] == ["kept"]
    assert set(result.errors) == {"huge-float", "huge-int", "deep-extra", "huge-title"}
    assert "at most 65,536 characters" in result.errors["huge-title"]
    assert "duration_s" in result.errors["huge-float"] and "2**53" in result.errors["huge-float"]
    assert "2**53" in result.errors["huge-int"]
    assert "nested" in result.errors["deep-extra"]  # refused by the JS runtime's copy or by normalisation
    assert all(error.startswith("PluginError: ") and "search() returned" in error for error in result.errors.values())


async def test_an_lrc_bomb_is_refused_before_the_work_and_the_next_provider_answers(
    fox: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="engine.engine"):
        lyrics = await fox.lyrics({"id": "1", "title": "x"})
    assert time.perf_counter() - started < 5  # it took 9.6 s of frozen loop before
    assert lyrics is not None and [line.text for line in lyrics.lines] == ["kept line"]
    assert any("lrc-bomb" in record.getMessage() and "200,000" in record.getMessage() for record in caplog.records)


async def test_ui_hooks_skip_a_plugin_whose_answer_is_junk(fox: Engine) -> None:
    assert await fox.ui.keymap() == {"k": {"action": "good-action", "plugin": "good"}}
    assert [segment["text"] for segment in await fox.ui.status({})] == ["good status"]
