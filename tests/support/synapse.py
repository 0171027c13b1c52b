"""A real Synapse homeserver as a child process on a free loopback port, for tests.

The config is generated into a throwaway directory: SQLite, no federation, registration by
shared secret, every rate limit raised so tests never wait on `M_LIMIT_EXCEEDED`. Synapse lives
in its own venv (`make synapse`); `FAMILIAR_SYNAPSE_PYTHON` names its interpreter, else
`<repo>/.venv-synapse/bin/python` is used. Tests that need it are skipped, with the reason, when
that interpreter is missing (and fail under CI, which installs it).

The session-scoped `synapse` fixture is registered once in tests/conftest.py (pytest_plugins)::

    def test_x(synapse: SynapseServer) -> None:
        user = synapse.register("alice", "pw")

Everything here is synchronous on purpose: it runs in fixtures, outside the tests' event loops.
Async tests call `restart()` through `asyncio.to_thread`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import missing_component

_log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[2]
_READY_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_SERVER_NAME = "localhost"
_UNLIMITED = {"per_second": 1000, "burst_count": 1000}


def synapse_python() -> Path:
    configured = os.environ.get("FAMILIAR_SYNAPSE_PYTHON")
    return Path(configured) if configured else _REPO_ROOT / ".venv-synapse" / "bin" / "python"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


def _rate_limits() -> dict[str, object]:
    return {
        "rc_message": _UNLIMITED,
        "rc_registration": _UNLIMITED,
        "rc_registration_token_validity": _UNLIMITED,
        "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
        "rc_admin_redaction": _UNLIMITED,
        "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
        "rc_joins_per_room": _UNLIMITED,
        "rc_3pid_validation": _UNLIMITED,
        "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
        "rc_third_party_invite": _UNLIMITED,
        "rc_room_creation": _UNLIMITED,
        "rc_presence": {"per_user": _UNLIMITED},
        "rc_media_create": _UNLIMITED,
        "rc_delayed_event_mgmt": _UNLIMITED,
        "rc_reports": _UNLIMITED,
        "rc_user_directory": _UNLIMITED,
        "rc_key_requests": _UNLIMITED,
        "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "reject_limit": 1000},
    }


def homeserver_config(directory: Path, port: int, shared_secret: str) -> dict[str, object]:
    """A minimal loopback-only homeserver.yaml (JSON is valid YAML)."""
    return {
        "server_name": _SERVER_NAME,
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client", "media"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "log_config": None,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        **_rate_limits(),
    }


class SynapseServer:
    """One homeserver in `directory`; `start()`, `stop()`, `restart()` keep the same data."""

    def __init__(self, directory: Path, python: Path | None = None) -> None:
        self.directory = directory
        self._python = python or synapse_python()
        self._shared_secret = secrets.token_hex(16)
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_name(self) -> str:
        return _SERVER_NAME

    @property
    def _config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    def _command(self) -> list[str]:
        return [str(self._python), "-m", "synapse.app.homeserver", "-c", str(self._config_path)]

    def generate(self) -> None:
        config = homeserver_config(self.directory, self.port, self._shared_secret)
        self._config_path.write_text(json.dumps(config, indent=1))
        (self.directory / "media").mkdir(exist_ok=True)
        # The signing key is an ed25519 seed (any 32 random bytes) in Synapse's text format;
        # writing it directly saves the ~5 s `--generate-keys` run.
        seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        (self.directory / "signing.key").write_text(f"ed25519 a_test {seed}\n")

    def start(self) -> None:
        log = (self.directory / "synapse.log").open("ab")
        self._process = subprocess.Popen(
            self._command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"synapse exited early; see {self.directory / 'synapse.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"synapse not ready after {_READY_TIMEOUT_S}s")

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it hangs). Idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, object] = json.loads(response.read())
            return result

    def register(self, localpart: str, password: str, *, admin: bool = False) -> RegisteredUser:
        """Register through the shared-secret admin API (the way `register_new_matrix_user` does)."""
        with urllib.request.urlopen(f"{self.url}/_synapse/admin/v1/register", timeout=10) as response:
            nonce = str(json.loads(response.read())["nonce"])
        role = b"admin" if admin else b"notadmin"
        message = b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), role])
        mac = hmac.new(self._shared_secret.encode(), message, hashlib.sha1).hexdigest()
        body: dict[str, object] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac,
        }
        result = self._post("/_synapse/admin/v1/register", body)
        return RegisteredUser(
            user_id=str(result["user_id"]),
            password=password,
            access_token=str(result["access_token"]),
            device_id=str(result["device_id"]),
        )


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    python = synapse_python()
    if not python.exists():
        missing_component(f"Synapse venv missing ({python}); run `make synapse`")
    server = SynapseServer(tmp_path_factory.mktemp("synapse"), python)
    server.generate()
    server.start()
    try:
        yield server
    finally:
        server.stop()
