"""Settings: read once, secrets from the usual variables, malformed values named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_need_no_environment(tmp_path: Path) -> None:
    settings = load_settings(env_file=None)
    assert settings.discord_settings() is None
    assert settings.matrix_settings() is None
    assert settings.persona == "default"


def test_sdk_variables_are_read_from_dotenv(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=sk-from-dotenv\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n")
    settings = load_settings(env_file=env)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-from-dotenv"
    assert "sk-from-dotenv" not in repr(settings)  # secrets never show up in logs or /config


def test_discord_token_and_yaml_policies_combine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "familiar.yaml"
    config.write_text("discord:\n  admin_user_ids: [42]\n  defaults: {trigger: open}\n")
    monkeypatch.setenv("DISCORD_TOKEN", "token-from-env")
    monkeypatch.setenv("FAMILIAR_CONFIG", str(config))
    discord = load_settings(env_file=None).discord_settings()
    assert discord is not None
    assert discord.token.get_secret_value() == "token-from-env"
    assert discord.admin_user_ids == [42]


def test_matrix_without_credentials_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRIX_HOMESERVER", "https://matrix.example.org")
    monkeypatch.setenv("MATRIX_USER_ID", "@bot:example.org")
    settings = load_settings(env_file=None)
    with pytest.raises(ConfigError, match="matrix"):
        settings.matrix_settings()


def test_a_malformed_nested_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAMILIAR_LEARNING__REFLECTION_HOUR", "25")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert "learning.reflection_hour" in str(info.value)
    assert "FAMILIAR_LEARNING__REFLECTION_HOUR" in str(info.value)


def test_database_url_selects_postgres_and_a_wrong_scheme_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://familiar@db.internal:5432/familiar")
    monkeypatch.setenv("FAMILIAR_DATABASE_POOL__MAX_SIZE", "20")
    settings = load_settings(env_file=None)
    assert settings.database_url == "postgresql://familiar@db.internal:5432/familiar"
    assert settings.database_pool.max_size == 20

    monkeypatch.setenv("DATABASE_URL", "mysql://familiar@db.internal/familiar")
    with pytest.raises(ConfigError, match="DATABASE_URL must be a postgresql://"):
        load_settings(env_file=None)


def test_mcp_servers_come_from_yaml_and_a_server_without_a_command_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "familiar.yaml"
    config.write_text(
        "mcp:\n"
        "  notes: {transport: stdio, command: uvx, args: [notes-server], env: {NOTES_TOKEN: MY_TOKEN}}\n"
        "  search: {transport: http, url: 'http://127.0.0.1:8765/mcp', headers: {Authorization: AUTH}}\n"
    )
    monkeypatch.setenv("FAMILIAR_CONFIG", str(config))
    servers = load_settings(env_file=None).mcp
    assert servers["notes"].env == {"NOTES_TOKEN": "MY_TOKEN"}
    assert servers["search"].transport == "http"

    config.write_text("mcp:\n  notes: {transport: stdio}\n")
    with pytest.raises(ConfigError, match=r"mcp\.notes"):
        load_settings(env_file=None)
