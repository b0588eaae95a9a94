"""Other ecosystems' plugins are contained like any other: a hanging, looping or flooding plugin costs only
itself, and a bad one among twenty never delays the others' answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import Engine
from engine.errors import PluginTimeout

GOOD = """
const axios = require("axios");
module.exports = {
  platform: "Good {n}",
  async search(query, page, type) {
    const data = (await axios.get(env.getUserVariables().api + "/songs", { params: { q: query } })).data;
    return { isEnd: true, data: data.map((s) => ({ ...s, id: s.id + "-{n}" })) };
  },
};
"""

LOOPING = """
module.exports = { platform: "Looping", search(query) { while (true) {} } };
"""

HANGING = """
module.exports = { platform: "Hanging", search(query) { return new Promise((resolve) => setTimeout(resolve, 600000)); } };
"""

FLOODING = """
const axios = require("axios");
module.exports = {
  platform: "Flooding",
  async search(query) {
    for (let i = 0; ; i++) {
      await Promise.all([0, 1, 2, 3].map((k) => axios.get(env.getUserVariables().api + "/songs?q=" + i + k)));
    }
  },
};
"""


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def songs(request: web.Request) -> web.Response:
        return web.json_response([{"id": "s1", "title": f"Song for {request.query.get('q', '')}", "artist": "A"}])

    app = web.Application()
    app.router.add_get("/songs", songs)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _settings(ids: list[str], api: str) -> dict[str, Any]:
    return {i: {"config": {"api": api}, "permissions": {"network": ["127.0.0.1"]}} for i in ids}


@pytest.mark.parametrize("bad", [LOOPING, HANGING])
async def test_one_bad_plugin_among_twenty_never_delays_the_others(
    bad: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], api: str
) -> None:
    ids = [f"good{n:02d}" for n in range(19)]
    for n, plugin_id in enumerate(ids):
        write_plugin(f"{plugin_id}.js", GOOD.replace("{n}", str(n)))
    path = write_plugin("bad.js", bad)
    config = engine_config([path.parent], plugin_configs=_settings([*ids, "bad"], api))
    async with Engine(config) as fox:
        assert len(fox.plugins) == 20
        finished: dict[str, float] = {}

        async def ask(plugin_id: str) -> None:
            try:
                await fox.call(plugin_id, "search", "rain", {"type": "song"}, timeout=3)
            finally:
                finished[plugin_id] = time.monotonic()

        results = await asyncio.gather(*(ask(i) for i in [*ids, "bad"]), return_exceptions=True)
        assert all(r is None for r in results[:-1])
        assert isinstance(results[-1], PluginTimeout)
        assert max(finished[i] for i in ids) < finished["bad"]  # every good answer came before the bad one's deadline

        merged = await fox.search("rain", timeout=3)
        assert len(merged.items) == 19 and list(merged.errors) == ["bad"]
        assert merged.errors["bad"].startswith("PluginTimeout:")
        again = await fox.call("good00", "search", "sun", 1, "music")  # the others keep serving
        assert again["data"][0]["title"] == "Song for sun"


async def test_a_flood_of_requests_ends_at_the_deadline_and_the_others_keep_serving(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], api: str
) -> None:
    write_plugin("flooding.js", FLOODING)
    path = write_plugin("good.js", GOOD.replace("{n}", "0"))
    async with Engine(engine_config([path.parent], plugin_configs=_settings(["flooding", "good"], api))) as fox:
        flood = asyncio.ensure_future(fox.call("flooding", "search", "x", 1, "music", timeout=1.5))
        answer = await fox.call("good", "search", "sun", 1, "music")
        assert answer["data"][0]["title"] == "Song for sun"
        with pytest.raises(PluginTimeout):
            await flood


async def test_a_plugin_looping_while_it_loads_fails_alone(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], api: str
) -> None:
    write_plugin("spin.js", "while (true) {}\nmodule.exports = { platform: 'Spin' };\n")
    write_plugin(
        "lxspin.js",
        "/**\n * @name LX Spin\n */\nsetTimeout(() => { while (true) {} }, 0)\nglobalThis.lx.on('request', () => 1)\n",
    )
    path = write_plugin("good.js", GOOD.replace("{n}", "0"))
    config = engine_config([path.parent], plugin_configs=_settings(["good"], api), performance={"call_timeout": "1s"})
    async with Engine(config) as fox:
        assert [p.id for p in fox.plugins] == ["good"]
        assert {type(e).__name__ for e in fox.load_errors.values()} == {"PluginTimeout"}
        assert (await fox.search("rain")).errors == {}


async def test_a_musicfree_plugin_may_fetch_while_it_loads(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], api: str
) -> None:
    path = write_plugin(
        "eager.js",
        """
        const axios = require("axios");
        let catalogue = [];
        axios.get(env.getUserVariables().api + "/songs?q=boot").then((r) => { catalogue = r.data; });
        module.exports = { platform: "Eager", async search() { return { data: catalogue }; } };
        """,
    )
    async with Engine(engine_config([path.parent], plugin_configs=_settings(["eager"], api))) as fox:
        result = await fox.search("anything")
        assert [s.title for s in result.items] == ["Song for boot"]
