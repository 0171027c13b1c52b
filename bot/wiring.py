"""Builds the engine: providers, personas, post-turn learning, the journal scheduler."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from bot.config import Settings
from bot.roles import Role, process_name, runs_worker
from bot.stores import OpenedStores
from bot.tools import open_tools
from memory.redis.roles import RedisLeaderLease
from persona.bindings import PersonaBindings
from persona.engine import PersonaEngine, utc_now
from persona.learning.facts import FactLearner
from persona.learning.journal import Journaler, Reflector
from persona.learning.scheduler import JournalScheduler
from persona.memory_links import MemoryPageLinks
from persona.observation import TurnObserver
from persona.personas import PersonaCatalog, PersonaSpec, load_catalog
from persona.post_turn import TurnJobs
from persona.providers.base import LLMProvider
from persona.providers.config import (
    ProviderConfig,
    ProviderRegistry,
    default_provider_configs,
    named_configs,
)
from persona.queue_worker import QueueWorker
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
    worker: QueueWorker | None = None  # runs the shared queue's jobs here (REDIS_URL, worker role)


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


JOURNAL_LEASE_S = 15.0  # a dead journal leader is replaced within this long


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
    role: Role = "all",
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
        run_post_turn=opened.queue is None,  # with the shared queue, workers run it
    )
    await engine.start()
    stack.push_async_callback(engine.close)
    hooks = (facts, journaler)
    worker = await _start_worker(settings, opened, stack, TurnJobs(stores=opened.stores, hooks=hooks), role)
    scheduler = _scheduler(settings, opened, journaler, reflector)
    if runs_worker(role):
        await scheduler.start()
        # Closed before the engine (exit stack order): no journal writing races the final drain.
        stack.push_async_callback(scheduler.close)
    return BuiltEngine(
        engine=engine,
        registry=registry,
        catalog=catalog,
        scheduler=scheduler,
        bindings=bindings,
        tools=tools,
        worker=worker,
    )


def _scheduler(
    settings: Settings, opened: OpenedStores, journaler: Journaler, reflector: Reflector
) -> JournalScheduler:
    """With Redis, several processes may run it: one leader lease decides who writes."""
    lease = None
    if opened.redis is not None:
        lease = RedisLeaderLease(opened.redis, name="journal", holder=process_name(), ttl_s=JOURNAL_LEASE_S)
    return JournalScheduler(
        journaler=journaler,
        reflector=reflector,
        settings=settings.learning,
        clock=utc_now,
        lease=lease,
        lease_renew_s=JOURNAL_LEASE_S / 3,
    )


async def _start_worker(
    settings: Settings, opened: OpenedStores, stack: AsyncExitStack, jobs: TurnJobs, role: Role
) -> QueueWorker | None:
    if opened.queue is None or not runs_worker(role):
        return None
    worker = QueueWorker(
        leases=opened.queue,
        tombstones=opened.queue,
        execute=jobs.execute,
        forget_again=jobs.forget_again,
        settings=settings.engine.jobs,
        name=process_name(),
        lease_s=settings.engine.jobs.lease_s,
    )
    await worker.start()
    stack.push_async_callback(worker.close, settings.engine.jobs.drain_timeout_s)
    return worker
