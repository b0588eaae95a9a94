"""Web-platform globals every JavaScript plugin has (URL, TextEncoder, timers, crypto, structuredClone,
AbortController, console.group), with timers bounded by the call's deadline."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.errors import PluginTimeout

PLUGIN = """
module.exports = {
  url() {
    const u = new URL("../b/c?x=1#frag", "https://user@music.example.org:8443/a/index.html");
    u.searchParams.append("q", "rain & snow");
    const p = new URLSearchParams({ a: "1", b: "два" });
    return { href: u.href, host: u.host, path: u.pathname, q: u.searchParams.get("q"), p: p.toString() };
  },
  text() {
    const bytes = new TextEncoder().encode("héllo 🎵");
    return { length: bytes.length, back: new TextDecoder().decode(bytes), bad: new TextDecoder().decode(new Uint8Array([0xff, 0x41])) };
  },
  random() {
    const a = crypto.getRandomValues(new Uint8Array(32)), b = crypto.getRandomValues(new Uint8Array(32));
    return { differ: a.join() !== b.join(), uuid: crypto.randomUUID() };
  },
  clone() {
    const source = { when: new Date(0), list: [1, { deep: true }], map: new Map([["k", new Set([1])]]) };
    source.self = source;
    const copy = structuredClone(source);
    let refused = null;
    try { structuredClone({ f() {} }); } catch (e) { refused = e.name; }
    return { same: copy.self === copy, notSame: copy !== source, date: copy.when.getTime(), k: [...copy.map.get("k")], refused };
  },
  async timers() {
    const order = [];
    const started = Date.now();
    setTimeout(() => order.push("late"), 40);
    setTimeout(() => order.push("early"), 10);
    const cancelled = setTimeout(() => order.push("never"), 20);
    clearTimeout(cancelled);
    let ticks = 0;
    await new Promise((resolve) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve(); } }, 5); });
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { order, ticks, waited: Date.now() - started >= 50 };
  },
  async abort() {
    const controller = new AbortController();
    const seen = [];
    controller.signal.addEventListener("abort", () => seen.push(controller.signal.reason.name));
    controller.abort();
    const timed = await new Promise((resolve) => AbortSignal.timeout(5).onabort = function () { resolve(this.reason.name); });
    return { aborted: controller.signal.aborted, seen, timed };
  },
  grouped() { console.group("outer"); console.log("inside"); console.groupEnd(); console.log("after"); return true; },
  async sleepy() { await new Promise((resolve) => setTimeout(resolve, 60000)); },
};
"""


@pytest.fixture
async def fox(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> AsyncIterator[Engine]:
    async with Engine(engine_config()) as engine:
        await engine.load(write_plugin("web.js", PLUGIN))
        yield engine


async def test_url_and_search_params(fox: Engine) -> None:
    assert await fox.call("web", "url") == {
        "href": "https://user@music.example.org:8443/b/c?x=1&q=rain+%26+snow#frag",
        "host": "music.example.org:8443",
        "path": "/b/c",
        "q": "rain & snow",
        "p": "a=1&b=%D0%B4%D0%B2%D0%B0",
    }


async def test_text_encoding_crypto_and_clone(fox: Engine) -> None:
    assert await fox.call("web", "text") == {"length": 11, "back": "héllo 🎵", "bad": "\ufffdA"}
    random = await fox.call("web", "random")
    assert random["differ"] and re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", random["uuid"]
    )
    assert await fox.call("web", "clone") == {
        "same": True,
        "notSame": True,
        "date": 0,
        "k": [1],
        "refused": "DataCloneError",
    }


async def test_timers_run_in_order_while_the_call_waits(fox: Engine) -> None:
    assert await fox.call("web", "timers") == {"order": ["early", "late"], "ticks": 3, "waited": True}
    assert await fox.call("web", "abort") == {"aborted": True, "seen": ["AbortError"], "timed": "TimeoutError"}


async def test_a_timer_past_the_deadline_is_a_timeout_at_the_deadline(fox: Engine) -> None:
    started = time.monotonic()
    with pytest.raises(PluginTimeout, match=r"exceeded its 0\.5 s deadline in sleepy\(\)"):
        await fox.call("web", "sleepy", timeout=0.5)
    assert time.monotonic() - started < 5  # catches a hang, not a benchmark
    assert await fox.call("web", "grouped") is True  # and the plugin serves on


async def test_console_group_indents(fox: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="foxplug.plugin.web"):
        await fox.call("web", "grouped")
    assert [r.getMessage() for r in caplog.records if r.name == "foxplug.plugin.web"] == ["outer", "  inside", "after"]
