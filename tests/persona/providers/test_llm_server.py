"""The wire-level LLM server other areas rely on: defaults, recording, embeddings, models."""

from __future__ import annotations

import anthropic
import openai

from tests.support.llm_server import LLMServer, RecordedRequest


async def test_default_reply_echoes_the_last_user_message(llm_server: LLMServer) -> None:
    client = openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model="m",
            messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": "my cat is Tom"}],
        )
    finally:
        await client.close()
    assert completion.choices[0].message.content == "You said: my cat is Tom"
    recorded = llm_server.chat_requests[-1]
    assert recorded.api == "openai"
    assert "my cat is Tom" in recorded.prompt_text
    assert recorded.system_text == "sys"


async def test_custom_async_responder_and_anthropic_system_prompt(llm_server: LLMServer) -> None:
    async def responder(request: RecordedRequest) -> str:
        return f"[{request.system_text}] {request.last_user_text.upper()}"

    llm_server.set_responder(responder)
    client = anthropic.AsyncAnthropic(base_url=llm_server.anthropic_base_url, api_key="k", max_retries=0)
    try:
        message = await client.messages.create(
            model="m", max_tokens=10, system="be loud", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await client.close()
    assert message.content[0].type == "text"
    assert message.content[0].text == "[be loud] HI"
    assert llm_server.chat_requests[-1].api == "anthropic"


async def test_embeddings_are_deterministic_unit_vectors(llm_server: LLMServer) -> None:
    client = openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=0)
    try:
        first = await client.embeddings.create(model="e", input=["alpha", "beta"])
        again = await client.embeddings.create(model="e", input="alpha")
    finally:
        await client.close()
    vectors = [d.embedding for d in first.data]
    assert len(vectors) == 2
    assert len(vectors[0]) == llm_server.embedding_dim
    assert abs(sum(v * v for v in vectors[0]) - 1.0) < 1e-5
    assert vectors[0] != vectors[1]
    assert again.data[0].embedding == vectors[0]


async def test_outside_pytest_as_a_context_manager_with_latency() -> None:
    async with LLMServer(latency_s=0.05, models=("a", "b")) as server:
        client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        try:
            assert [m.id async for m in client.models.list()] == ["a", "b"]
        finally:
            await client.close()
    await server.close()  # idempotent
