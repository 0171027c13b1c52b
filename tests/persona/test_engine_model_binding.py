"""A room's model binding (adapter config) reaches the provider call."""

from __future__ import annotations

import dataclasses

from tests.fakes.engine import message, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink


async def test_a_rooms_model_binding_replaces_the_personas_model() -> None:
    provider = ScriptedProvider()
    async with running_engine(provider=provider) as engine:
        bound = dataclasses.replace(message("hi", room="lab", is_dm=False), model="bigger-model")
        await engine.submit(bound, RecordingSink())
        await engine.submit(message("hello", room="lounge", is_dm=False), RecordingSink())
    assert [r.model for r in provider.requests] == ["bigger-model", "test-model"]
