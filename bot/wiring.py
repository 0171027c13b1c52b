"""Builds the engine: providers, personas, post-turn learning, the journal scheduler."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from bot.config import Settings
from bot.stores import OpenedStores
from bot.tools import open_tools
from persona.bindings import PersonaBindings
from persona.engine import PersonaEngine, utc_now
from persona.learning.facts import FactLearner
from persona.learning.journal import Journaler, Reflector
from persona.learning.scheduler import JournalScheduler
from persona.memory_links import MemoryPageLinks
from persona.observation import TurnObserver
from persona.personas import PersonaCatalog, PersonaSpec, load_catalog
from persona.providers.base import LLMProvider
from persona.providers.config import (
    ProviderConfig,
    ProviderRegistry,
    default_provider_configs,
    named_configs,
)
from persona.tools.registry import ToolRegistry
from persona.usage import UsageRecorder


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltEngine:
    engine: PersonaEngine
    registry: ProviderRegistry
    catalog: PersonaCatalog
    scheduler: JournalScheduler
    bindings: PersonaBindings
    tools: ToolRegistry  # the reminder tools join it once the assistant's book exists


def provider_configs(settings: Settings) -> list[ProviderConfig]:
    """The "openai" and "anthropic" defaults (fed from OPENAI_* / ANTHROPIC_* settings, which may
    come from .env where the SDKs do not look), overridden or extended by configured providers."""
    defaults = default_provider_configs(
        openai_api_key=settings.openai_api_key,
        openai_base_url=settings.openai_base_url,
        anthropic_api_key=settings.anthropic_api_key,
        anthropic_base_url=settings.anthropic_base_url,
    )
    merged = {config.name: config for config in defaults}
    merged.update({config.name: config for config in named_configs(settings.providers)})
    return list(merged.values())


def provider_is_configured(config: ProviderConfig) -> bool:
    """A key, or a base URL (local servers such as Ollama need no key)."""
    return config.api_key is not None or config.base_url is not None


class _Chains:
    """One long-lived chain per persona, built on first use."""

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry
        self._chains: dict[str, LLMProvider] = {}

    def __call__(self, persona: PersonaSpec) -> LLMProvider:
        key = f"{persona.name}\x1f{persona.model}"  # a room's model binding gets its own chain
        chain = self._chains.get(key)
        if chain is None:
            chain = self._registry.build_chain([persona.model_ref, *persona.fallbacks])
            self._chains[key] = chain
        return chain


async def build_engine(
    settings: Settings,
    opened: OpenedStores,
    stack: AsyncExitStack,
    *,
    observer: TurnObserver | None = None,
    memory_links: MemoryPageLinks | None = None,
) -> BuiltEngine:
    extra_dirs = [settings.persona_dir] if settings.persona_dir else []
    catalog = await load_catalog(extra_dirs, default=settings.persona)
    registry = ProviderRegistry.from_settings(provider_configs(settings), settings.llm)
    await registry.start()
    stack.push_async_callback(registry.close)

    chains = _Chains(registry)
    default = catalog.get(None)
    learning = settings.learning
    # A chain sends each request to its own entries' models, so a learning model has to be in a
    # chain of its own (on the default persona's provider, with its fallbacks), not in the request.
    learner = default if learning.model is None else default.model_copy(update={"model": learning.model})
    learning_provider = chains(learner)
    journaler = Journaler(
        provider=learning_provider,
        store=opened.journal,
        files=opened.journal_files,
        model=default.model,
        settings=learning,
        clock=utc_now,
        drafts=opened.journal.drafts,  # pending conversations survive a restart
    )
    reflector = Reflector(
        provider=learning_provider,
        store=opened.journal,
        reader=opened.journal,
        files=opened.journal_files,
        model=default.model,
        settings=learning,
        clock=utc_now,
        personas=catalog.names(),
    )
    facts = FactLearner(
        provider=learning_provider,
        facts=opened.stores.facts,
        model=default.model,
        settings=learning,
        clock=utc_now,
        memory=opened.stores.memory,
        usage=UsageRecorder(opened.stores.limits, utc_now),
    )
    tools = await open_tools(settings, opened.stores, stack)
    bindings = PersonaBindings(settings.data_dir / "persona-bindings.json")
    engine = PersonaEngine(
        stores=opened.stores,
        catalog=catalog,
        provider_for=chains,
        settings=settings.engine,
        hooks=(facts, journaler),
        bindings=bindings,
        tools=tools,
        observer=observer,
        memory_links=memory_links,
    )
    await engine.start()
    stack.push_async_callback(engine.close)
    scheduler = JournalScheduler(journaler=journaler, reflector=reflector, settings=learning, clock=utc_now)
    await scheduler.start()
    # Closed before the engine (exit stack order): no journal writing races the final drain.
    stack.push_async_callback(scheduler.close)
    return BuiltEngine(
        engine=engine, registry=registry, catalog=catalog, scheduler=scheduler, bindings=bindings, tools=tools
    )
