"""ProviderRegistry: one client per configured provider, chains over them, clean shutdown."""

from __future__ import annotations

import pytest

from persona.providers.config import ModelRef, ProviderConfig, ProviderRegistry, named_configs
from tests.persona.providers.conftest import config_for
from tests.support.llm_server import LLMServer


async def test_defaults_are_openai_and_anthropic() -> None:
    registry = ProviderRegistry()
    assert [(c.name, c.kind) for c in registry.configs] == [("openai", "openai"), ("anthropic", "anthropic")]


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        ProviderRegistry(
            [ProviderConfig(name="a", kind="openai"), ProviderConfig(name="a", kind="anthropic")]
        )


async def test_unknown_provider_names_the_configured_ones(llm_server: LLMServer) -> None:
    registry = ProviderRegistry([config_for(llm_server, "openai", name="local")])
    await registry.start()
    try:
        with pytest.raises(KeyError, match="configured: local"):
            registry.build_chain([ModelRef(provider="nope", model="m")])
    finally:
        await registry.close()


async def test_one_provider_serves_many_chains_and_close_is_idempotent(llm_server: LLMServer) -> None:
    registry = ProviderRegistry([config_for(llm_server, "openai")])
    with pytest.raises(RuntimeError, match="start"):
        registry.get("openai")
    await registry.start()
    first = registry.build_chain([ModelRef(provider="openai", model="a")])
    second = registry.build_chain([ModelRef(provider="openai", model="b")])
    assert first.entries[0].provider is second.entries[0].provider
    await registry.close()
    await registry.close()


def test_config_rejects_unknown_keys_and_keeps_the_key_secret() -> None:
    config = ProviderConfig(name="x", kind="openai", api_key="sk-secret-value")  # type: ignore[arg-type]
    assert "sk-secret-value" not in repr(config)
    with pytest.raises(ValueError, match="extra"):
        ProviderConfig.model_validate({"name": "x", "kind": "openai", "api_kye": "typo"})


def test_configs_keyed_by_name_take_their_key() -> None:
    configs = named_configs({"openrouter": ProviderConfig(kind="openai", base_url="http://x/v1")})
    assert [c.name for c in configs] == ["openrouter"]
    with pytest.raises(ValueError, match="different name"):
        named_configs({"a": ProviderConfig(name="b", kind="openai")})
    with pytest.raises(ValueError, match="needs a name"):
        ProviderRegistry([ProviderConfig(kind="openai")])
