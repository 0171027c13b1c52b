"""Provider settings: which endpoints exist and which (provider, model) a persona uses.

These are plain pydantic models; bot/ reads them from the settings tree and hands them to
`ProviderRegistry`. Nothing here reads the environment: the SDKs read their own variables
(OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) when a value is unset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from persona.providers.anthropic_provider import AnthropicProvider
from persona.providers.base import LLMProvider
from persona.providers.chain import ChainEntry, ProviderChain, RetryPolicy, UsageCallback
from persona.providers.circuit import Circuit, CircuitPolicy
from persona.providers.openai_provider import OpenAIProvider
from persona.providers.tokens import TokenCounter

_log = logging.getLogger(__name__)

ProviderKind = Literal["openai", "anthropic"]


class ProviderConfig(BaseModel):
    """One endpoint. `base_url`/`api_key` unset -> the SDK's env vars, then its default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""  # may be left empty in a mapping keyed by name: see `named_configs`
    kind: ProviderKind
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)  # per read: a stalled stream fails after this
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)  # our retries (the SDK's own are off)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=20.0, ge=0)  # also caps a server's Retry-After
    extra_headers: dict[str, str] = Field(default_factory=dict)
    # OpenAI's own API wants max_completion_tokens (reasoning models reject max_tokens); most
    # compatible servers (Ollama, vLLM, llama.cpp, OpenRouter) know only max_tokens.
    max_tokens_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    # The SDKs' aiohttp transport costs about half the client CPU per call of their default
    # httpx2 one under many concurrent calls (measured: see docs); "httpx" honours HTTP(S)_PROXY.
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"


class ChainSettings(BaseModel):
    """How long a call may take and when a failing provider is left alone (`FAMILIAR_LLM__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deadline_s: float = Field(default=120.0, gt=0)  # a whole call, streaming included
    # A reply with no text by then fails with one friendly line (typing is shown meanwhile).
    first_token_s: float = Field(default=30.0, gt=0)
    circuit_failures: int = Field(default=3, ge=1)  # consecutive failed attempts that open it
    circuit_cooldown_s: float = Field(default=30.0, ge=0)  # background calls wait this long

    @property
    def circuit(self) -> CircuitPolicy:
        return CircuitPolicy(failures=self.circuit_failures, cooldown_s=self.circuit_cooldown_s)


class ModelRef(BaseModel):
    """A persona's choice: the provider's configured `name` and the model id it serves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)


def default_provider_configs(
    *,
    openai_api_key: SecretStr | None = None,
    openai_base_url: str | None = None,
    anthropic_api_key: SecretStr | None = None,
    anthropic_base_url: str | None = None,
) -> tuple[ProviderConfig, ...]:
    """Used when none are configured: "openai" and "anthropic". Values left None fall back to the
    SDKs' env vars; pass them when they were read from somewhere the SDK does not look (a .env)."""
    return (
        ProviderConfig(name="openai", kind="openai", api_key=openai_api_key, base_url=openai_base_url),
        ProviderConfig(
            name="anthropic", kind="anthropic", api_key=anthropic_api_key, base_url=anthropic_base_url
        ),
    )


def named_configs(mapping: Mapping[str, ProviderConfig]) -> tuple[ProviderConfig, ...]:
    """Configs from a mapping keyed by provider name (as in a settings file); an empty `name`
    takes its key, a different one is an error."""
    configs = []
    for key, config in mapping.items():
        if config.name and config.name != key:
            raise ValueError(f"provider {key!r} has a different name inside: {config.name!r}")
        configs.append(config if config.name else config.model_copy(update={"name": key}))
    return tuple(configs)


class ProviderRegistry:
    """Builds each configured provider once, hands out chains over them, closes them at shutdown.

    With no configs, `default_provider_configs()` is used: "openai" and "anthropic".
    """

    def __init__(
        self,
        configs: Sequence[ProviderConfig] = (),
        *,
        deadline_s: float | None = 120.0,
        first_token_s: float | None = None,
        circuit: CircuitPolicy | None = None,
        on_usage: UsageCallback | None = None,
    ) -> None:
        configs = tuple(configs) or default_provider_configs()
        names = [config.name for config in configs]
        if not all(names):
            raise ValueError("every provider needs a name (see named_configs for a mapping by name)")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"provider names must be unique; repeated: {', '.join(duplicates)}")
        self._configs = {config.name: config for config in configs}
        self._providers: dict[str, LLMProvider] = {}
        self._deadline_s = deadline_s
        self._first_token_s = first_token_s
        self._circuit_policy = circuit or CircuitPolicy()
        # One per (provider, model), shared by every chain: replies and learning see one state.
        self._circuits: dict[tuple[str, str], Circuit] = {}
        self._on_usage = on_usage
        self._started = False

    @classmethod
    def from_settings(
        cls,
        configs: Sequence[ProviderConfig],
        settings: ChainSettings,
        *,
        on_usage: UsageCallback | None = None,
    ) -> ProviderRegistry:
        return cls(
            configs,
            deadline_s=settings.deadline_s,
            first_token_s=settings.first_token_s,
            circuit=settings.circuit,
            on_usage=on_usage,
        )

    @property
    def configs(self) -> tuple[ProviderConfig, ...]:
        return tuple(self._configs.values())

    async def start(self) -> None:
        if self._started:
            return
        for name, config in self._configs.items():
            self._providers[name] = build_provider(config)
        self._started = True
        # The tokenizer table takes ~0.5 s of CPU to load: do it now, off the loop, not mid-turn.
        await TokenCounter(encoding="o200k_base").load()

    def get(self, name: str) -> LLMProvider:
        if not self._started:
            raise RuntimeError("ProviderRegistry.start() has not been called")
        try:
            return self._providers[name]
        except KeyError:
            known = ", ".join(sorted(self._providers)) or "none"
            raise KeyError(f"unknown provider {name!r} (configured: {known})") from None

    def build_chain(self, refs: Sequence[ModelRef]) -> ProviderChain:
        """A chain over `refs`, in order, each entry with its provider's retry settings."""
        entries = [
            ChainEntry(
                provider=self.get(ref.provider),
                model=ref.model,
                retry=_retry_policy(self._configs[ref.provider]),
                circuit=self.circuit(ref),
            )
            for ref in refs
        ]
        return ProviderChain(
            entries, deadline_s=self._deadline_s, first_token_s=self._first_token_s, on_usage=self._on_usage
        )

    def circuit(self, ref: ModelRef) -> Circuit:
        key = (ref.provider, ref.model)
        found = self._circuits.get(key)
        if found is None:
            found = self._circuits[key] = Circuit(self._circuit_policy)
        return found

    async def close(self) -> None:
        providers, self._providers = self._providers, {}
        self._started = False
        for name, provider in reversed(providers.items()):
            try:
                await provider.close()
            except Exception:
                # One failing close must not keep the others open.
                _log.exception("closing provider %s failed", name)


def build_provider(config: ProviderConfig) -> LLMProvider:
    if config.kind == "anthropic":
        return AnthropicProvider(config)
    return OpenAIProvider(config)


def _retry_policy(config: ProviderConfig) -> RetryPolicy:
    return RetryPolicy(
        max_retries=config.max_retries,
        backoff_base_s=config.backoff_base_s,
        backoff_max_s=config.backoff_max_s,
    )
