"""A hung provider fails fast for a reply; an outage does not multiply background calls.

Real SDK clients against the wire-level LLM server; the chain as the registry builds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.config import load_settings
from persona.providers.base import ChatMessage, ChatRequest, ErrorKind, ProviderError
from persona.providers.circuit import CircuitPolicy
from persona.providers.config import ModelRef, ProviderRegistry
from tests.persona.providers.conftest import config_for
from tests.support.llm_server import LLMServer, hang, rate_limited, reply, server_error

REPLY = ChatRequest(
    model="m", system="You are Tess.", messages=(ChatMessage(role="user", content="hi"),), max_tokens=64
)
BACKGROUND = dataclasses.replace(REPLY, background=True)


class Collector:
    def __init__(self) -> None:
        self.text = ""

    async def __call__(self, delta: str) -> None:
        self.text += delta


@pytest.fixture
async def registry(llm_server: LLMServer) -> AsyncIterator[ProviderRegistry]:
    registry = ProviderRegistry(
        [config_for(llm_server, "openai", max_retries=2, backoff_base_s=0.01, backoff_max_s=1.0)],
        deadline_s=30.0,
        first_token_s=0.5,
        circuit=CircuitPolicy(failures=3, cooldown_s=60.0),
    )
    await registry.start()
    yield registry
    await registry.close()


async def test_a_hung_provider_fails_a_reply_at_the_first_token_deadline(
    llm_server: LLMServer, registry: ProviderRegistry
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    llm_server.script(hang(), hang(), hang())

    with pytest.raises(ProviderError) as caught:
        await chain.chat(REPLY, Collector())

    assert caught.value.kind is ErrorKind.TIMEOUT  # the person reads "took too long", not silence
    assert len(llm_server.chat_requests) == 1  # no retry is started after the deadline


async def test_a_reply_that_started_in_time_may_stream_past_the_first_token_deadline(
    llm_server: LLMServer, registry: ProviderRegistry
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    llm_server.stream_chunk_delay_s = 0.3  # four chunks: the whole answer takes longer than 0.5 s
    llm_server.script(reply("one two three four"))
    collected = Collector()

    result = await chain.chat(REPLY, collected)

    assert result.text == collected.text == "one two three four"


async def test_a_429_phase_costs_one_reply_its_retries_and_background_work_nothing(
    llm_server: LLMServer, registry: ProviderRegistry
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    learning = registry.build_chain([ModelRef(provider="openai", model="m")])  # shares the circuit
    llm_server.script(*[rate_limited(0.01) for _ in range(20)])

    with pytest.raises(ProviderError):
        await chain.chat(REPLY, Collector())
    assert len(llm_server.chat_requests) == 3  # one attempt and two retries open the circuit

    for _ in range(10):  # queued learning during the outage: refused without a request
        with pytest.raises(ProviderError) as caught:
            await learning.chat(BACKGROUND)
        assert caught.value.kind is ErrorKind.RATE_LIMIT
        assert caught.value.retry_after_s is not None
        assert caught.value.retry_after_s > 0
    assert len(llm_server.chat_requests) == 3

    with pytest.raises(ProviderError):
        await chain.chat(REPLY, Collector())  # a reply still tries, once
    assert len(llm_server.chat_requests) == 4


async def test_the_first_success_closes_the_circuit_for_background_work(
    llm_server: LLMServer, registry: ProviderRegistry
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    llm_server.script(*[rate_limited(0.01) for _ in range(3)], reply("back"), reply("learned"))
    with pytest.raises(ProviderError):
        await chain.chat(REPLY, Collector())

    assert (await chain.chat(REPLY, Collector())).text == "back"
    assert (await chain.chat(BACKGROUND)).text == "learned"
    assert len(llm_server.chat_requests) == 5


async def test_background_work_waits_out_a_retry_after_and_is_never_retried_in_the_call(
    llm_server: LLMServer, registry: ProviderRegistry
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    llm_server.script(rate_limited(30.0), reply("too early"))

    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            await chain.chat(BACKGROUND)
        assert caught.value.kind is ErrorKind.RATE_LIMIT

    assert len(llm_server.chat_requests) == 1  # one call; the server asked for 30 s of quiet


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_lone_surrogate_from_the_model_reaches_nobody(
    llm_server: LLMServer, registry: ProviderRegistry, stream: bool
) -> None:
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    llm_server.script(reply("odd \ud800 text"))
    collected = Collector()

    result = await chain.chat(REPLY, collected if stream else None)

    assert result.text == "odd \ufffd text"  # storable, sendable
    assert collected.text == (result.text if stream else "")


async def test_the_llm_settings_set_the_circuit_a_background_call_meets(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAMILIAR_LLM__CIRCUIT_FAILURES", "1")
    monkeypatch.setenv("FAMILIAR_LLM__CIRCUIT_COOLDOWN_S", "600")
    settings = load_settings(env_file=None).llm
    registry = ProviderRegistry.from_settings([config_for(llm_server, "openai")], settings)
    await registry.start()
    try:
        chain = registry.build_chain([ModelRef(provider="openai", model="m")])
        llm_server.script(server_error(), reply("not asked"))
        for _ in range(3):
            with pytest.raises(ProviderError):
                await chain.chat(BACKGROUND)
    finally:
        await registry.close()
    assert len(llm_server.chat_requests) == 1  # one failure opened it for ten minutes
