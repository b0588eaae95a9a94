"""What every benchmark shares: a figure with its same-run baseline and target, timing, and the table."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Judged = Literal["ours", "overhead", "ratio"]


@dataclass(frozen=True)
class Figure:
    """One measured number, the baseline measured in the same run, and the target one of them must meet."""

    key: str
    title: str
    unit: str
    ours: float
    baseline: float
    baseline_label: str
    judge: Judged
    """Which number the target applies to: ours, ours − baseline, or ours / baseline."""
    limit: float
    at_least: bool = False
    """True for floors (throughput); targets are ceilings otherwise."""

    @property
    def overhead(self) -> float:
        return self.ours - self.baseline

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def judged(self) -> float:
        return {"ours": self.ours, "overhead": self.overhead, "ratio": self.ratio}[self.judge]

    @property
    def passed(self) -> bool:
        return self.judged >= self.limit if self.at_least else self.judged <= self.limit

    @property
    def target(self) -> str:
        sign = "≥" if self.at_least else "≤"
        if self.judge == "ratio":
            return f"ratio {sign} {self.limit:g}×"
        prefix = "ours − base " if self.judge == "overhead" else ""
        return f"{prefix}{sign} {self.limit:g} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "ours": self.ours,
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "overhead": self.overhead,
            "ratio": self.ratio,
            "judged": self.judge,
            "value": self.judged,
            "target": self.target,
            "pass": self.passed,
        }


@contextmanager
def quiet_gc() -> Iterator[None]:
    """No collector pauses inside a timed region; collect before, so no garbage is inherited."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def per_call_ns(
    calls: Mapping[str, Callable[[], object]], *, samples: int, inner: int, warmup: int
) -> dict[str, float]:
    """Median ns per call of each function, from samples of `inner` calls taken in turn, so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    with quiet_gc():
        for call in calls.values():
            for _ in range(warmup):
                call()
        for _ in range(samples):
            for name, call in calls.items():
                start = time.perf_counter_ns()
                for _ in range(inner):
                    call()
                times[name].append((time.perf_counter_ns() - start) / inner)
    return {name: statistics.median(values) for name, values in times.items()}


def rss_bytes() -> int:
    """This process's resident set size (VmRSS), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: list[Figure]) -> str:
    """The results as aligned text: one row per figure, then what each baseline measured."""
    header = ("figure", "ours", "baseline", "ratio", "judged", "target", "result")
    rows = [
        (
            f.title,
            f"{_number(f.ours)} {f.unit}",
            f"{_number(f.baseline)} {f.unit}",
            f"{f.ratio:.2f}×",
            f"{f.ratio:.2f}×" if f.judge == "ratio" else f"{_number(f.judged)} {f.unit}",
            f.target,
            "PASS" if f.passed else "FAIL",
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("baselines (measured in this run):")
    keys_by_label: dict[str, list[str]] = {}
    for f in figures:
        keys_by_label.setdefault(f.baseline_label, []).append(f.key)
    lines.extend(f"  {', '.join(keys)}: {label}" for label, keys in keys_by_label.items())
    return "\n".join(lines)
