"""Tool calls through both providers and the chain, against the wire fake (JSON and streamed):
the calls come back whole, the results go back in each protocol's shape, and a request without
tools is exactly a plain reply's."""

from __future__ import annotations

import json

import pytest

from persona.providers.base import ChatMessage, ChatRequest, ToolResult, ToolSpec
from persona.providers.config import ModelRef, ProviderKind
from tests.persona.providers.conftest import MakeRegistry, config_for
from tests.support.llm_server import LLMServer, reply, server_error, tool_call, tool_calls

KINDS: list[ProviderKind] = ["openai", "anthropic"]
WEATHER = ToolSpec(
    name="weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ask(*, tools: tuple[ToolSpec, ...] = (WEATHER,)) -> ChatRequest:
    return ChatRequest(
        model="m",
        system="You are Tess.",
        messages=(ChatMessage(role="user", content="weather in Oslo and Rome?"),),
        max_tokens=64,
        tools=tools,
    )


class Collector:
    def __init__(self) -> None:
        self.text = ""

    async def __call__(self, delta: str) -> None:
        self.text += delta


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
async def test_tool_calls_come_back_whole_and_results_go_back(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, stream: bool
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m-1")])
    llm_server.script(
        tool_calls(("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"}), text="Let me look. "),
        reply("Oslo is cold, Rome is warm."),
    )
    collector = Collector()
    first = await chain.chat(ask(), collector if stream else None)

    assert [(c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
        ("weather", {"city": "Oslo"}),
        ("weather", {"city": "Rome"}),
    ]
    assert first.text == "Let me look. "
    assert all(c.id for c in first.tool_calls)
    assert llm_server.chat_requests[0].tool_names == ["weather"]

    results = tuple(
        ToolResult(call_id=c.id, name=c.name, content=f"{json.loads(c.arguments)['city']}: 21C")
        for c in first.tool_calls
    )
    follow = ChatRequest(
        model="m",
        system="You are Tess.",
        messages=(
            *ask().messages,
            ChatMessage(role="assistant", content=first.text, tool_calls=first.tool_calls),
            ChatMessage(role="user", content="", tool_results=results),
        ),
        tools=(WEATHER,),
    )
    second = await chain.chat(follow, collector if stream else None)

    assert second.text == "Oslo is cold, Rome is warm."
    assert second.tool_calls == ()
    sent = llm_server.chat_requests[1]
    assert sent.tool_results == ["Oslo: 21C", "Rome: 21C"]
    if kind == "anthropic":  # the results answer the tool_use ids in one user turn
        blocks = sent.messages[-1]["content"]
        assert [b["tool_use_id"] for b in blocks] == [c.id for c in first.tool_calls]
        assert [b["type"] for b in sent.messages[-2]["content"]] == ["text", "tool_use", "tool_use"]
    else:
        assert [m["tool_call_id"] for m in sent.messages[-2:]] == [c.id for c in first.tool_calls]
        assert sent.messages[-3]["tool_calls"][0]["function"]["name"] == "weather"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_request_without_tools_looks_as_it_always_did(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m-1")])
    await chain.chat(ask(tools=()), Collector())
    body = llm_server.chat_requests[0].json
    assert "tools" not in body
    assert "tool_choice" not in body


@pytest.mark.parametrize("kind", KINDS)
async def test_tool_choice_none_is_sent_in_each_protocols_shape(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m-1")])
    request = ask()
    await chain.chat(ChatRequest(**{**_fields(request), "tool_choice": "none"}))
    sent = llm_server.chat_requests[0].json["tool_choice"]
    assert sent == ({"type": "none"} if kind == "anthropic" else "none")


async def test_a_later_round_is_not_failed_over_to_another_entry(
    llm_server: LLMServer, make_registry: MakeRegistry
) -> None:
    """Once a tool's effect reached the person, another model must not start the turn over."""
    registry = await make_registry(
        [config_for(llm_server, "openai", max_retries=0), config_for(llm_server, "anthropic")]
    )
    chain = registry.build_chain(
        [ModelRef(provider="openai", model="a"), ModelRef(provider="anthropic", model="b")]
    )
    llm_server.script(server_error(), reply("from the fallback"))
    assert (await chain.chat(ask())).text == "from the fallback"  # a first round fails over

    llm_server.script(server_error(), reply("never asked"))
    later = ChatRequest(**{**_fields(ask()), "no_failover": True})
    with pytest.raises(Exception, match="server"):
        await chain.chat(later)
    assert llm_server.pending_behaviours() == 1


def _fields(request: ChatRequest) -> dict[str, object]:
    return {name: getattr(request, name) for name in ChatRequest.__dataclass_fields__}


@pytest.mark.parametrize("kind", KINDS)
async def test_streamed_text_before_a_call_reaches_the_sink(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m-1")])
    llm_server.script(tool_call("weather", {"city": "Oslo"}, text="Checking the sky. "))
    collector = Collector()
    result = await chain.chat(ask(), collector)
    assert collector.text == "Checking the sky. "
    assert [c.name for c in result.tool_calls] == ["weather"]
