"""The registry's commands (ARCHITECTURE §3.11): install, uninstall, update, outdated, restore, rollback, index.

The work is done by engine.registry; this module parses, checks candidates through a scratch engine (the
real load pipeline, with a throwaway storage file), shows a progress bar on a terminal, and prints. The
registry (cryptography, resolvelib) is imported when one of these commands runs, so every other command
starts without it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine is imported when a command runs, so that building the parser imports none of it
    from engine.config import Config
    from engine.registry.index import Progress
    from engine.registry.install import Change, Installer


def _installer(args: argparse.Namespace, config: Config) -> Installer:
    from engine.registry.install import Installer
    from engine.registry.settings import RegistrySettings

    settings = RegistrySettings.from_config(config)
    bar = sys.stderr.isatty() and not getattr(args, "json", False)
    return Installer(settings, pipeline_check(config), downloads=_progress_bar if bar else None)


def pipeline_check(config: Config) -> Callable[[Sequence[Path]], Any]:
    """The installer's check: load the candidates, in order, in a scratch engine whose storage is in memory
    (an `init` that writes touches nothing of the user's)."""
    from engine.engine import Engine

    async def check(paths: Sequence[Path]) -> None:
        scratch = replace(
            config,
            directories=(),
            auto_load=False,
            hot_reload=False,
            storage=Path(":memory:"),
            monitoring=replace(config.monitoring, enabled=False),
        )
        async with Engine(scratch) as engine:
            for path in paths:
                await engine.load(path)

    return check


@asynccontextmanager
async def _progress_bar(label: str, total: int | None) -> AsyncIterator[Progress]:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _report(args: argparse.Namespace, changes: list[Change], nothing: str) -> int:
    if args.json:
        print(json.dumps([c.to_dict() for c in changes], indent=2))
    elif not changes:
        print(nothing)
    for change in changes if not args.json else ():
        if change.old and change.new:
            print(f"{change.action} {change.id} {change.old} -> {change.new}")
        else:
            print(f"{change.action} {change.id} {change.new or change.old}")
    return 0


async def install(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        urls = [s for s in args.specs if "://" in s]
        changes = [change for url in urls for change in await installer.install_url(url)]
        specs = [s for s in args.specs if "://" not in s]
        if specs:
            changes += await installer.install(specs)
    return _report(args, changes, "nothing to install: already there")


async def uninstall(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        change = await installer.uninstall(args.id)
    return _report(args, [change], "")


async def update(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        changes = await installer.update(args.ids)
    return _report(args, changes, "everything is up to date")


async def restore(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        changes = await installer.restore()
    return _report(args, changes, "everything in the lockfile is installed")


async def rollback_installed(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        change = await installer.rollback(args.id)
    return _report(args, [change], "")


async def outdated(args: argparse.Namespace, config: Config) -> int:
    async with _installer(args, config) as installer:
        rows = await installer.outdated()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("everything is up to date")
    for row in rows if not args.json else ():
        print(f"{row['id']} {row['installed']} -> {row['latest']} ({row['index']})")
    return 0


async def index_keygen(args: argparse.Namespace, config: Config) -> int:
    from engine.registry.publish import keygen

    secret, public, key = keygen(Path(args.out))
    if args.json:
        print(json.dumps({"secret_key": str(secret), "public_key_file": str(public), "public_key": key}))
    else:
        print(f"secret key: {secret} (keep it private; it signs your index)")
        print(f"public key: {key}  (also in {public})")
        print(f"in a player's config:  registry: {{indexes: {{NAME: {{url: https://.../index.json, key: {key}}}}}}}")
    return 0


async def index_build(args: argparse.Namespace, config: Config) -> int:
    from engine.registry.publish import build_index

    index = build_index(Path(args.dir), Path(args.out), name=args.name, expires_days=args.expires_days)
    count = sum(len(entry["versions"]) for entry in index["plugins"].values())
    if args.json:
        print(json.dumps(index, indent=2))
    else:
        print(
            f"{Path(args.out) / 'index.json'}: serial {index['serial']}, {len(index['plugins'])} plugins, {count} versions"
        )
        print(f"next: foxplug index sign {Path(args.out) / 'index.json'} --key KEY")
    return 0


async def index_sign(args: argparse.Namespace, config: Config) -> int:
    from engine.registry.publish import sign_index

    signature = sign_index(Path(args.index), Path(args.key))
    if args.json:
        print(json.dumps({"signature": str(signature)}))
    else:
        print(f"signed: {signature}")
    return 0


Handler = Callable[[argparse.Namespace, "Config"], Any]


def add_commands(
    add: Callable[..., argparse.ArgumentParser],
    with_json: list[argparse.ArgumentParser],
    config: Callable[[argparse.Namespace], Config],
) -> None:
    """Register the registry's subcommands through the CLI's own `command(name, handler, help, parents)`."""

    def command(name: str, handler: Handler | None, help: str, parents: list[Any]) -> argparse.ArgumentParser:
        return add(name, (lambda args: handler(args, config(args))) if handler else None, help, parents)

    sub = command(
        "install", install, "install plugins (ID[@RANGE] from the indexes, or a URL) and their dependencies", with_json
    )
    sub.add_argument("specs", nargs="+", metavar="ID[@RANGE]|URL")
    sub = command("uninstall", uninstall, "remove an installed plugin (refused while others depend on it)", with_json)
    sub.add_argument("id", metavar="ID")
    sub = command(
        "update", update, "move installed plugins to the newest versions that fit (old kept for rollback)", with_json
    )
    sub.add_argument("ids", nargs="*", metavar="ID")
    command("outdated", outdated, "installed plugins with a newer version in their index", with_json)
    command(
        "restore",
        restore,
        "install exactly what plugins.lock.json pins (offline from the cache; never rewrites it)",
        with_json,
    )
    index = command("index", None, "publish a plugin index: keygen, build, sign", [])
    steps = index.add_subparsers(dest="index_command", required=True, metavar="STEP")

    def step(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        parser = steps.add_parser(name, help=help, description=help, parents=with_json)
        parser.set_defaults(handler=lambda args: handler(args, config(args)))
        return parser

    sub = step("keygen", index_keygen, "create a minisign key pair for signing an index")
    sub.add_argument("--out", default="foxplug-index", metavar="PREFIX", help="writes PREFIX.key and PREFIX.pub")
    sub = step("build", index_build, "zip each plugin of DIR into --out and add it to --out/index.json")
    sub.add_argument("dir", metavar="DIR")
    sub.add_argument("--out", required=True, metavar="DIR")
    sub.add_argument("--name", default="", help="the index's name (default: kept, else `plugins`)")
    sub.add_argument("--expires-days", type=float, default=30.0, metavar="DAYS", help="valid for (default 30)")
    sub = step("sign", index_sign, "sign an index.json with a minisign secret key (writes index.json.minisig)")
    sub.add_argument("index", metavar="INDEX")
    sub.add_argument("--key", required=True, metavar="FILE")
