"""What each `foxplug` command does; `engine.cli.main` parses the arguments and calls one of these."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.admin import serve_admin
from engine.admin.client import AdminClient, admin_url
from engine.cli import registry
from engine.cli.author import show_plugin_output, with_plugin_config
from engine.cli.console import (
    Console,
    lyrics_text,
    plugins_table,
    results_table,
    song_for_lyrics,
    table,
)
from engine.cli.dev import DevSession, dev_engine
from engine.cli.scaffold import scaffold
from engine.cli.text import error_line, parse_arg
from engine.config import Config, default_config_path
from engine.engine import Engine
from engine.errors import FoxplugError, PluginNotFound
from engine.loading.dependencies import plan
from engine.loading.discover import discover
from engine.loading.manifest import MANIFEST_FILE, read_plugin
from engine.loading.platform_info import detect
from engine.players.mpv_ipc import mpv_version
from engine.runtimes import backend_for_extension
from script_api.results import check_result


def load_config(args: argparse.Namespace) -> Config:
    """The configuration `--config` names (or the default one), for commands defined elsewhere."""
    return _config(args)


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


def _author_config(args: argparse.Namespace, target: str, is_path: bool, **changes: Any) -> Config:
    """The config for trying one plugin: `--grant` added to the policy, `--plugin-config` to its config."""
    config = _config(args, **changes)
    config = replace(config, policy=config.policy.plus(args.grant))
    return with_plugin_config(config, target, args.plugin_config, is_path)


async def dev(args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    call = [args.call[0], *(parse_arg(a) for a in args.call[1:])] if args.call else None
    config = _author_config(args, args.path, True)
    async with dev_engine(config, grants=args.grant) as engine:
        session = DevSession(engine, Path(args.path), call, sys.stdout)
        show_plugin_output(engine, session.say, args.verbose)
        await session.run(stop)
    return 0


def _player_settings(config: Config, backend: str | None) -> tuple[Config, str]:
    """`--player` over `plugins.player.backend`; mpv that is not installed falls back to the silent player."""
    settings = replace(config.player, backend=backend or config.player.backend)
    if settings.backend == "mpv" and shutil.which(settings.mpv_path) is None:
        why = f"mpv not found ({settings.mpv_path!r} is not on PATH): playing silently — install mpv to hear it"
        return replace(config, player=replace(settings, backend="null")), why
    where = f"playing through mpv ({shutil.which(settings.mpv_path)})" if settings.backend == "mpv" else ""
    return replace(config, player=settings), where or "playing silently (plugins.player.backend: null)"


async def run(args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    config, playing = _player_settings(_config(args), args.player)
    async with Engine(config) as engine:
        console = Console(engine)
        console.show(playing)
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
    if args.installed:
        return await registry.rollback_installed(args, _config(args))
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
    results: dict[str, dict[str, Any]] = {}
    paths = _plugin_paths(args.paths)
    order, needed = _dependencies_first(paths)
    async with Engine(replace(config, plugin_configs=enabled)) as engine:
        for path in order:
            try:
                info = await engine.load(path)
            except FoxplugError as error:
                results[path] = {"path": path, "ok": False, "error": error_line(error)}
                continue
            if info.id not in needed:  # a dependency of another checked plugin stays loaded for it
                await engine.unload(info.id)
            results[path] = {"path": path, "ok": True, "id": info.id, "version": info.version, "runtime": info.runtime}
    reports = [results[path] for path in paths]
    if args.json:
        _print_json(reports)
    else:
        for report in reports:
            if report["ok"]:
                print(f"OK {report['id']} {report['version']} {report['runtime']} {report['path']}")
            else:
                print(report["error"], file=sys.stderr)
    return 0 if all(report["ok"] for report in reports) else 1


def _plugin_paths(paths: list[str]) -> list[str]:
    """Each path, with a directory of plugins (a folder without plugin.yaml, such as plugins_lua/) standing for
    every plugin in it, as the engine would discover them."""
    found: list[str] = []
    for path in paths:
        folder = Path(path)
        if folder.is_dir() and not (folder / MANIFEST_FILE).exists():
            found += [str(p) for p in discover(folder)] or [path]  # an empty folder: its own error
        else:
            found.append(path)
    return found


def _dependencies_first(paths: list[str]) -> tuple[list[str], set[str]]:
    """The paths in an order where each plugin comes after the checked plugins it depends on (unreadable ones
    first, to report), and the ids some checked plugin depends on."""
    manifests, unreadable = {}, []
    for path in paths:
        try:
            manifest = read_plugin(Path(path).resolve())[0]
        except FoxplugError:
            unreadable.append(path)
            continue
        manifests.setdefault(manifest.id, (path, manifest))
    ordered = plan({pid: manifest for pid, (_, manifest) in manifests.items()})
    rank = {manifests[pid][0]: n for n, pid in enumerate([*ordered.order, *ordered.errors])}
    needed = {dep for _, manifest in manifests.values() for dep in manifest.dependencies}
    return unreadable + sorted((p for p in paths if p not in unreadable), key=lambda p: rank.get(p, len(rank))), needed


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
    config = _author_config(args, args.target, is_path, hot_reload=False, auto_load=not is_path)
    async with Engine(config, grants=args.grant) as engine:
        show_plugin_output(engine, lambda line: print(line, file=sys.stderr, flush=True), args.verbose)
        plugin_id = (await engine.load(args.target)).id if is_path else _loaded_id(engine, args.target)
        call_args = tuple(map(parse_arg, args.args))
        result = await engine.call(plugin_id, args.method, *call_args, timeout=args.timeout)
    checked = check_result(args.method, result, call_args)
    _print_json(checked.value)
    for problem in checked.problems:  # the good items came through above; each bad one is named here
        print(f"PluginError: plugin `{plugin_id}`: {problem}", file=sys.stderr)
    return 1 if checked.problems else 0


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
    settings = engine.config.player
    version = await asyncio.to_thread(mpv_version, settings.mpv_path)
    mpv = {"path": settings.mpv_path, "found": version is not None, "version": version}
    player = {"backend": settings.backend, "mpv": mpv}
    if args.json:
        _print_json({"platform": here.to_dict(), "player": player, "plugins": plugins})
        return 0
    lines = [f"platform  {here.describe()}"]
    for runtime in here.runtimes.values():
        state = f"ok {runtime.version or ''}".rstrip() if runtime.usable else f"unusable: {runtime.reason}"
        lines.append(f"runtime   {runtime.name:<7} {state}")
    found = (
        f"mpv {version} ({shutil.which(settings.mpv_path)})" if version else f"mpv not found ({settings.mpv_path!r})"
    )
    fallback = " — foxplug run plays silently; install mpv" if settings.backend == "mpv" and not version else ""
    lines.append(f"player    {settings.backend:<7} {found}{fallback}")
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
        failures: dict[str, str] = {}
        found = await engine.lyrics(song_for_lyrics(args.title, args.artist), failures=failures)
        providers = [info.id for info in engine.plugins if "lyrics" in info.provides]
    for plugin, message in failures.items():  # a provider's own error, whether or not another one answered
        print(f"{plugin}: {message}", file=sys.stderr)
    if found is None:
        song = f"{args.title!r}" + (f" by {args.artist}" if args.artist else "")
        if failures:
            print(f"no lyrics for {song}: every provider that was asked failed", file=sys.stderr)
            return 1
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


async def serve(args: argparse.Namespace) -> int:
    """`foxplug serve --stdio|--grpc`: the engine as a player's sidecar (engine/serving); each transport's modules
    load only for this command."""
    if args.stdio:
        from engine.serving.stdio import serve_stdio

        if not args.verbose:  # stdout is the protocol's: warnings and errors go to stderr, more with -v
            handler = logging.StreamHandler(sys.stderr)
            handler.setLevel(logging.WARNING)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logging.getLogger().addHandler(handler)
        await serve_stdio(_config(args))
        return 0
    from engine.serving import grpc

    return await grpc.run(_config(args), args.grpc, stop=_stop_on_signals(), tls=(args.tls_cert, args.tls_key))
