"""Builders for engine tests: messages, a catalog, and a running `PersonaEngine` over fakes."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from memory.base import Stores
from persona.engine import PersonaEngine
from persona.hooks import PostTurnHook
from persona.personas import PersonaCatalog, PersonaSpec
from persona.settings import EngineSettings
from persona.types import Attachment, IncomingMessage
from tests.fakes.provider import ScriptedProvider
from tests.fakes.stores import make_stores

_event_ids = itertools.count(1)


def message(
    text: str,
    *,
    author: str = "alice",
    name: str | None = None,
    room: str = "dm-alice",
    is_dm: bool = True,
    platform: str = "terminal",
    event_id: str | None = None,
    thread: str | None = None,
    attachments: Sequence[Attachment] = (),
    per_user_session: bool = False,
) -> IncomingMessage:
    return IncomingMessage(
        platform=platform,
        room_id=room,
        thread_id=thread,
        author_id=author,
        author_name=name or author.capitalize(),
        text=text,
        event_id=event_id or f"ev{next(_event_ids)}",
        is_dm=is_dm,
        mentions_bot=not is_dm,
        attachments=tuple(attachments),
        per_user_session=per_user_session,
    )


def persona(**overrides: Any) -> PersonaSpec:
    values: dict[str, Any] = {
        "name": "default",
        "system_prompt": "You are Test, a helpful companion.",
        "style": "Be brief.",
        "model": "test-model",
    }
    values.update(overrides)
    return PersonaSpec.model_validate(values)


def fast_settings(**overrides: Any) -> EngineSettings:
    values: dict[str, Any] = {
        "jobs": {"backoff_base_s": 0.01, "backoff_max_s": 0.02, "drain_timeout_s": 5.0},
        "deadlines": {
            "links_s": 0.2,
            "history_s": 0.2,
            "memory_s": 0.2,
            "kb_s": 0.2,
            "facts_s": 0.2,
            "journal_s": 0.2,
        },
    }
    values.update(overrides)
    return EngineSettings.model_validate(values)


@asynccontextmanager
async def running_engine(
    *,
    stores: Stores | None = None,
    provider: ScriptedProvider | None = None,
    personas: Sequence[PersonaSpec] = (),
    settings: EngineSettings | None = None,
    hooks: Sequence[PostTurnHook] = (),
) -> AsyncIterator[PersonaEngine]:
    chat = provider or ScriptedProvider()
    engine = PersonaEngine(
        stores=stores or make_stores(),
        catalog=PersonaCatalog(personas or [persona()]),
        provider_for=lambda spec: chat,
        settings=settings or fast_settings(),
        hooks=hooks,
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()
