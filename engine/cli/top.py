"""`foxplug top`: a running engine's plugins as a live table; rates come from two snapshots of its admin API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console as RichConsole
from rich.live import Live
from rich.table import Table

from engine.admin.client import AdminClient

Snapshot = Mapping[str, Any]
"""What `GET /api/v1/plugins` answers."""


def _latency(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def _bytes(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size / 1024:.0f} KiB"


def top_table(before: Snapshot, after: Snapshot, seconds: float, title: str) -> Table:
    """One frame: per plugin its state, calls/s and CPU over the `seconds` between the snapshots, and its
    lifetime p95 latency, errors and memory."""
    earlier = {entry["id"]: entry["performance"] for entry in before["plugins"]}
    rows = []
    for entry in after["plugins"]:
        now, then = entry["performance"], earlier.get(entry["id"])
        fresh = then is None or now["calls"] < then["calls"]  # new since the first snapshot, or loaded again
        calls = now["calls"] - (0 if fresh else then["calls"])
        cpu = now["cpu_seconds"] - (0.0 if fresh else then["cpu_seconds"])
        rows.append((calls / seconds, entry, now, cpu / seconds))
    rows.sort(key=lambda row: (-row[0], row[1]["id"]))
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("PLUGIN", no_wrap=True)
    table.add_column("STATE")
    for column in ("CALLS/S", "P95", "ERRORS", "MEMORY", "CPU"):
        table.add_column(column, justify="right")
    for rate, entry, performance, cpu in rows:
        errors = performance["errors"]
        table.add_row(
            entry["id"],
            entry["state"],
            f"{rate:.1f}",
            _latency(performance["p95"]),
            f"{errors} ({performance['error_rate']:.0%})" if errors else "0",
            _bytes(performance["memory"]),
            f"{cpu:.1%}",
            style="red" if entry["state"] not in ("running", "disabled") else None,
        )
    return table


async def run_top(client: AdminClient, interval: float, stop: asyncio.Event | None) -> None:
    """Refresh the table every `interval` until `stop`; without `stop`, print one frame (after one interval)."""
    title = f"foxplug top · {client.url} · every {interval:g} s"
    before, taken = await client.plugins(), time.monotonic()
    if stop is None:
        await asyncio.sleep(interval)
        RichConsole().print(top_table(before, await client.plugins(), time.monotonic() - taken, title))
        return
    with Live(top_table(before, before, 1.0, title), auto_refresh=False) as live:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            after, now = await client.plugins(), time.monotonic()
            live.update(top_table(before, after, now - taken, title), refresh=True)
            before, taken = after, now
