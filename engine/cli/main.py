"""`foxplug`, the command line (ARCHITECTURE §3.2): exit 0 ok, 1 plugin/user error, 2 bad usage; `--json` on stdout."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from engine.cli import registry
from engine.cli.scaffold import TEMPLATES
from engine.cli.text import error_line, plugin_config_arg
from engine.errors import FoxplugError

Handler = Callable[[argparse.Namespace], Awaitable[int]]


class _Commands:
    """`commands.run` etc.: engine.cli.commands' handlers, imported once one runs, so that building the parser
    (and `foxplug --help`) imports no engine: that import is most of a command's start-up."""

    def __getattr__(self, name: str) -> Handler:
        def handler(args: argparse.Namespace) -> Awaitable[int]:
            return getattr(importlib.import_module("engine.cli.commands"), name)(args)

        return handler


commands = _Commands()


def _plugin_id(text: str) -> str:
    from engine.schemas import schema  # only once an id is parsed: --help needs no schemas

    if not re.fullmatch(schema("manifest")["properties"]["id"]["pattern"], text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a plugin id: 2-64 lowercase letters, digits, '.', '_' or '-' (e.g. my-lyrics)"
        )
    return text


def _grant(text: str) -> str:
    from script_api.api import PERMISSIONS  # only once a grant is parsed: --help needs no API table

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


def _trying_options() -> argparse.ArgumentParser:
    """What `call` and `dev` take to try a plugin as its users would run it."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--grant",
        action="append",
        type=_grant,
        default=[],
        metavar="PERM",
        help="add a permission for this run: storage, network (any host), network:HOST, ... (repeatable)",
    )
    options.add_argument(
        "--plugin-config",
        action="append",
        type=plugin_config_arg,
        default=[],
        metavar="KEY=VALUE",
        help="set a key of the plugin's config (VALUE as JSON if it parses), or give a JSON object (repeatable)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="foxplug", description="Run, check and call foxplug plugins.")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="engine configuration (default: the checkout's config/plugins.yaml, else ~/.config/foxplug/plugins.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plain, with_json = [_options(json_output=False)], [_options(json_output=True)]
    trying = [_trying_options()]

    def command(name: str, handler: Handler, help: str, parents: list[argparse.ArgumentParser]) -> Any:
        sub = subparsers.add_parser(name, help=help, description=help, parents=parents)
        sub.set_defaults(handler=handler)
        return sub

    sub = command(
        "run", commands.run, "the engine as a long-running host, with a console when stdin is a terminal", plain
    )
    sub.add_argument("--console", action="store_true", help="the interactive console even without a terminal")
    sub.add_argument(
        "--player",
        choices=("mpv", "null"),
        help="what plays: mpv, or null (silent); default plugins.player.backend (mpv falls back to null if missing)",
    )

    sub = command(
        "dev",
        commands.dev,
        "watch one plugin, reload it on save and show each reload and a call's result",
        plain + trying,
    )
    sub.add_argument("path", metavar="PATH", help="plugin file or folder")
    sub.add_argument(
        "--call",
        nargs="+",
        metavar=("METHOD", "ARG"),
        help="after every successful (re)load call METHOD with the ARGs (each JSON if it parses) and print it",
    )

    sub = command(
        "check", commands.check, "load each plugin (manifest, compile, init) and report every problem", with_json
    )
    sub.add_argument("paths", nargs="+", metavar="PATH", help="plugin file or folder")

    sub = command("call", commands.call, "call one function of a plugin and print the JSON result", with_json + trying)
    sub.add_argument("target", metavar="TARGET", help="plugin file, folder, or id from the configured directories")
    sub.add_argument("method", metavar="METHOD")
    sub.add_argument("args", nargs="*", default=[], metavar="ARG", help="JSON if it parses, else a string")
    sub.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="the call's deadline")

    command("list", commands.list_plugins, "every plugin in the configured directories", with_json)
    command(
        "doctor",
        commands.doctor,
        "this machine, its usable runtimes, and per plugin the implementation chosen and why not the others",
        with_json,
    )

    sub = command("search", commands.search, "search every source plugin at once", with_json)
    sub.add_argument("query", metavar="QUERY")
    sub.add_argument("--type", choices=("song", "album", "artist", "playlist"), default="song")
    sub.add_argument("--limit", type=_count, default=20, metavar="N")

    sub = command("lyrics", commands.lyrics, "lyrics from the first provider that answers", with_json)
    sub.add_argument("title", metavar="TITLE")
    sub.add_argument("--artist", metavar="A")

    admin = argparse.ArgumentParser(add_help=False)
    admin.add_argument(
        "--url", metavar="URL", help="admin API of the running `foxplug run` (default: monitoring.listen of the config)"
    )
    sub = command(
        "top",
        commands.top,
        "a live table of a running `foxplug run`'s plugins: calls/s, p95, errors, memory, CPU",
        [*plain, admin],
    )
    sub.add_argument("--once", action="store_true", help="print one frame (rates over one interval) and exit")
    sub.add_argument("--interval", type=_seconds, default=1.0, metavar="SECONDS", help="refresh period (default 1)")

    command("stats", commands.stats, "one snapshot of a running `foxplug run`'s plugin metrics", [*with_json, admin])

    sub = command(
        "rollback",
        commands.rollback,
        "roll a plugin of a running `foxplug run` back to its previous version",
        [*with_json, admin],
    )
    sub.add_argument("id", type=_plugin_id, metavar="ID", help="the plugin id")
    sub.add_argument("--token", metavar="TOKEN", help="admin token (default: $FOXPLUG_TOKEN, else monitoring.token)")
    sub.add_argument(
        "--installed", action="store_true", help="switch an installed plugin back to its kept previous version"
    )

    registry.add_commands(command, with_json, commands.load_config)

    sub = command(
        "serve", commands.serve, "the engine as a player's sidecar, over stdio or gRPC (docs/serve.md, grpc.md)", plain
    )
    transport = sub.add_mutually_exclusive_group(required=True)
    transport.add_argument(
        "--stdio",
        action="store_true",
        help="newline-delimited JSON-RPC 2.0 on stdin/stdout (docs/serve.md); exits when stdin closes",
    )
    transport.add_argument(
        "--grpc",
        nargs="?",
        const="127.0.0.1:0",
        metavar="ADDR",
        help="serve musicfox.plugin and foxplug.host.v1 on ADDR (default 127.0.0.1:0, a free port); the "
        "handshake line `1|1|tcp|HOST:PORT|grpc` on stdout says where",
    )
    sub.add_argument("--tls-cert", type=Path, metavar="FILE", help="PEM certificate (needed off loopback)")
    sub.add_argument("--tls-key", type=Path, metavar="FILE", help="PEM private key of --tls-cert")

    sub = command("new", commands.new, "write a working one-file plugin to start from", plain)
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
