"""A Lua plugin cannot reach the host, leak into another plugin, outlast its deadline, stall the host, or hand the
host a value that hurts it.

Every case is a real plugin function called through the Engine: an attempt that, were it to work, would write the
sentinel file or call the witness server. Each ends in a typed error within deadline + 1 s, with nothing done,
while a bystander plugin in the same engine keeps answering and the event loop keeps turning.
Run with `-s` (and without `-n`) to see the figures of every case.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import lupa.lua54 as lupa
import pytest

from engine import Engine, NullPlayer, PermissionDenied, PluginError, PluginTimeout, ResourceLimitExceeded
from tests.security.conftest import Sandbox, assert_contained, hostile_engine, print_figures, sandbox_config

pytestmark = pytest.mark.usefixtures("rss_budget")

DEADLINE = 0.3
SLACK = 1.0
"""Generous: these tests catch hangs and stalls; the figures (run with `-s`) are far lower."""
STALL = 0.5
"""The bystander's answer, and one turn of the event loop, while a hostile call runs (typically a few ms)."""
FIGURES: list[tuple[str, float, float, float]] = []

HOSTILE = r"""
--[[---
id: hostile
version: 1.0.0
permissions:
  storage: true
  events.emit: true
---]]
local M = {}
local SENTINEL, URL = fox.config.sentinel, fox.config.url
local function loop() while true do end end

function M.ping() return "pong" end

-- Host internals: Python, its builtins, the objects behind `fox`.
function M.python_global() return python.eval("open(" .. string.format("%q", SENTINEL) .. ", 'w')") end
function M.python_builtins() return rawget(_G, "python").builtins.open(SENTINEL, "w") end
function M.fox_function_internals() return fox.http.get.__self__.ctx.services.http end
function M.fox_namespace_is_a_plain_table()
  for name, namespace in pairs(fox) do
    if type(namespace) ~= "table" then error(name .. " is a " .. type(namespace), 0) end
    for leaf, fn in pairs(namespace) do
      if type(fn) == "function" and getmetatable(fn) ~= nil then return fn.__call(SENTINEL) end
    end
  end
  return fox.http.get.__call(URL)
end
-- Module loaders and code from bytecode.
function M.require_os() return require("os").execute("touch " .. SENTINEL) end
function M.package_loadlib() return package.loadlib("libc.so.6", "system")("touch " .. SENTINEL) end
function M.load_binary_chunk() return assert(load("\27LuaT\0\25\147\r\n\26\n", "evil", "b"))() end
function M.load_binary_as_text() return assert(load("\27LuaT\0\25\147\r\n\26\n"))() end
function M.string_dump()
  local dump = string.dump or ("").dump
  return load(dump(function() return 1 end), "evil", "b")()
end
function M.debug_library() debug.sethook(); loop() end
function M.debug_registry() return debug.getregistry()[1] end
function M.string_metatable() return getmetatable("").__index.dump(M.ping) end
function M.collectgarbage_stop() collectgarbage("stop"); return collectgarbage("count") end
-- The process, the environment, the filesystem, the network.
function M.io_open() return io.open(SENTINEL, "w"):write("owned") end
function M.os_execute() return os.execute("rm " .. SENTINEL) end
function M.os_remove() return os.remove(SENTINEL) end
function M.os_getenv() return os.getenv("HOME") end
function M.http_without_grant() return fox.http.get(URL) end

-- Swallowing the deadline.
function M.wrapped_coroutine_in_pcall()
  while true do pcall(coroutine.wrap(loop)) end
end
function M.catch_the_deadline_and_go_on()
  local ok, err = pcall(loop)
  return "escaped: " .. tostring(err)
end
function M.close_the_coroutine_that_timed_out()
  local co = coroutine.create(loop)
  local ok, err = pcall(coroutine.resume, co)
  coroutine.close(co)
  return "escaped: " .. tostring(err)
end
function M.error_object_with_looping_tostring() error(setmetatable({}, { __tostring = loop })) end

-- Work the count hook cannot see: one C call, or one instruction, doing seconds of work.
function M.catastrophic_find() return string.find(string.rep("a", 50000), ".-.-.-.-.-b") end
function M.catastrophic_gsub_method() return (("a"):rep(40000)):gsub("(.-)(.-)(.-)b", "%1") end
function M.catastrophic_gmatch() for _ in ("a"):rep(40000):gmatch("a-a-a-b") do end end
function M.quadratic_plain_find() return ("a"):rep(4e6):find(("a"):rep(2e6) .. "b", 1, true) end
function M.empty_rep_in_a_loop() for _ = 1, 1e9 do string.rep("", 2^62) end end
function M.table_move_of_nothing() return table.move({}, 1, 2^40, 1) end
function M.insert_with_lying_length()
  table.insert(setmetatable({}, { __len = function() return 2^53 end }), 1, "x")
end
function M.concat_big_strings_in_a_loop()
  local big = ("x"):rep(4e6)
  for _ = 1, 1e9 do local copy = big .. "!" end
end
function M.sort_in_a_loop()
  local t = {}
  for i = 1, 3e5 do t[i] = (i * 7919) % 300007 end
  for _ = 1, 1e9 do table.sort(t) end
end
function M.tonumber_in_a_loop()
  local digits = ("1"):rep(4e6)
  for _ = 1, 1e9 do tonumber(digits) end
end
function M.collect_in_a_loop()
  local keep = {}
  for i = 1, 1e5 do keep[i] = { i } end
  for _ = 1, 1e9 do collectgarbage() end
end
function M.compare_big_strings_in_a_loop()
  local a, b = ("x"):rep(2e6), ("x"):rep(2e6)
  for _ = 1, 1e9 do local same = (a == b) end
end
function M.huge_rep() return #string.rep("x", 1e9) end
function M.rep_past_the_size_limit() return #("x"):rep(2^31) end
function M.giant_table() local t = {} for i = 1, 1e9 do t[i] = i end end
function M.format_width() return string.format("%99999999d", 1) end
function M.date_with_a_huge_format() return os.date(("%c"):rep(1e6)) end
function M.utf8_char_of_many()
  local codes = {}
  for i = 1, 1e6 do codes[i] = 0x10FFFF end
  return utf8.char(table.unpack(codes))
end

-- Values crossing to the host.
function M.result_with_hostile_metatable()
  return setmetatable({ play = print }, { __index = loop, __pairs = loop, __len = loop, __tostring = loop })
end
function M.error_object_whose_tostring_throws()
  error(setmetatable({}, { __tostring = function() error("and again") end }))
end
function M.cyclic_argument() local t = {}; t.self = t; return fox.json.encode(t) end
function M.invalid_utf8_result() return "\255\254" end
function M.invalid_utf8_key() return { ["\255"] = 1 } end
function M.invalid_utf8_argument() return fox.json.encode({ title = "\255" }) end
function M.invalid_utf8_error() error("bad \255 bytes") end
function M.deep_json_decode() return fox.json.decode(("["):rep(100000) .. ("]"):rep(100000)) end
function M.huge_result() return ("x"):rep(6e6) end

-- Re-entering the host.
function M.function_as_argument() return fox.json.encode(function() return M.pwn() end) end
function M.emit_a_huge_event() fox.events.emit("news", { body = ("x"):rep(1e6) }) end
function M.emit_in_a_loop() for i = 1, 1e6 do fox.events.emit("tick", { i = i }) end end

-- Leaking into other plugins (these return normally; the victim checks what it sees).
function M.pollute_everything()
  string.upper = function() return "polluted" end
  table.concat = nil
  _G.shared = "polluted"
  tostring = function() return "polluted" end
  fox.config.sentinel = "polluted"
  fox.log = nil
  pcall(function() getmetatable("").__index.upper = string.upper end)
  return "done"
end
function M.mutate_host_data()
  local song = { id = "1", title = "original" }
  fox.storage.set("song", song)
  song.title = "mutated"
  local info = fox.plugin.info()
  info.config.sentinel = "mutated"
  local stored = fox.storage.get("song")
  stored.title = "mutated too"
  return fox.storage.get("song").title
end
return M
"""

