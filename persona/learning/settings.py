"""Knobs for background learning (one typed sub-model of the bot's settings tree)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LearningSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quiet_gap_s: float = Field(default=900.0, gt=0, description="silence before a conversation is journaled")
    reflection_hour: int = Field(default=7, ge=0, le=23, description="local hour of the daily reflection")
    timezone: str = Field(default="UTC", description="IANA zone for journal days and the reflection hour")
    dossier_token_budget: int = Field(default=300, ge=20, description="max tokens of a dossier summary")
    model: str | None = Field(default=None, description="model for learning calls; None: the chat model")
    max_conversation_lines: int = Field(default=40, ge=2, description="lines of a conversation journaled")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
