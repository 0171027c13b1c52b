"""The saved session: what survives a restart, and that the token file is private."""

from __future__ import annotations

import stat
from pathlib import Path

from adapters.matrix.state import SavedSession, SessionFile


async def test_session_round_trips_and_is_private(tmp_path: Path) -> None:
    sessions = SessionFile(tmp_path / "matrix")
    await sessions.save(SavedSession(user_id="@b:x", device_id="DEV", access_token="secret"))
    await sessions.update(next_batch="s42", direct_room="!dm:x")
    loaded = await SessionFile(tmp_path / "matrix").load()
    assert loaded == SavedSession(
        user_id="@b:x",
        device_id="DEV",
        access_token="secret",
        next_batch="s42",
        direct_rooms=frozenset({"!dm:x"}),
    )
    mode = stat.S_IMODE((tmp_path / "matrix" / "session.json").stat().st_mode)
    assert mode == 0o600


async def test_a_corrupt_session_file_means_a_fresh_login(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{not json")
    assert await SessionFile(tmp_path).load() is None
