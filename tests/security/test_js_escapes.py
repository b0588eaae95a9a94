"""A JavaScript plugin cannot reach the host, leak into another plugin, outlast its deadline, stall the host, or
hand the host a value that hurts it.

Every case is a real plugin function called through the Engine: an attempt that, were it to work, would write the
sentinel file or call the witness server. Each ends in a typed error within deadline + 1 s, with nothing done,
while a bystander plugin in the same engine keeps answering and the event loop keeps turning.
Run with `-s` (and without `-n`) to see the figures of every case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, PermissionDenied, PluginError, PluginTimeout, ResourceLimitExceeded
from tests.security.conftest import Sandbox, assert_contained, hostile_engine, print_figures, sandbox_config

pytestmark = pytest.mark.usefixtures("rss_budget")

DEADLINE = 0.3
SLACK = 1.0
"""Generous: these tests catch hangs and stalls; the figures (run with `-s`) are far lower. QuickJS's own limit
counts the process's CPU time, so on a loaded machine it stretches (0.3 s took up to 0.7 s here)."""
STALL = 0.5
"""The bystander's answer, and one turn of the event loop, while a hostile call runs (typically a few ms)."""
FIGURES: list[tuple[str, float, float, float]] = []

HOSTILE = r"""
/*---
id: hostile
version: 1.0.0
permissions:
  storage: true
  events.emit: true
---*/
const SENTINEL = fox.config.sentinel, URL = fox.config.url;
function loop() { for (;;) {} }
function nest(depth) { let value = []; for (let i = 0; i < depth; i++) value = [value]; return value; }

module.exports = {
  ping() { return "pong"; },

  // Host internals: the Python side, QuickJS's os/std modules, module loaders, the objects behind `fox`.
  std_and_os_globals() { return std.open(SENTINEL, "w").puts("owned"); },
  os_exec() { return os.exec(["rm", SENTINEL]); },
  require_child_process() { return require("child_process").execSync("rm " + SENTINEL); },
  async import_os() { const os = await import("os"); return os.remove(SENTINEL); },
  async import_a_file() { return (await import(SENTINEL)).default; },
  async import_by_url() { return (await import(URL)).default; },
  function_constructor() { return Function("return this")().std.open(SENTINEL, "w"); },
  fox_functions_are_plain_js() {
    for (const group of Object.keys(fox)) {
      for (const fn of Object.values(fox[group])) {
        if (typeof fn === "function" && !String(fn).includes("__fox_api")) return fn(SENTINEL);
      }
    }
    return fox.http.get.__self__.ctx;
  },
  proxy_chain() {  // CVE-2023-31922: a deep Proxy chain overflowed QuickJS's C stack
    let p = function () {};
    for (let i = 0; i < 50000; i++) p = new Proxy(p, {});
    return p.anything;
  },
  async http_without_grant() { return await fox.http.get(URL); },
  async steal_the_host_queue() { const pending = fox.storage.get("k"); __fox_take(); return await pending; },
  atomics_wait() { return Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); },

  // Swallowing the deadline.
  catch_the_deadline_and_go_on() { try { loop(); } catch (e) { return "escaped: " + e; } },
  spin_in_catch_and_finally() { try { loop(); } catch (e) { loop(); } finally { loop(); } },
  microtask_chain_after_a_sync_return() {
    function again() { Promise.resolve().then(again); }
    again();
    return "returned";
  },
  thenable_that_loops() { return { then(resolve) { loop(); } }; },
  thenable_that_recurses() { return { then(resolve) { this.then(resolve); } }; },
  async await_in_a_loop() { for (;;) await null; },
  rejection_handler_that_loops() { return Promise.reject(new Error("x")).catch(loop); },
  async_generator_that_never_ends() {
    async function* forever() { for (;;) yield 1; }
    return (async () => { for await (const _ of forever()) {} })();
  },

  // Work QuickJS's interrupt cannot see, or memory it must refuse.
  regex_backtracking() { return /(a+)+b/.test("a".repeat(40)); },
  regex_backtracking_replace() { return "a".repeat(30).replace(/(a|a)*b/, ""); },
  huge_array_fill() { return new Array(1e9).fill(0).length; },
  huge_array_buffer() { return new ArrayBuffer(1e9).byteLength; },
  huge_repeat() { return "x".repeat(2 ** 30).length; },
  doubling_concatenation() { let s = "x"; for (;;) s += s; },
  giant_object() { const o = {}; for (let i = 0; ; i++) o["k" + i] = "x".repeat(10000) + i; },

  // Values crossing to the host.
  getter_that_loops() { return { get title() { loop(); } }; },
  to_json_that_loops() { return { toJSON() { loop(); } }; },
  proxy_whose_traps_loop() { return new Proxy({}, { ownKeys: loop, get: loop }); },
  message_getter_that_loops() {
    const error = new Error("x");
    Object.defineProperty(error, "message", { get: loop });
    throw error;
  },
  to_string_that_throws() { throw { toString() { throw new Error("again"); } }; },
  lone_surrogate_result() { return { title: "\ud800" }; },
  lone_surrogate_key() { return { ["\udc00"]: 1 }; },
  async lone_surrogate_argument() { return await fox.json.encode(["\ud800"]); },
  deep_result() { return nest(2000); },
  async deep_argument() { return await fox.json.encode(nest(2000)); },
  async deep_json_decode() { return await fox.json.decode("[".repeat(100000) + "]".repeat(100000)); },
  async huge_argument() { return await fox.json.encode(Array(50).fill("x".repeat(1e5))); },
  huge_result() { return Array(50).fill("x".repeat(1e5)); },

  // Re-entering the host.
  async function_as_argument() { return await fox.json.encode(() => SENTINEL); },
  async emit_a_huge_event() { await fox.events.emit("news", { body: "x".repeat(1e6) }); },
  async emit_in_a_loop() { for (let i = 0; i < 1e6; i++) await fox.events.emit("tick", { i }); },
  async host_calls_never_awaited() { for (let i = 0; ; i++) fox.log.debug("x".repeat(1000) + i); },

  // Leaking into other plugins (returns normally; the victim checks what it sees).
  pollute_everything() {
    Object.prototype.polluted = "polluted";
    Array.prototype.map = function () { return ["polluted"]; };
    JSON.stringify = () => "polluted";
    JSON.parse = () => ({ polluted: true });
    Object.keys = () => [];
    Promise.prototype.then = function () {};
    globalThis.shared = "polluted";
    fox.config.sentinel = "polluted";
    return "done";
  },
};
"""