VICTIM = """
--[[---
id: victim
version: 1.0.0
---]]
local M = {}
function M.check()
  return {
    upper = ("abc"):upper() .. string.upper("def"),
    concat = table.concat({ "a", "b" }),
    shared = type(shared),
    tostring = tostring(12),
    log = type(fox.log.info),
    config = fox.config.sentinel or "none",
  }
end
return M
"""

CASES: dict[str, tuple[type[Exception] | tuple[type[Exception], ...], str]] = {
    # host internals
    "python_global": (PluginError, r"attempt to index a nil value \(global 'python'\)"),
    "python_builtins": (PluginError, r"attempt to index a nil value"),
    "fox_function_internals": (PluginError, r"attempt to index a function value"),
    "fox_namespace_is_a_plain_table": (PluginError, r"attempt to index a function value"),
    "require_os": (PluginError, r"attempt to call a nil value \(global 'require'\)"),
    "package_loadlib": (PluginError, r"attempt to index a nil value \(global 'package'\)"),
    "load_binary_chunk": (PluginError, r"only text chunks may be loaded"),
    "load_binary_as_text": (PluginError, r"attempt to load a binary chunk"),
    "string_dump": (PluginError, r"attempt to call a nil value \(local 'dump'\)"),
    "debug_library": (PluginError, r"attempt to index a nil value \(global 'debug'\)"),
    "debug_registry": (PluginError, r"attempt to index a nil value \(global 'debug'\)"),
    "string_metatable": (PluginError, r"attempt to index a nil value"),
    "collectgarbage_stop": (PluginError, r"collectgarbage\('stop'\) is not available to plugins"),
    "io_open": (PluginError, r"attempt to index a nil value \(global 'io'\)"),
    "os_execute": (PluginError, r"attempt to call a nil value \(field 'execute'\)"),
    "os_remove": (PluginError, r"attempt to call a nil value \(field 'remove'\)"),
    "os_getenv": (PluginError, r"attempt to call a nil value \(field 'getenv'\)"),
    "http_without_grant": (PermissionDenied, r"holds no network grant for 127\.0\.0\.1"),
    # swallowing the deadline
    "wrapped_coroutine_in_pcall": (PluginTimeout, r"deadline in {method}\(\)"),
    "catch_the_deadline_and_go_on": (PluginTimeout, r"deadline in {method}\(\)"),
    "close_the_coroutine_that_timed_out": (PluginTimeout, r"deadline in {method}\(\)"),
    "error_object_with_looping_tostring": (PluginTimeout, r"deadline in {method}\(\)"),
    # work the count hook cannot see
    "catastrophic_find": (PluginTimeout, r"deadline in {method}\(\)"),
    "catastrophic_gsub_method": (PluginTimeout, r"deadline in {method}\(\)"),
    "catastrophic_gmatch": (PluginTimeout, r"deadline in {method}\(\)"),
    "quadratic_plain_find": (PluginTimeout, r"deadline in {method}\(\)"),
    "empty_rep_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "table_move_of_nothing": (PluginTimeout, r"deadline in {method}\(\)"),
    "insert_with_lying_length": (PluginTimeout, r"deadline in {method}\(\)"),
    "concat_big_strings_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "sort_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "tonumber_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "collect_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "compare_big_strings_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "huge_rep": (ResourceLimitExceeded, r"16777216-byte memory limit in {method}\(\)"),
    "rep_past_the_size_limit": (PluginError, r"resulting string too large"),
    "giant_table": (ResourceLimitExceeded, r"16777216-byte memory limit in {method}\(\)"),
    "format_width": (PluginError, r"invalid conversion"),
    "date_with_a_huge_format": (PluginError, r"os\.date: formats longer than 4096 bytes are not available"),
    "utf8_char_of_many": (ResourceLimitExceeded, r"memory limit|stack"),
    # values crossing to the host
    "result_with_hostile_metatable": (PluginError, r"result\.play: a Lua function is not data"),
    "error_object_whose_tostring_throws": (PluginError, r"{method}\(\) failed"),
    "cyclic_argument": (PluginError, r"fox\.json\.encode: argument(\.self)+.*nested deeper than 64 levels"),
    "invalid_utf8_result": (PluginError, r"result: has a string that is not valid UTF-8"),
    "invalid_utf8_key": (PluginError, r"result: has a string that is not valid UTF-8"),
    "invalid_utf8_argument": (PluginError, r"fox\.json\.encode: argument: has a string that is not valid UTF-8"),
    "invalid_utf8_error": (PluginError, r"{method}\(\) failed: bad \? bytes"),
    "deep_json_decode": (PluginError, r"fox\.json\.decode failed: RecursionError"),
    "huge_result": (ResourceLimitExceeded, r"4194304-byte result limit in {method}\(\)"),
    # re-entering the host
    "function_as_argument": (PluginError, r"fox\.json\.encode: argument: a Lua function is not data"),
    "emit_a_huge_event": (ResourceLimitExceeded, r"events carry at most 65536 bytes"),
    "emit_in_a_loop": (ResourceLimitExceeded, r"256 events that handlers have not finished"),
}

