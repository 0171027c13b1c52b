"""Fact learning as the bot runs it: the real chain on the wire-level server, real SQLite stores.

The learning call's tokens count against the person's daily quota, and a failed turn (an outage)
is not learned from at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from memory.sqlite.db import Database
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.limits import SqliteRateLimiter
from persona.learning.facts import FactLearner
from persona.learning.settings import LearningSettings
from persona.providers.config import ModelRef, ProviderRegistry
from persona.usage import UsageRecorder, usage_day, usage_key
from tests.persona.learning.support import T0, Clock, fact, facts_reply, turn
from tests.persona.providers.conftest import config_for
from tests.support.llm_server import LLMServer, llm_server, reply

__all__ = ["llm_server"]


@pytest.fixture
async def limits(db: Database) -> AsyncIterator[SqliteRateLimiter]:
    store = SqliteRateLimiter(db)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def registry(llm_server: LLMServer) -> AsyncIterator[ProviderRegistry]:
    registry = ProviderRegistry([config_for(llm_server, "openai")])
    await registry.start()
    yield registry
    await registry.close()


@pytest.fixture
def learner(
    registry: ProviderRegistry, fact_store: SqliteFactStore, limits: SqliteRateLimiter, clock: Clock
) -> FactLearner:
    return FactLearner(
        provider=registry.build_chain([ModelRef(provider="openai", model="test-model")]),
        facts=fact_store,
        model="test-model",
        settings=LearningSettings(),
        clock=clock,
        usage=UsageRecorder(limits, clock),
    )


async def test_the_learning_calls_tokens_count_in_the_persons_daily_quota(
    learner: FactLearner, llm_server: LLMServer, limits: SqliteRateLimiter, fact_store: SqliteFactStore
) -> None:
    extracted = facts_reply(fact("home_city", "Lyon", "identity"))
    llm_server.script(reply(extracted, input_tokens=700, output_tokens=40))

    await learner.after_turn(turn("I moved to Lyon last spring", event_id="e1", at=T0))

    assert await limits.usage(usage_key("terminal:alice"), usage_day(T0)) == 740
    [learned] = await fact_store.facts(turn("x", event_id="v").visibility)
    assert learned.value == "Lyon"
    [sent] = llm_server.chat_requests
    assert sent.json["model"] == "test-model"


async def test_a_failed_turn_is_not_learned_from(learner: FactLearner, llm_server: LLMServer) -> None:
    failed = dataclasses.replace(turn("I moved to Lyon last spring", event_id="e2", at=T0), reply_text="")

    await learner.after_turn(failed)

    assert llm_server.chat_requests == []
