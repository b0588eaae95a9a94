"""Fuzz suites: a few seconds of examples in `make test`, many more under `make fuzz` (FOXPLUG_FUZZ=1)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "quick", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
settings.register_profile("long", max_examples=3_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("long" if os.environ.get("FOXPLUG_FUZZ") else "quick")


@pytest.fixture(autouse=True)
def _watched(loop_watchdog: Any) -> None:
    """The async fuzz tests run under the event-loop watchdog."""