VICTIM = """
/*---
id: victim
version: 1.0.0
---*/
module.exports = {
  check() {
    return {
      polluted: ({}).polluted === undefined,
      map: [1, 2].map((x) => x * 2),
      json: JSON.parse(JSON.stringify({ a: 1 })),
      shared: typeof shared,
      config: fox.config.sentinel || "none",
    };
  },
  async later() { return await Promise.resolve("then works"); },
};
"""

LISTENER = """
/*---
id: listener
version: 1.0.0
---*/
module.exports = { on_tick() { const stop = performance.now() + 0.5; while (performance.now() < stop) {} } };
"""

CASES: dict[str, tuple[type[Exception] | tuple[type[Exception], ...], str]] = {
    # host internals
    "std_and_os_globals": (PluginError, r"ReferenceError: std is not defined"),
    "os_exec": (PluginError, r"ReferenceError: os is not defined"),
    "require_child_process": (PluginError, r"ReferenceError: require is not defined"),
    "import_os": (PluginError, r"could not load module 'os'"),
    "import_a_file": (PluginError, r"could not load module"),
    "import_by_url": (PluginError, r"could not load module"),
    "function_constructor": (PluginError, r"TypeError: cannot read property 'open' of undefined"),
    "fox_functions_are_plain_js": (PluginError, r"TypeError: cannot read property 'ctx' of undefined"),
    "proxy_chain": (ResourceLimitExceeded, r"stack \(recursion too deep\) in {method}\(\)"),
    "http_without_grant": (PermissionDenied, r"holds no network grant for 127\.0\.0\.1"),
    "steal_the_host_queue": (PluginError, r"returned a Promise that never settles"),
    "atomics_wait": (PluginError, r"cannot block in this thread"),
    # swallowing the deadline
    "catch_the_deadline_and_go_on": (PluginTimeout, r"deadline in {method}\(\)"),
    "spin_in_catch_and_finally": (PluginTimeout, r"deadline in {method}\(\)"),
    "microtask_chain_after_a_sync_return": (PluginTimeout, r"deadline in {method}\(\)"),
    "thenable_that_loops": (PluginTimeout, r"deadline in {method}\(\)"),
    "thenable_that_recurses": (ResourceLimitExceeded, r"stack \(recursion too deep\) in {method}\(\)"),
    "await_in_a_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "rejection_handler_that_loops": (PluginTimeout, r"deadline in {method}\(\)"),
    "async_generator_that_never_ends": (PluginTimeout, r"deadline in {method}\(\)"),
    # work and memory
    "regex_backtracking": (PluginTimeout, r"deadline in {method}\(\)"),
    "regex_backtracking_replace": (PluginTimeout, r"deadline in {method}\(\)"),
    "huge_array_fill": (ResourceLimitExceeded, r"16777216-byte memory limit in {method}\(\)"),
    "huge_array_buffer": (ResourceLimitExceeded, r"16777216-byte memory limit in {method}\(\)"),
    "huge_repeat": (PluginError, r"RangeError: invalid string length"),
    "doubling_concatenation": (PluginError, r"InternalError: string too long"),
    "giant_object": (ResourceLimitExceeded, r"16777216-byte memory limit in {method}\(\)"),
    # values crossing to the host
    "getter_that_loops": (PluginTimeout, r"deadline in {method}\(\)"),
    "to_json_that_loops": (PluginTimeout, r"deadline in {method}\(\)"),
    "proxy_whose_traps_loop": (PluginTimeout, r"deadline in {method}\(\)"),
    "message_getter_that_loops": (PluginTimeout, r"deadline in {method}\(\)"),
    "to_string_that_throws": (PluginError, r"a thrown value that cannot be described"),
    "lone_surrogate_result": (PluginError, r"result\.title: string is not valid Unicode \(lone surrogate\)"),
    "lone_surrogate_key": (PluginError, r"result: has a key whose string is not valid Unicode"),
    "lone_surrogate_argument": (PluginError, r"fox\.json\.encode: argument\[0\]\[0\]: string is not valid Unicode"),
    "deep_result": (PluginError, r"result: nested too deeply for the host to read"),
    "deep_argument": (PluginError, r"fox\.json\.encode: argument: nested too deeply for the host to read"),
    "deep_json_decode": (PluginError, r"fox\.json\.decode failed: RecursionError"),
    "huge_argument": (PluginError, r"fox\.json\.encode: argument: the value is larger than the 4194304-byte"),
    "huge_result": (ResourceLimitExceeded, r"4194304-byte result limit in {method}\(\)"),
    # re-entering the host
    "function_as_argument": (PluginError, r"a function is not data"),
    "emit_a_huge_event": (ResourceLimitExceeded, r"events carry at most 65536 bytes"),
    "emit_in_a_loop": (ResourceLimitExceeded, r"256 events that handlers have not finished"),
    # (which comes first, the memory limit or the deadline, depends on the machine's load)
    "host_calls_never_awaited": ((ResourceLimitExceeded, PluginTimeout), r"(memory limit|deadline) in {method}\(\)"),
}


