"""Fixtures for provider tests: the wire-level LLM server and registries pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from persona.providers.chain import UsageCounters
from persona.providers.config import ProviderConfig, ProviderKind, ProviderRegistry
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

MakeRegistry = Callable[..., Awaitable[ProviderRegistry]]


def config_for(
    server: LLMServer, kind: ProviderKind, name: str | None = None, **overrides: object
) -> ProviderConfig:
    base_url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    values: dict[str, object] = {
        "name": name or kind,
        "kind": kind,
        "base_url": base_url,
        "api_key": "test-key",
        "timeout_s": 5.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 3.0,
    }
    values.update(overrides)
    return ProviderConfig.model_validate(values)


@pytest.fixture
async def make_registry() -> AsyncIterator[MakeRegistry]:
    """Build started registries; all closed at teardown."""
    registries: list[ProviderRegistry] = []

    async def make(
        configs: Sequence[ProviderConfig],
        *,
        deadline_s: float | None = 30.0,
        usage: UsageCounters | None = None,
    ) -> ProviderRegistry:
        registry = ProviderRegistry(configs, deadline_s=deadline_s, on_usage=usage)
        await registry.start()
        registries.append(registry)
        return registry

    yield make
    for registry in registries:
        await registry.close()