LISTENER = """
--[[---
id: listener
version: 1.0.0
---]]
local M = {}
function M.on_tick() local stop = os.clock() + 0.0005; while os.clock() < stop do end end
return M
"""


@pytest.fixture
async def sandbox(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], sentinel, witness, healthy
) -> AsyncIterator[Sandbox]:
    """An engine holding the hostile plugin, the bystander and a slow event listener; calls get DEADLINE."""
    config = sandbox_config(engine_config, sentinel, witness, DEADLINE)
    async with hostile_engine(
        config, write_plugin, healthy, {"hostile.lua": HOSTILE, "listener.lua": LISTENER}
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    print_figures("Lua case", FIGURES)


@pytest.mark.parametrize("method", list(CASES))
async def test_hostile_code_ends_in_a_typed_error_with_nothing_done(
    method: str, sandbox: Sandbox, attack: Callable[..., Awaitable[Any]], sentinel, witness, healthy
) -> None:
    error, pattern = CASES[method]
    outcome = await attack(sandbox.fox, sandbox.plugin, method)
    FIGURES.append((method, outcome.elapsed, outcome.bystander, outcome.loop_turn))
    expected = error if isinstance(error, tuple) else (error,)
    await assert_contained(
        sandbox,
        method,
        outcome,
        expected,
        pattern,
        deadline=DEADLINE,
        slack=SLACK,
        stall=STALL,
        sentinel=sentinel,
        witness=witness,
        healthy=healthy,
    )


async def test_one_plugin_cannot_change_what_another_one_sees(
    sandbox: Sandbox, write_plugin: Callable[[str, str], Path], sentinel, witness
) -> None:
    """Globals, library tables, the string metatable and `fox` are each plugin's own (one Lua state each)."""
    fox = sandbox.fox
    await fox.load(write_plugin("victim.lua", VICTIM))
    before = await fox.call("victim", "check")
    assert await fox.call("hostile", "pollute_everything") == "done"
    assert (
        await fox.call("victim", "check")
        == before
        == {
            "upper": "ABCDEF",
            "concat": "ab",
            "shared": "nil",
            "tostring": "12",
            "log": "function",
            "config": "none",
        }
    )
    assert sentinel.untouched()
    assert witness.requests == []


async def test_data_a_plugin_hands_over_or_gets_back_is_a_copy(sandbox: Sandbox, sentinel) -> None:
    """Changing a table after storing it, or a host answer after getting it, changes nothing in the host."""
    fox = sandbox.fox
    assert await fox.call("hostile", "mutate_host_data") == "original"
    assert fox.config.settings("hostile").config["sentinel"] == str(sentinel.path)
    assert sentinel.untouched()


class Rigged:
    """A host object that would act if plugin code could call it (a player returning objects, not data)."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __call__(self, *args: Any) -> None:
        self.sentinel.write_text("owned")

    def __str__(self) -> str:
        self.sentinel.write_text("owned")
        return "owned"


async def test_a_host_function_answering_with_an_object_never_hands_it_to_lua(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], sentinel, healthy
) -> None:
    class RiggedPlayer(NullPlayer):
        def current(self) -> Any:
            return {"title": "x", "play": Rigged(sentinel.path)}

    source = """
        --[[---
        id: caller
        version: 1.0.0
        permissions:
          player.read: true
        ---]]
        local M = {}
        function M.grab() local song = fox.player.current(); return song.play() end
        function M.show() return tostring(fox.player.current()) end
        return M
    """
    async with Engine(engine_config(), player=RiggedPlayer()) as fox:
        await fox.load(write_plugin("caller.lua", source))
        await fox.load(healthy.path)
        for method in ("grab", "show"):
            with pytest.raises(PluginError, match=r"fox\.player\.current: the host's answer cannot be handed to Lua"):
                await fox.call("caller", method)
        assert sentinel.untouched()
        assert await healthy.answer_time(fox) < STALL


async def test_a_plugin_never_hears_its_own_events(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], healthy
) -> None:
    source = """
        --[[---
        id: echo
        version: 1.0.0
        permissions:
          events.emit: true
        ---]]
        local M = {}
        local heard = 0
        function M.on_ping() heard = heard + 1; fox.events.emit("ping", {}) end
        function M.start_echo() fox.events.emit("ping", {}) end
        function M.heard() return heard end
        return M
    """
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("echo.lua", source))
        await fox.load(healthy.path)
        await fox.call("echo", "start_echo")
        await fox.emit("ping", {})  # from the host: heard once, and its own echo is not delivered back
        await asyncio.sleep(0.2)
        assert await fox.call("echo", "heard") == 1
        assert await healthy.answer_time(fox) < STALL


async def test_two_plugins_bouncing_events_are_bounded(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], healthy
) -> None:
    """Each doubles what it hears back to the other: the events in flight, and so the memory, stay bounded."""
    for me, other in (("ping", "pong"), ("pong", "ping")):
        write_plugin(
            f"{me}.lua",
            f"""
            --[[---
            id: bouncer-{me}
            version: 1.0.0
            permissions:
              events.emit: true
            ---]]
            local M = {{}}
            function M.on_{me}(n) fox.events.emit("{other}", n); fox.events.emit("{other}", n) end
            return M
            """,
        )
    async with Engine(engine_config(directories=[healthy.path.parent])) as fox:
        await fox.emit("ping", 1)
        calls = -1
        for _ in range(50):  # until the storm is over: emits refused, then the circuit breaker suspends a bouncer
            await asyncio.sleep(0.1)
            assert await healthy.answer_time(fox) < STALL
            now = sum(p.calls for p in fox.plugins if p.id.startswith("bouncer"))
            if now == calls:
                break
            calls = now
        else:
            pytest.fail("the bouncing never stopped")
        assert {p.state for p in fox.plugins if p.id.startswith("bouncer")} & {"suspended", "disabled"}


async def test_its_error_shows_its_own_line_not_the_sandboxs(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    source = """
        local M = {}
        function M.bad_argument()
          local encoded = fox.json.encode(function() end)
          return encoded
        end
        function M.bad_pattern()
          local found = string.find(("a"):rep(5000), "(.-)(.-)%")
          return found
        end
        return M
    """
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("lines.lua", source))
        for method, line, message in (
            ("bad_argument", 3, "fox.json.encode: argument: a Lua function is not data"),
            ("bad_pattern", 7, "malformed pattern (ends with '%')"),
        ):
            with pytest.raises(PluginError) as caught:
                await fox.call("lines", method)
            assert caught.value.line == line
            assert f"{method}() failed: {message}" in str(caught.value)
            assert "foxplug-sandbox" not in str(caught.value)


ORDINARY = """
local M = {}
local page = {}
for i = 1, 3000 do page[i] = '<li class="song">Song ' .. i .. ' by <b>Band ' .. i .. '</b></li>' end
page = table.concat(page, "\\n") .. "<title>The Title</title>"

function M.patterns()  -- on a 200 KB subject, where the guarded path runs Lua's matcher written in Lua
  local titles, bands = 0, {}
  for title, band in page:gmatch('<li class="song">(.-) by <b>(.-)</b></li>') do
    titles = titles + 1
    bands[#bands + 1] = band
  end
  local trimmed = ("  padded  " .. ("x"):rep(3000) .. "  "):match("^%s*(.-)%s*$")
  return {
    title = page:match("<title>(.-)</title>"),
    titles = titles,
    last_band = bands[#bands],
    replaced = select(2, page:gsub("<b>(.-)</b>", "%1")),
    found = { page:find("Song 2999 by", 1, true) },
    position = { page:match("()Band 1500()") },
    trimmed = #trimmed,
    balanced = ("f(a(b)c)d"):match("%b()"),
    frontier = ("THE (quick) fox"):gsub("%f[%a]%a+", string.lower),
  }
end

function M.library()
  local sorted = {}
  for i = 1, 20000 do sorted[i] = (i * 7919) % 20011 end
  table.sort(sorted)
  local moved = table.move(sorted, 1, 100000, 2, {})
  local proxy = setmetatable({}, { __len = function() return 3 end })
  table.insert(proxy, 1, "a")
  local removed = table.remove(proxy, 1)
  return {
    sorted = sorted[1] <= sorted[2] and sorted[19999] <= sorted[20000],
    moved = moved[2] == sorted[1] and #moved == 20001,
    inserted = removed,
    rep = string.rep("", 5) .. string.rep("ab", 3, ","),
    number = tonumber(("1"):rep(10)),
    utf8 = utf8.len("héllo"),
    bytes = select("#", string.byte(("x"):rep(100), 1, -1)),
    date = #os.date("%Y-%m-%d"),
    memory = collectgarbage("count") > 0 and collectgarbage("isrunning"),
    unpacked = select("#", table.unpack(sorted, 1, 1000)),
  }
end
return M
"""


async def test_ordinary_code_still_works_under_the_guards(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    page = "\n".join(f'<li class="song">Song {i} by <b>Band {i}</b></li>' for i in range(1, 3001))
    found, band = page.index("Song 2999 by") + 1, page.index("Band 1500") + 1
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("ordinary.lua", ORDINARY))
        assert await fox.call("ordinary", "patterns") == {
            "title": "The Title",
            "titles": 3000,
            "last_band": "Band 3000",
            "replaced": 3000,
            "found": [found, found + 11],
            "position": [band, band + 9],
            "trimmed": len("padded  ") + 3000,
            "balanced": "(a(b)c)",
            "frontier": "the (quick) fox",
        }
        assert await fox.call("ordinary", "library") == {
            "sorted": True,
            "moved": True,
            "inserted": "a",
            "rep": "ab,ab,ab",
            "number": 1111111111,
            "utf8": 5,
            "bytes": 100,
            "date": 10,
            "memory": True,
            "unpacked": 1000,
        }


COMPARE = r"""
local patterns = ...
local function pack(...) return { n = select("#", ...), ... } end
local function same(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do if a[i] ~= b[i] then return false end end
  return true
end
local function all(gmatch, s, p, init)
  local out, next_match = {}, gmatch(s, p, init)
  for _ = 1, 50 do
    local found = pack(next_match())
    if found[1] == nil then break end
    out[#out + 1] = table.concat(found, "|", 1, found.n)
  end
  return table.concat(out, ";")
end
return function(s, p, init, repl)
  local replacement = repl
  if repl == "function" then replacement = function(a, b) if a == "a" then return false end return (b or a) .. "!" end
  elseif repl == "table" then replacement = { a = "A", b = 7 } end
  local runs = {
    { string.find, patterns.find, s, p, init },
    { string.match, patterns.match, s, p, init },
    { string.gsub, patterns.gsub, s, p, replacement, init and init > 0 and init or nil },
    { function(...) return all(string.gmatch, ...) end, function(...) return all(patterns.gmatch, ...) end, s, p, init },
  }
  for _, run in ipairs(runs) do
    local native = pack(pcall(run[1], table.unpack(run, 3, 6)))
    local written_in_lua = pack(pcall(run[2], table.unpack(run, 3, 6)))
    if native[1] ~= written_in_lua[1] or (native[1] and not same(native, written_in_lua)) then
      return false
    end
  end
  return true
end
"""


def test_the_matcher_written_in_lua_agrees_with_lstrlib() -> None:
    """The guarded pattern functions switch matchers by worst case, so both must give the same answers."""
    lua = lupa.LuaRuntime(encoding=None)
    source = files("engine.runtimes").joinpath("lua_patterns.lua").read_text(encoding="utf-8")
    agree = lua.execute(COMPARE, lua.execute(source))
    rng = random.Random(4)
    atoms = [
        "a", "b", ".", "%a", "%d", "%s", "%w", "%p", "%x", "%u", "%A", "%S", "%z", "[ab]", "[^a]", "[a-c]",
        "[%d_]", "[]]", "[%a-]", "%.", "%%", "(", ")", "()", "%b()", "%f[%w]", "%f[%z]", "%1", "%2", "$", "^",
        "x", "\0", "\xff", "%", "[",
    ]  # fmt: skip
    disagreements = []
    for _ in range(3000):
        pattern = "".join(
            rng.choice(atoms) + rng.choice(["", "", "*", "+", "-", "?"]) for _ in range(rng.randint(0, 6))
        )
        subject = "".join(rng.choice("aab(c)1 _x.%]\0\xff\n") for _ in range(rng.randint(0, 30)))
        init = rng.choice([None, 1, 2, -3, 0, 40])
        replacement = rng.choice(["<%0>", "%1", "X", "%%", "%", "function", "table"])
        args = (subject.encode("latin-1"), pattern.encode("latin-1"), init, replacement.encode())
        if not agree(*args):
            disagreements.append(args)
    assert disagreements == []
