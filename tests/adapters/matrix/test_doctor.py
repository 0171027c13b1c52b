"""`check_matrix` against a real Synapse: what works, and what to fix when it does not."""

from __future__ import annotations

import pytest

from adapters.matrix import MatrixSettings, check_matrix
from tests.support.synapse import RegisteredUser, SynapseServer, free_port

pytestmark = pytest.mark.synapse


async def test_good_credentials_pass_login_and_sync(synapse: SynapseServer, bot_user: RegisteredUser) -> None:
    settings = MatrixSettings(homeserver=synapse.url, user_id=bot_user.user_id, password=bot_user.password)  # type: ignore[arg-type]
    findings = await check_matrix(settings)
    assert [finding.level for finding in findings] == ["ok", "ok"]
    assert "sync works" in findings[1].text


async def test_a_wrong_password_says_what_to_fix(synapse: SynapseServer, bot_user: RegisteredUser) -> None:
    settings = MatrixSettings(homeserver=synapse.url, user_id=bot_user.user_id, password="wrong")  # type: ignore[arg-type]
    (finding,) = await check_matrix(settings)
    assert finding.level == "error"
    assert "matrix.password" in finding.text


async def test_an_unreachable_homeserver_says_what_to_fix() -> None:
    settings = MatrixSettings(
        homeserver=f"http://127.0.0.1:{free_port()}",
        user_id="@x:localhost",
        access_token="t",  # type: ignore[arg-type]
    )
    (finding,) = await check_matrix(settings)
    assert finding.level == "error"
    assert "matrix.homeserver" in finding.text
