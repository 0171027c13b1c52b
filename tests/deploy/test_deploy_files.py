"""deploy/: the compose file and the systemd units name only settings Familiar reads.

`docker compose config` validates the compose file where a docker CLI with the compose plugin
works (no daemon needed); the parse below runs everywhere, so a renamed setting or a missing
service fails here and not at an operator's first `up`.
"""

from __future__ import annotations

import asyncio
import configparser
import shutil
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = {"bot", "worker", "redis", "postgres", "chroma"}
# Read by the Postgres stores (issue 11's other half) once they are merged; named here so the
# deployment files already carry it.
POSTGRES_URL = "DATABASE_URL"


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


async def docker_compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    process = await asyncio.create_subprocess_exec(
        "docker", "compose", "version",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await process.wait() == 0


async def test_the_compose_file_is_valid_where_docker_compose_runs() -> None:
    if not await docker_compose_works():
        # The compose plugin is not installed here: the structural checks below stand alone.
        assert set(compose()["services"]) == SERVICES
        return
    process = await asyncio.create_subprocess_exec(
        "docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()


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
