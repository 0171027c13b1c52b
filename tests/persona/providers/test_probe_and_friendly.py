"""`familiar doctor`'s probe and the user-facing failure lines."""

from __future__ import annotations

import pytest

from persona.providers.base import ErrorKind, ProviderError
from persona.providers.config import ProviderConfig, ProviderKind
from persona.providers.friendly import friendly_message
from persona.providers.probe import probe
from tests.persona.providers.conftest import MakeRegistry, config_for
from tests.support.llm_server import LLMServer, fail, unauthorized

KINDS: list[ProviderKind] = ["openai", "anthropic"]


@pytest.mark.parametrize("kind", KINDS)
async def test_probe_passes_when_the_model_is_served(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    assert await probe(registry.get(kind), "test-model") is None
    assert llm_server.requests[-1].path == "/v1/models"


@pytest.mark.parametrize("kind", KINDS)
async def test_probe_names_a_model_that_is_not_served(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    hint = await probe(registry.get(kind), "gpt-9")
    assert hint is not None
    assert "'gpt-9' is not served" in hint
    assert "test-model" in hint


@pytest.mark.parametrize("kind", KINDS)
async def test_probe_says_to_fix_the_key(
    llm_server: LLMServer, make_registry: MakeRegistry, kind: ProviderKind
) -> None:
    registry = await make_registry([config_for(llm_server, kind)])
    llm_server.script(unauthorized(), endpoint="models")
    hint = await probe(registry.get(kind))
    assert hint is not None
    assert "API key" in hint


async def test_probe_points_at_base_url_on_404(llm_server: LLMServer, make_registry: MakeRegistry) -> None:
    registry = await make_registry([config_for(llm_server, "openai")])
    llm_server.script(fail(404, "not found"), endpoint="models")
    hint = await probe(registry.get("openai"))
    assert hint is not None
    assert "base_url" in hint


@pytest.mark.parametrize("kind", KINDS)
async def test_probe_reports_an_unreachable_server(make_registry: MakeRegistry, kind: ProviderKind) -> None:
    unreachable = "http://127.0.0.1:9/v1" if kind == "openai" else "http://127.0.0.1:9"
    config = ProviderConfig(name=kind, kind=kind, base_url=unreachable, api_key="k")  # type: ignore[arg-type]
    registry = await make_registry([config])
    hint = await probe(registry.get(kind))
    assert hint is not None
    assert "cannot connect" in hint


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_failure_has_one_short_friendly_line(kind: ErrorKind) -> None:
    error = ProviderError(kind, '{"error": {"message": "raw provider body"}}', provider="openai")
    message = friendly_message(error)
    assert message
    assert "\n" not in message
    assert len(message) < 160
    assert "raw provider body" not in message
    assert "openai" not in message.lower() or kind is ErrorKind.AUTH
