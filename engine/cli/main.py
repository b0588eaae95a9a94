"""`foxplug`, the command line (ARCHITECTURE §3.2): exit 0 ok, 1 plugin/user error, 2 bad usage; `--json` on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.admin import serve_admin
from engine.admin.client import AdminClient, admin_url
from engine.cli.console import (
    Console,
    error_line,
    lyrics_text,
    parse_arg,
    plugins_table,
    results_table,
    song_for_lyrics,
    table,
)
from engine.cli.dev import DevSession, dev_engine
from engine.cli.scaffold import TEMPLATES, scaffold
from engine.config import Config, default_config_path
from engine.engine import Engine
from engine.errors import FoxplugError, PluginNotFound
from engine.gate.permissions import PERMISSIONS
from engine.loading.platform_info import detect
from engine.runtimes import backend_for_extension
from engine.schemas import schema

Handler = Callable[[argparse.Namespace], Awaitable[int]]


def _config(args: argparse.Namespace, **changes: Any) -> Config:
    path = args.config or default_config_path()
    config = Config.load(path) if path else Config()
    return replace(config, **changes)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _stop_on_signals() -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM, so long-running commands close the engine cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def dev(args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    call = [args.call[0], *(parse_arg(a) for a in args.call[1:])] if args.call else None
    async with dev_engine(_config(args)) as engine:
        await DevSession(engine, Path(args.path), call, sys.stdout).run(stop)
    return 0


async def run(args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    async with Engine(_config(args)) as engine:
        console = Console(engine)
        console.follow()
        engine.on("alert", lambda alert: console.show(f"alert {_alert_label(alert)}: {alert['message']}"))
        plugins = [info.to_dict() for info in engine.plugins]
        console.show(plugins_table(plugins) if plugins else "no plugins loaded")
        for error in engine.load_errors.values():
            print(error_line(error), file=sys.stderr, flush=True)
        await _serve_admin(engine, console)
        console.show(f"foxplug running with {len(plugins)} plugin{'' if len(plugins) == 1 else 's'}; Ctrl-C to stop")
        waiting = {asyncio.ensure_future(stop.wait())}
        if args.console or sys.stdin.isatty():
            waiting.add(asyncio.ensure_future(console.run()))
        done, pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    return 0


def _alert_label(alert: dict[str, Any]) -> str:
    return "resolved" if alert["status"] == "resolved" else str(alert["severity"])


async def _serve_admin(engine: Engine, console: Console) -> None:
    """The admin server of `foxplug run`; a taken port costs the operator the API, not the player its plugins."""
    if not engine.config.monitoring.enabled:
        return
    try:
        endpoint = await serve_admin(engine)
    except OSError as error:
        host, port = engine.config.monitoring.listen
        print(
            f"{type(error).__name__}: admin API not started on {host}:{port}: {error.strerror or error} "
            "— set monitoring.listen to a free address (port 0 picks one)",
            file=sys.stderr,
            flush=True,
        )
        return
    console.show(f"admin API on {endpoint.url} (/metrics, /api/v1/plugins)")
    if endpoint.generated_token:
        console.show(f"admin token for this run (set monitoring.token to choose one): {endpoint.token}")


def _admin(args: argparse.Namespace, *, token: bool = False) -> AdminClient:
    """A client of the running `foxplug run`: --url, else monitoring.listen of the config."""
    monitoring = _config(args).monitoring
    secret = (args.token or os.environ.get("FOXPLUG_TOKEN") or monitoring.token) if token else None
    return AdminClient(args.url or admin_url(monitoring), secret)


async def top(args: argparse.Namespace) -> int:
    from engine.cli.top import run_top  # rich's live display costs every other command's start-up nothing

    async with _admin(args) as client:
        await run_top(client, args.interval, None if args.once else _stop_on_signals())
    return 0


async def stats(args: argparse.Namespace) -> int:
    async with _admin(args) as client:
        snapshot = await client.plugins()
    if args.json:
        _print_json(snapshot)
        return 0
    headers = ("ID", "STATE", "CALLS", "ERRORS", "P95", "MEMORY", "CPU", "RELOADS")
    rows = [
        (
            entry["id"],
            entry["state"],
            p["calls"],
            p["errors"],
            "-" if p["p95"] is None else f"{p['p95'] * 1000:.2f} ms",
            "-" if p["memory"] is None else f"{p['memory'] / 1024:.0f} KiB",
            f"{p['cpu_seconds']:.3f} s",
            f"{p['reloads']} ok, {p['failed_reloads']} failed",
        )
        for entry in snapshot["plugins"]
        for p in [entry["performance"]]
    ]
    print(table(headers, rows) if rows else "no plugins loaded")
    return 0


async def rollback(args: argparse.Namespace) -> int:
    async with _admin(args, token=True) as client:
        info = await client.act(args.id, "rollback")
    if args.json:
        _print_json(info)
    else:
        print(f"rolled back {info['id']} to {info['version']} ({info['path']})")
    return 0


async def check(args: argparse.Namespace) -> int:
    config = _config(args, auto_load=False, hot_reload=False)
    # A plugin the config disables is only listed when loaded; checking it must still compile and init it.
    enabled = {plugin_id: replace(s, enabled=True) for plugin_id, s in config.plugin_configs.items()}
    reports: list[dict[str, Any]] = []
    async with Engine(replace(config, plugin_configs=enabled)) as engine:
        for path in args.paths:
            try:
                info = await engine.load(path)
            except FoxplugError as error:
                reports.append({"path": path, "ok": False, "error": error_line(error)})
                continue
            await engine.unload(info.id)
            reports.append({"path": path, "ok": True, "id": info.id, "version": info.version, "runtime": info.runtime})
    if args.json:
        _print_json(reports)
    else:
        for report in reports:
            if report["ok"]:
                print(f"OK {report['id']} {report['version']} {report['runtime']} {report['path']}")
            else:
                print(report["error"], file=sys.stderr)
    return 0 if all(report["ok"] for report in reports) else 1


def _is_path(target: str) -> bool:
    """A plugin file or folder rather than an id: it exists, or it is spelt like a path."""
    return Path(target).exists() or "/" in target or backend_for_extension(Path(target).suffix) is not None


def _loaded_id(engine: Engine, target: str) -> str:
    """`target` if it loaded; if the plugin with that id (or file name) failed to load, that failure."""
    if target not in {info.id for info in engine.plugins}:
        for path, error in engine.load_errors.items():
            if target in (error.plugin, Path(path).stem):
                raise error
    return target


async def call(args: argparse.Namespace) -> int:
    is_path = _is_path(args.target)
    config = _config(args, hot_reload=False, auto_load=not is_path)
    config = replace(config, policy=config.policy.plus(args.grant))
    async with Engine(config, grants=args.grant) as engine:
        plugin_id = (await engine.load(args.target)).id if is_path else _loaded_id(engine, args.target)
        result = await engine.call(plugin_id, args.method, *map(parse_arg, args.args), timeout=args.timeout)
    _print_json(result)
    return 0


async def list_plugins(args: argparse.Namespace) -> int:
    async with Engine(_config(args, hot_reload=False)) as engine:
        rows = [info.to_dict() for info in engine.plugins]
        rows += [
            {
                "id": error.plugin or Path(path).stem,
                "version": None,
                "runtime": None,
                "state": "failed",
                "provides": [],
                "permissions": {},
                "path": path,
                "error": error_line(error),
                "implementation": None,
                "skipped": [skip.to_dict() for skip in getattr(error, "skipped", ())],
            }
            for path, error in engine.load_errors.items()
        ]
    if args.json:
        _print_json(rows)
        return 0
    print(plugins_table(rows) if rows else "no plugins found")
    for row in rows:
        if "error" in row:
            print(row["error"], file=sys.stderr)
    return 0


async def doctor(args: argparse.Namespace) -> int:
    """This machine, the runtimes it can use, and per plugin the implementation that runs and why no other."""
    here = detect()
    async with Engine(_config(args, hot_reload=False)) as engine:
        plugins = [
            {
                "id": info.id,
                "path": info.path,
                "state": info.state,
                "implementation": info.implementation,
                "skipped": [skip.to_dict() for skip in info.skipped],
            }
            for info in engine.plugins
        ]
        plugins += [
            {
                "id": error.plugin or Path(path).stem,
                "path": path,
                "state": "failed",
                "implementation": None,
                "skipped": [skip.to_dict() for skip in getattr(error, "skipped", ())],
                "error": error_line(error),
            }
            for path, error in engine.load_errors.items()
        ]
    if args.json:
        _print_json({"platform": here.to_dict(), "plugins": plugins})
        return 0
    lines = [f"platform  {here.describe()}"]
    for runtime in here.runtimes.values():
        state = f"ok {runtime.version or ''}".rstrip() if runtime.usable else f"unusable: {runtime.reason}"
        lines.append(f"runtime   {runtime.name:<7} {state}")
    lines.append("")
    for plugin in plugins:
        chosen = plugin["implementation"] or plugin["state"]
        lines.append(f"{plugin['id']:<24} {chosen:<8} {plugin['path']}")
        lines += [f"    {skip['implementation']}: {skip['reason']}" for skip in plugin["skipped"]]
        if "error" in plugin:
            lines.append(f"    {plugin['error']}")
    print("\n".join(lines) if plugins else "\n".join([*lines, "no plugins found"]))
    return 0


async def search(args: argparse.Namespace) -> int:
    async with Engine(_config(args, hot_reload=False)) as engine:
        result = (await engine.search(args.query, type=args.type, limit=args.limit)).to_dict()
    if args.json:
        _print_json(result)
        return 0
    print(results_table(result["items"]) if result["items"] else "no results")
    for plugin, message in result["errors"].items():
        print(f"{plugin}: {message}", file=sys.stderr)
    return 0


async def lyrics(args: argparse.Namespace) -> int:
    async with Engine(_config(args, hot_reload=False)) as engine:
        found = await engine.lyrics(song_for_lyrics(args.title, args.artist))
        providers = [info.id for info in engine.plugins if "lyrics" in info.provides]
    if found is None:
        song = f"{args.title!r}" + (f" by {args.artist}" if args.artist else "")
        asked = f"none of {', '.join(providers)} answered" if providers else "no lyrics plugin is loaded"
        raise PluginNotFound(f"no lyrics for {song}: {asked}", hint="add a plugin that provides lyrics")
    if args.json:
        _print_json(found.to_dict())
    else:
        print(lyrics_text(found))
    return 0


async def new(args: argparse.Namespace) -> int:
    path = scaffold(args.name, args.lang, Path(args.dir))
    print(f"created {path}\ntry it:\n  foxplug check {path}\n  foxplug call {path} search hello")
    return 0


def _plugin_id(text: str) -> str:
    if not re.fullmatch(schema("manifest")["properties"]["id"]["pattern"], text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a plugin id: 2-64 lowercase letters, digits, '.', '_' or '-' (e.g. my-lyrics)"
        )
    return text


def _grant(text: str) -> str:
    name, colon, host = text.partition(":")
    if name not in PERMISSIONS or (colon and (name != "network" or not host)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected one of {', '.join(PERMISSIONS)} or network:HOST")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _options(*, json_output: bool) -> argparse.ArgumentParser:
    """Options every subcommand takes; SUPPRESS lets them stand before or after the subcommand name."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="engine configuration (YAML)")
    options.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log to stderr (-vv: debug)"
    )
    if json_output:
        options.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="foxplug", description="Run, check and call foxplug plugins.")
    parser.add_argument("--config", metavar="PATH", help=f"engine configuration (default: {default_config_path()})")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plain, with_json = [_options(json_output=False)], [_options(json_output=True)]

    def command(name: str, handler: Handler, help: str, parents: list[argparse.ArgumentParser]) -> Any:
        sub = commands.add_parser(name, help=help, description=help, parents=parents)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("run", run, "the engine as a long-running host, with a console when stdin is a terminal", plain)
    sub.add_argument("--console", action="store_true", help="the interactive console even without a terminal")

    sub = command("dev", dev, "watch one plugin, reload it on save and show each reload and a call's result", plain)
    sub.add_argument("path", metavar="PATH", help="plugin file or folder")
    sub.add_argument(
        "--call",
        nargs="+",
        metavar=("METHOD", "ARG"),
        help="after every successful (re)load call METHOD with the ARGs (each JSON if it parses) and print it",
    )

    sub = command("check", check, "load each plugin (manifest, compile, init) and report every problem", with_json)
    sub.add_argument("paths", nargs="+", metavar="PATH", help="plugin file or folder")

    sub = command("call", call, "call one function of a plugin and print the JSON result", with_json)
    sub.add_argument("target", metavar="TARGET", help="plugin file, folder, or id from the configured directories")
    sub.add_argument("method", metavar="METHOD")
    sub.add_argument("args", nargs="*", default=[], metavar="ARG", help="JSON if it parses, else a string")
    sub.add_argument(
        "--grant",
        action="append",
        type=_grant,
        default=[],
        metavar="PERM",
        help="add a permission for this run: storage, network (any host), network:HOST, ... (repeatable)",
    )
    sub.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="the call's deadline")

    command("list", list_plugins, "every plugin in the configured directories", with_json)
    command(
        "doctor",
        doctor,
        "this machine, its usable runtimes, and per plugin the implementation chosen and why not the others",
        with_json,
    )

    sub = command("search", search, "search every source plugin at once", with_json)
    sub.add_argument("query", metavar="QUERY")
    sub.add_argument("--type", choices=("song", "album", "artist", "playlist"), default="song")
    sub.add_argument("--limit", type=_count, default=20, metavar="N")

    sub = command("lyrics", lyrics, "lyrics from the first provider that answers", with_json)
    sub.add_argument("title", metavar="TITLE")
    sub.add_argument("--artist", metavar="A")

    admin = argparse.ArgumentParser(add_help=False)
    admin.add_argument(
        "--url", metavar="URL", help="admin API of the running `foxplug run` (default: monitoring.listen of the config)"
    )
    sub = command(
        "top",
        top,
        "a live table of a running `foxplug run`'s plugins: calls/s, p95, errors, memory, CPU",
        [*plain, admin],
    )
    sub.add_argument("--once", action="store_true", help="print one frame (rates over one interval) and exit")
    sub.add_argument("--interval", type=_seconds, default=1.0, metavar="SECONDS", help="refresh period (default 1)")

    command("stats", stats, "one snapshot of a running `foxplug run`'s plugin metrics", [*with_json, admin])

    sub = command(
        "rollback",
        rollback,
        "roll a plugin of a running `foxplug run` back to its previous version",
        [*with_json, admin],
    )
    sub.add_argument("id", type=_plugin_id, metavar="ID", help="the plugin id")
    sub.add_argument("--token", metavar="TOKEN", help="admin token (default: $FOXPLUG_TOKEN, else monitoring.token)")

    sub = command("new", new, "write a working one-file plugin to start from", plain)
    sub.add_argument("name", type=_plugin_id, metavar="NAME", help="the plugin id, also its file name")
    sub.add_argument("--lang", choices=tuple(TEMPLATES), required=True)
    sub.add_argument("--dir", default=".", metavar="DIR", help="where to write it (default: here)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        level = logging.DEBUG if args.verbose > 1 else logging.INFO
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    else:  # errors reach the user as one line each, printed here; library logging would repeat them
        logging.basicConfig(handlers=[logging.NullHandler()])
    try:
        return asyncio.run(args.handler(args))
    except (FoxplugError, OSError) as error:
        print(error_line(error), file=sys.stderr)
        if args.verbose and getattr(error, "traceback", None):
            print(error.traceback, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
