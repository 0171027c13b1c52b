"""Real components for tests (Redis, Synapse, Chroma, LLM and Discord servers on loopback)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing_component(reason: str) -> NoReturn:
    """A developer without a component skips its tests; CI, which installs everything, fails."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it: see the Makefile's test target)")
    pytest.skip(reason)
