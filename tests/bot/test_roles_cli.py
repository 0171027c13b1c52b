"""The process-role commands refuse what cannot work, with a clear line and before opening anything:
a split role without the shared queue (REDIS_URL), shard flags that do not add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    env = {"COLUMNS": "240", "NO_COLOR": "1", "FAMILIAR_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": ""}
    return CliRunner(env=env)


def test_a_worker_without_redis_says_to_set_redis_url(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output
    assert not (tmp_path / "data" / "familiar.db").exists()  # nothing was opened


def test_a_gateway_without_redis_says_to_set_redis_url(runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "--role", "gateway"])
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output


@pytest.mark.parametrize(
    "flags",
    [
        ["--shard-ids", "0,1"],  # no count
        ["--shard-ids", "0,3", "--shard-count", "3"],  # 3 is not a shard of 3
        ["--shard-ids", "one", "--shard-count", "2"],
        ["--role", "worker"],  # `familiar worker` is the worker
    ],
)
def test_bad_shard_or_role_flags_are_refused(runner: CliRunner, flags: list[str]) -> None:
    result = runner.invoke(app, ["run", *flags])
    assert result.exit_code == 2
    assert "--shard-ids" in result.output or "--role" in result.output
