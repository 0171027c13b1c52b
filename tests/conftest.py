"""Shared test configuration. Area fixtures live in tests/support/ and each area's conftest."""

from __future__ import annotations

import os

# Tests never read a developer's .env or reach a real provider.
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("ANTHROPIC_API_KEY", None)
os.environ.setdefault("FAMILIAR_ENV_FILE", "/dev/null")

# Session-scoped servers are registered once here, so every module shares one redis-server, one
# Postgres and one Synapse (a fixture imported into several modules would start one server per
# module); likewise the per-test SQLite `db` fixture and the SQLite/Postgres `relational` one.
pytest_plugins = [
    "tests.support.redis_server",
    "tests.support.postgres_server",
    "tests.support.synapse",
    "tests.support.sqlite",
    "tests.support.relational",
]
