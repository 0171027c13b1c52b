"""Both providers against a local server speaking the real OpenAI / Anthropic wire protocols."""

from __future__ import annotations

import base64

import pytest

from persona.providers.base import ChatMessage, ChatRequest, ErrorKind, Image, ProviderError, Usage
from persona.providers.chain import UsageCounters
from persona.providers.config import ModelRef, ProviderConfig, ProviderKind
from persona.providers.friendly import friendly_message
from tests.persona.providers.conftest import MakeRegistry, config_for
from tests.support.llm_server import (
    LLMServer,
    context_too_long,
    drop_mid_stream,
    end_stream_early,
    hang,
    insufficient_quota,
    malformed,
    overloaded,
    rate_limited,
    reply,
    server_error,
    unauthorized,
)

KINDS: list[ProviderKind] = ["openai", "anthropic"]


def ask(text: str = "hello there", *, images: tuple[Image, ...] = ()) -> ChatRequest:
    return ChatRequest(
        model="ignored-by-chain",
        system="You are Tess.",
        messages=(ChatMessage(role="user", content=text, images=images),),
        max_tokens=64,
    )


class Collector:
    def __init__(self) -> None:
        self.parts: list[str] = []

    async def __call__(self, text: str) -> None:
        self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


@pytest.mark.parametrize("kind", KINDS)
async def test_json_reply_with_usage(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    usage = UsageCounters()
    registry = await make_registry([config_for(llm_server, kind)], usage=usage)
    chain = registry.build_chain([ModelRef(provider=kind, model="m-1")])
    llm_server.script(reply("Hi, I am Tess.", input_tokens=11, output_tokens=5))

    result = await chain.chat(ask())

    assert result.text == "Hi, I am Tess."
    assert (result.provider, result.model) == (kind, "m-1")
    assert result.usage == Usage(input_tokens=11, output_tokens=5)
    assert usage.totals[(kind, "m-1")] == Usage(input_tokens=11, output_tokens=5)
    sent = llm_server.chat_requests[-1]
    assert sent.model == "m-1"
    assert sent.system_text == "You are Tess."
    assert sent.last_user_text == "hello there"
    assert not sent.stream


@pytest.mark.parametrize("kind", KINDS)
async def test_streaming_delivers_text_in_pieces_and_usage(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(reply("one two three four", input_tokens=7, output_tokens=4))
    collector = Collector()

    result = await chain.chat(ask(), collector)

    assert len(collector.parts) > 1
    assert collector.text == result.text == "one two three four"
    assert result.usage == Usage(input_tokens=7, output_tokens=4)
    assert llm_server.chat_requests[-1].stream


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("header", ["seconds", "ms", "date"])
async def test_rate_limit_retries_after_the_advertised_delay(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, header: str
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(rate_limited(1.0, header=header), reply("after the wait"))  # type: ignore[arg-type]

    result = await chain.chat(ask())

    assert result.text == "after the wait"
    first, second = llm_server.chat_requests
    assert second.received_at - first.received_at >= 1.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failure", [server_error, overloaded], ids=["500", "529"])
async def test_server_error_then_success(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, failure: object
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(failure(), reply("recovered"))  # type: ignore[operator]

    assert (await chain.chat(ask())).text == "recovered"
    assert len(llm_server.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_hung_response_is_a_timeout(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind, timeout_s=0.3, max_retries=0)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(hang())

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask())

    assert caught.value.kind is ErrorKind.TIMEOUT


@pytest.mark.parametrize("kind", KINDS)
async def test_overall_deadline_stops_a_hung_call(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind, timeout_s=60)], deadline_s=0.3)
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(hang())

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask())

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert len(llm_server.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_malformed_body_is_classified(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, stream: bool
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(malformed())

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask(), Collector() if stream else None)

    assert caught.value.kind is ErrorKind.MALFORMED
    assert len(llm_server.chat_requests) == 1  # not retried: asking again would get the same


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_is_auth_and_not_retried(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(unauthorized(), reply("never reached"))

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask())

    assert caught.value.kind is ErrorKind.AUTH
    assert len(llm_server.chat_requests) == 1
    assert "Incorrect API key" not in friendly_message(caught.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_quota_is_not_retried_and_fails_over(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    configs = [config_for(llm_server, kind, name="primary"), config_for(llm_server, kind, name="backup")]
    registry = await make_registry(configs)
    chain = registry.build_chain(
        [
            ModelRef(provider="primary", model="big"),
            ModelRef(provider="backup", model="small"),
        ]
    )
    llm_server.script(insufficient_quota(), reply("from the backup"))

    result = await chain.chat(ask())

    assert (result.text, result.provider, result.model) == ("from the backup", "backup", "small")
    assert [r.model for r in llm_server.chat_requests] == ["big", "small"]


async def test_fails_over_across_provider_kinds_after_retries(
    llm_server: LLMServer, make_registry: MakeRegistry
) -> None:
    configs = [config_for(llm_server, "openai", max_retries=1), config_for(llm_server, "anthropic")]
    registry = await make_registry(configs)
    chain = registry.build_chain(
        [
            ModelRef(provider="openai", model="gpt-x"),
            ModelRef(provider="anthropic", model="claude-x"),
        ]
    )
    llm_server.script(server_error(), server_error(), reply("claude here"))

    result = await chain.chat(ask())

    assert (result.text, result.provider) == ("claude here", "anthropic")
    assert [r.api for r in llm_server.chat_requests] == ["openai", "openai", "anthropic"]


@pytest.mark.parametrize("kind", KINDS)
async def test_context_too_long_is_bad_request_and_fails_over(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    configs = [config_for(llm_server, kind, name="small"), config_for(llm_server, kind, name="large")]
    registry = await make_registry(configs)
    chain = registry.build_chain(
        [ModelRef(provider="small", model="s"), ModelRef(provider="large", model="l")]
    )
    llm_server.script(context_too_long(), reply("fits here"))

    assert (await chain.chat(ask())).text == "fits here"
    assert len(llm_server.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_no_retry_or_failover_after_text_was_streamed(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    configs = [config_for(llm_server, kind, name="primary"), config_for(llm_server, kind, name="backup")]
    registry = await make_registry(configs)
    chain = registry.build_chain(
        [ModelRef(provider="primary", model="a"), ModelRef(provider="backup", model="b")]
    )
    llm_server.script(drop_mid_stream("Once ", "upon "), reply("a different answer"))
    collector = Collector()

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask(), collector)

    assert collector.text == "Once upon "
    assert caught.value.kind is ErrorKind.CONNECTION
    assert len(llm_server.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_that_ends_without_finishing_is_an_error(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(end_stream_early("I was about to "), reply("never asked"))
    collector = Collector()

    with pytest.raises(ProviderError) as caught:
        await chain.chat(ask(), collector)

    assert caught.value.kind is ErrorKind.MALFORMED
    assert collector.text == "I was about to "
    assert len(llm_server.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_dropped_connection_before_any_text_is_retried(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(drop_mid_stream(), reply("second try"))

    assert (await chain.chat(ask())).text == "second try"  # not streaming: nothing was shown yet


async def test_images_are_sent_as_data_url_parts_to_openai(
    llm_server: LLMServer, make_registry: MakeRegistry
) -> None:
    registry = await make_registry([config_for(llm_server, "openai")])
    chain = registry.build_chain([ModelRef(provider="openai", model="m")])
    png = b"\x89PNG fake bytes"

    await chain.chat(ask("what is this?", images=(Image(content_type="image/png", data=png),)))

    content = llm_server.chat_requests[-1].messages[-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()


async def test_images_are_sent_as_base64_blocks_to_anthropic(
    llm_server: LLMServer, make_registry: MakeRegistry
) -> None:
    registry = await make_registry([config_for(llm_server, "anthropic")])
    chain = registry.build_chain([ModelRef(provider="anthropic", model="m")])
    jpeg = b"\xff\xd8 fake jpeg"

    await chain.chat(ask("and this?", images=(Image(content_type="image/jpeg", data=jpeg),)))

    content = llm_server.chat_requests[-1].messages[-1]["content"]
    assert content[0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": base64.b64encode(jpeg).decode()},
    }
    assert content[1] == {"type": "text", "text": "and this?"}


async def test_openai_sdk_env_vars_are_honoured(
    llm_server: LLMServer, make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    registry = await make_registry([ProviderConfig(name="openai", kind="openai")])

    result = await registry.build_chain([ModelRef(provider="openai", model="m")]).chat(ask("ping"))

    assert result.text == "You said: ping"
    assert llm_server.chat_requests[-1].headers["authorization"] == "Bearer sk-from-env"


async def test_anthropic_sdk_env_vars_are_honoured(
    llm_server: LLMServer, make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", llm_server.anthropic_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    registry = await make_registry([ProviderConfig(name="anthropic", kind="anthropic")])

    result = await registry.build_chain([ModelRef(provider="anthropic", model="m")]).chat(ask("ping"))

    assert result.text == "You said: ping"
    # anthropic 2.x sends the key as a bearer token (1.x used x-api-key)
    headers = llm_server.chat_requests[-1].headers
    assert "sk-ant-from-env" in (
        headers.get("x-api-key", ""),
        headers.get("authorization", "").removeprefix("Bearer "),
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_missing_key_is_auth_without_a_request(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", llm_server.anthropic_base_url)
    registry = await make_registry([ProviderConfig(name=kind, kind=kind)])

    with pytest.raises(ProviderError) as caught:
        await registry.build_chain([ModelRef(provider=kind, model="m")]).chat(ask())

    assert caught.value.kind is ErrorKind.AUTH
    assert "API_KEY" in str(caught.value)
    assert llm_server.chat_requests == []


async def test_local_openai_compatible_server_needs_no_key(
    llm_server: LLMServer, make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = ProviderConfig(name="ollama", kind="openai", base_url=llm_server.openai_base_url)
    registry = await make_registry([config])

    result = await registry.build_chain([ModelRef(provider="ollama", model="llama3")]).chat(ask("hi"))

    assert result.text == "You said: hi"
    assert llm_server.chat_requests[-1].json["max_tokens"] == 64  # compat servers know max_tokens


# The httpx2 transport (http_transport="httpx") maps transport failures differently: check the
# behaviours that depend on that mapping on both transports.
TRANSPORTS = ["aiohttp", "httpx"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_transport_failures_classified_alike(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind, transport: str
) -> None:
    registry = await make_registry(
        [config_for(llm_server, kind, timeout_s=0.3, max_retries=0, http_transport=transport)]
    )
    chain = registry.build_chain([ModelRef(provider=kind, model="m")])
    llm_server.script(hang(), drop_mid_stream("Hi "), reply("streamed fine"))

    with pytest.raises(ProviderError) as hung:
        await chain.chat(ask())
    with pytest.raises(ProviderError) as dropped:
        await chain.chat(ask(), Collector())
    collector = Collector()
    result = await chain.chat(ask(), collector)

    assert hung.value.kind is ErrorKind.TIMEOUT
    assert dropped.value.kind is ErrorKind.CONNECTION
    assert collector.text == result.text == "streamed fine"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refused_connection_is_a_connection_error(
    make_registry: MakeRegistry, kind: ProviderKind, transport: str
) -> None:
    unreachable = "http://127.0.0.1:9/v1" if kind == "openai" else "http://127.0.0.1:9"
    config = ProviderConfig.model_validate(
        {
            "name": kind,
            "kind": kind,
            "base_url": unreachable,
            "api_key": "k",
            "max_retries": 0,
            "http_transport": transport,
        }
    )
    registry = await make_registry([config])

    with pytest.raises(ProviderError) as caught:
        await registry.build_chain([ModelRef(provider=kind, model="m")]).chat(ask())

    assert caught.value.kind is ErrorKind.CONNECTION


async def test_openai_json_mode_and_token_limit_parameter_on_the_wire(
    llm_server: LLMServer, make_registry: MakeRegistry
) -> None:
    config = config_for(llm_server, "openai", max_tokens_param="max_completion_tokens")
    registry = await make_registry([config])
    request = ChatRequest(
        model="m",
        system="Answer in JSON.",
        messages=(ChatMessage(role="user", content="facts?"),),
        max_tokens=99,
        temperature=0.2,
        json_mode=True,
    )

    await registry.build_chain([ModelRef(provider="openai", model="m")]).chat(request)

    sent = llm_server.chat_requests[-1].json
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["max_completion_tokens"] == 99
    assert "max_tokens" not in sent
    assert sent["temperature"] == 0.2
    assert sent["messages"][0] == {"role": "system", "content": "Answer in JSON."}
