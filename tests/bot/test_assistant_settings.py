"""Reminder, check-in and voice settings are read from the environment and reach their parts."""

from __future__ import annotations

from datetime import time

import pytest

from bot.config import load_settings


def test_quiet_hours_and_lateness_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAMILIAR_REMINDERS__QUIET_START", "21:30")
    monkeypatch.setenv("FAMILIAR_REMINDERS__QUIET_END", "07:15")
    monkeypatch.setenv("FAMILIAR_REMINDERS__CHECKIN_WINDOW_H", "1.5")
    monkeypatch.setenv("FAMILIAR_REMINDERS__LATE_AFTER_S", "600")
    reminders = load_settings(env_file=None).reminders
    checkins = reminders.checkins()
    assert (checkins.quiet_start, checkins.quiet_end, checkins.window_h) == (time(21, 30), time(7, 15), 1.5)
    assert reminders.scheduler().late_after_s == 600


def test_voice_replies_are_off_unless_enabled_and_fall_back_to_the_openai_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(env_file=None).voice_settings() is None
    monkeypatch.setenv("FAMILIAR_VOICE__ENABLED", "true")
    monkeypatch.setenv("FAMILIAR_VOICE__VOICE", "nova")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    voice = load_settings(env_file=None).voice_settings()
    assert voice is not None
    assert (voice.voice, voice.base_url) == ("nova", "http://127.0.0.1:9/v1")
