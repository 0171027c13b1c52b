"""The one typed settings tree, read once at start from the environment, `.env` and an optional YAML file.

Precedence: environment > `.env` > `familiar.yaml` (FAMILIAR_CONFIG) > defaults. Nested keys use `__` in
environment variables (FAMILIAR_ENGINE__RATE_LIMIT_PER_MINUTE=5). The SDKs' own variables
(OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), REDIS_URL, CHROMA_URL, DATABASE_URL,
DISCORD_TOKEN and MATRIX_* are accepted under those names. Components receive their own sub-model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from adapters.discord.settings import DiscordSettings
from adapters.matrix.settings import MatrixSettings
from adapters.terminal.settings import TerminalSettings
from persona.learning.settings import LearningSettings
from persona.providers.config import ChainSettings, ProviderConfig
from persona.providers.speech import SpeechSettings
from persona.providers.voice import VoiceSettings
from persona.reminders.settings import ReminderSettings
from persona.settings import EngineSettings
from persona.tools.mcp_config import McpServerConfig
from web.settings import WebSettings


class EmbeddingSettings(BaseModel):
    backend: Literal["local", "openai"] = "local"
    model_dir: Path | None = None  # a directory with model.onnx + tokenizer.json; default: bundled MiniLM
    model: str = "text-embedding-3-small"  # for backend=openai
    base_url: str | None = None
    api_key: SecretStr | None = None


class DatabasePoolSettings(BaseModel):
    """The Postgres pool of one process (FAMILIAR_DATABASE_POOL__MAX_SIZE=20)."""

    min_size: int = Field(default=1, ge=0)
    max_size: int = Field(default=10, ge=1)
    command_timeout_s: float = Field(default=30.0, gt=0)


class ConfigError(Exception):
    """A malformed setting: the message names the key and what is wrong."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FAMILIAR_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    config: Path | None = None  # optional YAML file with the same keys (room policies, providers)
    data_dir: Path = Path("./data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    persona: str = "default"  # the persona used where no binding says otherwise
    persona_dir: Path | None = None  # extra persona files (*.yaml, *.toml); they override shipped ones

    openai_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL"))
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)  # by name; merged over defaults
    llm: ChainSettings = Field(default_factory=ChainSettings)  # deadlines and the circuit breaker

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "FAMILIAR_REDIS_URL")
    )
    chroma_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CHROMA_URL", "FAMILIAR_CHROMA_URL")
    )
    # Every relational store on Postgres (postgresql://user:pass@host:port/db); unset: SQLite.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "FAMILIAR_DATABASE_URL")
    )
    database_pool: DatabasePoolSettings = Field(default_factory=DatabasePoolSettings)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, url: str | None) -> str | None:
        """Only Postgres is spoken: another scheme fails at start, naming what was expected."""
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql://user:password@host:port/database URL")
        return url or None

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)  # voice messages -> text
    voice: VoiceSettings = Field(default_factory=VoiceSettings)  # replies -> voice messages (opt-in)

    engine: EngineSettings = Field(default_factory=EngineSettings)
    # MCP servers by name; a persona allows their tools as "<name>__<tool>" (see README).
    mcp: dict[str, McpServerConfig] = Field(default_factory=dict)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)  # and check-ins
    terminal: TerminalSettings = Field(default_factory=TerminalSettings)
    # The web server (dashboard, memory pages, /metrics) runs only when a FAMILIAR_WEB__* key is set.
    web: WebSettings | None = None
    # Platform sections stay raw here and are validated by discord_settings()/matrix_settings(),
    # so their secrets can come from DISCORD_TOKEN / MATRIX_* while policies live in YAML.
    discord: dict[str, Any] | None = None
    discord_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DISCORD_TOKEN"))
    matrix: dict[str, Any] | None = None
    matrix_homeserver: str | None = Field(default=None, validation_alias=AliasChoices("MATRIX_HOMESERVER"))
    matrix_user_id: str | None = Field(default=None, validation_alias=AliasChoices("MATRIX_USER_ID"))
    matrix_password: SecretStr | None = Field(default=None, validation_alias=AliasChoices("MATRIX_PASSWORD"))
    matrix_access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MATRIX_ACCESS_TOKEN")
    )

    def speech_settings(self) -> SpeechSettings | None:
        """Speech-to-text when enabled; an unset endpoint or key falls back to the OpenAI ones."""
        if not self.speech.enabled:
            return None
        return self.speech.model_copy(
            update={
                "base_url": self.speech.base_url or self.openai_base_url,
                "api_key": self.speech.api_key or self.openai_api_key,
            }
        )

    def voice_settings(self) -> VoiceSettings | None:
        """Text-to-speech when enabled; an unset endpoint or key falls back to the OpenAI ones."""
        if not self.voice.enabled:
            return None
        return self.voice.model_copy(
            update={
                "base_url": self.voice.base_url or self.openai_base_url,
                "api_key": self.voice.api_key or self.openai_api_key,
            }
        )

    def discord_settings(self) -> DiscordSettings | None:
        """Discord is on when a token is set (DISCORD_TOKEN or discord.token); the rest of the
        `discord` section (policies, admins) may live in the YAML file while the token stays in .env."""
        raw = dict(self.discord or {})
        if self.discord_token is not None:
            raw.setdefault("token", self.discord_token)
        if not raw:
            return None
        return _platform_model(DiscordSettings, raw, "discord", "DISCORD_TOKEN")

    def matrix_settings(self) -> MatrixSettings | None:
        """Matrix is on when MATRIX_HOMESERVER and MATRIX_USER_ID (or a `matrix` section) are set."""
        raw = dict(self.matrix or {})
        env = {
            "homeserver": self.matrix_homeserver,
            "user_id": self.matrix_user_id,
            "password": self.matrix_password,
            "access_token": self.matrix_access_token,
        }
        for key, value in env.items():
            if value is not None:
                raw.setdefault(key, value)
        if not raw:
            return None
        return _platform_model(MatrixSettings, raw, "matrix", "MATRIX_*")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        yaml_path = _yaml_path(env_settings, dotenv_settings)
        if yaml_path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        return tuple(sources)


def _yaml_path(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        values: dict[str, Any] = source()
        raw = values.get("config")
        if raw:
            return Path(str(raw))
    default = Path("familiar.yaml")
    return default if default.is_file() else None


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read the settings once. Raises ConfigError naming each bad key and what is wrong."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


_M = TypeVar("_M", bound=BaseModel)


def _platform_model(model: type[_M], raw: dict[str, Any], section: str, env_hint: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_error(exc, prefix=(section,))
        raise ConfigError(
            f"{message}\n  ({env_hint} and FAMILIAR_{section.upper()}__* set this section)"
        ) from None


def describe_validation_error(exc: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    lines = ["Invalid configuration:"]
    for err in exc.errors():
        loc = (*prefix, *(str(part) for part in err["loc"]))
        dotted = ".".join(loc)
        env_name = "FAMILIAR_" + "__".join(p.upper() for p in loc)
        lines.append(f"  {dotted} (env {env_name}): {err['msg']}")
    return "\n".join(lines)
