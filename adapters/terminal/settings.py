"""Terminal adapter settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TerminalSettings(BaseModel):
    user_id: str | None = Field(default=None, description="Your identity in the terminal; default: OS user")
    display_name: str | None = None
    room_id: str = "console"
    stream: bool = True  # stream tokens when stdin is a terminal