@pytest.fixture
async def sandbox(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], sentinel, witness, healthy
) -> AsyncIterator[Sandbox]:
    """An engine holding the hostile plugin, the bystander and a slow event listener; calls get DEADLINE."""
    config = sandbox_config(engine_config, sentinel, witness, DEADLINE)
    async with hostile_engine(
        config, write_plugin, healthy, {"hostile.js": HOSTILE, "listener.js": LISTENER}
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    print_figures("JS case", FIGURES)


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
    """Prototypes, built-ins, globals and `fox` are each plugin's own (one QuickJS runtime each)."""
    fox = sandbox.fox
    await fox.load(write_plugin("victim.js", VICTIM))
    before = await fox.call("victim", "check")
    assert await fox.call("hostile", "pollute_everything") == "done"
    assert (
        await fox.call("victim", "check")
        == before
        == {
            "polluted": True,
            "map": [2, 4],
            "json": {"a": 1},
            "shared": "undefined",
            "config": "none",
        }
    )
    assert await fox.call("victim", "later") == "then works"
    assert sentinel.untouched()
    assert witness.requests == []


async def test_a_plugin_that_replaces_the_built_ins_still_gets_its_answers_through(sandbox: Sandbox) -> None:
    """The sandbox's side of the protocol captured JSON, Object.keys, Reflect.apply... before plugin code ran."""
    fox = sandbox.fox
    assert await fox.call("hostile", "pollute_everything") == "done"
    assert await fox.call("hostile", "ping") == "pong"
    with pytest.raises(PluginError, match=r"a thrown value that cannot be described"):
        await fox.call("hostile", "to_string_that_throws")


async def test_its_traceback_shows_its_own_lines_not_the_sandboxs(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    source = """
        module.exports = {
          async bad_argument() {
            return await fox.json.encode(() => 1);
          },
        };
    """
    path = write_plugin("lines.js", source)
    async with Engine(engine_config()) as fox:
        await fox.load(path)
        with pytest.raises(PluginError) as caught:
            await fox.call("lines", "bad_argument")
    assert caught.value.line == 3
    assert caught.value.traceback.strip().splitlines()[1:] == [f"    at bad_argument ({path}:3:27)"]


async def test_an_es_module_importing_os_is_refused_when_loaded(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], sentinel
) -> None:
    source = f"""
        import * as os from "os";
        os.remove({str(sentinel.path)!r});
        export function ping() {{ return "pong"; }}
    """
    async with Engine(engine_config()) as fox:
        with pytest.raises(PluginError, match="could not load module 'os'"):
            await fox.load(write_plugin("imports.js", source))
    assert sentinel.untouched()


BUILT_IN_GLOBALS = {  # ECMAScript's, and the few web ones quickjs-ng adds
    "AggregateError", "Array", "ArrayBuffer", "AsyncDisposableStack", "Atomics", "BigInt", "BigInt64Array",
    "BigUint64Array", "Boolean", "DOMException", "DataView", "Date", "DisposableStack", "Error", "EvalError",
    "FinalizationRegistry", "Float16Array", "Float32Array", "Float64Array", "Function", "Infinity", "Int16Array",
    "Int32Array", "Int8Array", "InternalError", "Iterator", "JSON", "Map", "Math", "NaN", "Number", "Object",
    "Promise", "Proxy", "RangeError", "ReferenceError", "Reflect", "RegExp", "Set", "SharedArrayBuffer", "String",
    "SuppressedError", "Symbol", "SyntaxError", "TypeError", "URIError", "Uint16Array", "Uint32Array",
    "Uint8Array", "Uint8ClampedArray", "WeakMap", "WeakRef", "WeakSet", "decodeURI", "decodeURIComponent",
    "encodeURI", "encodeURIComponent", "escape", "eval", "globalThis", "isFinite", "isNaN", "parseFloat",
    "parseInt", "performance", "queueMicrotask", "structuredClone", "undefined", "unescape", "navigator", "atob",
    "btoa",
}  # fmt: skip
SANDBOX_GLOBALS = {"fox", "console", "module", "exports"}
WEB_GLOBALS = {  # engine/runtimes/web.js: plain JavaScript, no host callable behind any of them
    "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "crypto", "Event",
    "EventTarget", "AbortController", "AbortSignal", "URL", "URLSearchParams",
}  # fmt: skip


async def test_the_global_object_holds_only_ecmascript_and_the_sandbox(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    """No Python callable is in the context at all: `fox.*` only queues requests for the host."""
    source = """
        module.exports = {
          names() { return Object.getOwnPropertyNames(globalThis); },
          api() { return Object.keys(fox).flatMap((g) => typeof fox[g] === "object" && fox[g] !== null
            ? Object.values(fox[g]).filter((f) => typeof f === "function").map((f) => String(f).includes("__fox_api"))
            : []); },
        };
    """
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("globals.js", source))
        names = set(await fox.call("globals", "names"))
        api = await fox.call("globals", "api")
    hidden = {name for name in names if name.startswith("__fox_")}
    extra = names - hidden - SANDBOX_GLOBALS - WEB_GLOBALS
    assert extra <= BUILT_IN_GLOBALS, extra - BUILT_IN_GLOBALS
    assert api and all(api)
