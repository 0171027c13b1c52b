"""Application lifecycle: open everything in one exit stack, run the adapters, close in reverse.

Shutdown order (reverse of opening): adapters stop taking messages, the journal scheduler stops,
the engine finishes running turns and drains its post-turn queue (within its timeout; the rest stays
in the outbox and runs after the next start), providers close, stores close.
Each close is registered as soon as its resource is open, so a failure halfway through start-up
still closes what was opened; AsyncExitStack runs every callback even when one raises.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from datetime import datetime

from adapters.base import Adapter, AdapterSetupError
from bot.assistant import Assistant, build_assistant
from bot.config import Settings
from bot.roles import Heartbeat, Role, check_role, runs_gateways, runs_worker
from bot.stores import OpenedStores, open_stores
from bot.web import start_web, web_parts
from bot.wiring import BuiltEngine, build_engine
from memory.redis.roles import RedisHeartbeats
from persona.engine import utc_now
from web.server import WebServer

_log = logging.getLogger(__name__)


class AdapterFailed(RuntimeError):
    """An adapter stopped with an error it could not recover from (bad token, missing intent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartPolicy:
    """Capped exponential backoff between runs of a failing adapter."""

    initial_s: float = 1.0
    max_s: float = 60.0
    healthy_s: float = 300.0  # a run that lasted this long failed afresh: start the backoff over


async def supervise(
    adapters: Sequence[Adapter],
    *,
    policy: RestartPolicy = RestartPolicy(),
    restarts: Counter[str] | None = None,
    states: dict[str, str] | None = None,
) -> None:
    """Run every adapter as a named task; when one ends, or fails for a setup error, stop the others.

    Any other failure of an adapter (a malformed gateway frame, a bug in a handler) restarts that
    adapter alone, with backoff, logged and counted in `restarts` by adapter name: one platform's
    trouble never stops the bot. The terminal adapter ends when the user leaves; a server adapter
    only ends on a setup error, since transient platform failures are retried inside it.
    """
    counts: Counter[str] = Counter() if restarts is None else restarts
    seen: dict[str, str] = {} if states is None else states
    tasks = [
        asyncio.create_task(_keep_running(a, policy, counts, seen), name=f"adapter-{a.name}")
        for a in adapters
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for adapter in adapters:
            await adapter.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            raise AdapterFailed(f"{task.get_name()}: {exc}") from exc


async def _keep_running(
    adapter: Adapter, policy: RestartPolicy, restarts: Counter[str], states: dict[str, str]
) -> None:
    loop = asyncio.get_running_loop()
    delay = policy.initial_s
    while True:
        started = loop.time()
        states[adapter.name] = "running"  # what /readyz and the health page show
        try:
            await adapter.run()
            states[adapter.name] = "stopped"
            return
        except AdapterSetupError:
            states[adapter.name] = "stopped"
            raise
        except Exception:
            states[adapter.name] = "restarting"
            if loop.time() - started >= policy.healthy_s:
                delay = policy.initial_s
            restarts[adapter.name] += 1
            _log.exception(
                "adapter %s failed; restarting it in %.1fs (restart %d)",
                adapter.name,
                delay,
                restarts[adapter.name],
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, policy.max_s)


def _install_signal_handlers() -> None:
    """SIGTERM stops like Ctrl-C does: the main task is cancelled and everything is closed."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is None:
        return
    with suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, main.cancel)


class App:
    """`async with App(settings) as app:` opens stores, providers and the engine."""

    def __init__(
        self,
        settings: Settings,
        *,
        role: Role = "all",
        detail: str = "",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        check_role(role, settings.redis_url)  # RoleError: a split role needs the shared queue
        self.settings = settings
        self.role: Role = role
        self._detail = detail  # shown by `familiar doctor` next to the role (e.g. the shards)
        self._clock = clock  # what reminders and check-ins take as "now" (tests move it)
        self.opened: OpenedStores | None = None
        self._stack = AsyncExitStack()
        self._built: BuiltEngine | None = None
        self._assistant: Assistant | None = None
        self.adapter_restarts: Counter[str] = Counter()  # by adapter name
        self.adapter_states: dict[str, str] = {}  # by adapter name: running, restarting, stopped
        self.web: WebServer | None = None  # when FAMILIAR_WEB__* is set

    @property
    def built(self) -> BuiltEngine:
        if self._built is None:
            raise RuntimeError("App is not open")
        return self._built

    async def __aenter__(self) -> App:
        try:
            opened = await open_stores(self.settings, self._stack)
            self.opened = opened
            parts = web_parts(self.settings.web)
            self._built = await build_engine(
                self.settings,
                opened,
                self._stack,
                self.role,
                observer=parts.metrics if parts else None,
                memory_links=parts.links if parts else None,
            )
            self._assistant = await build_assistant(
                self.settings, opened, self._built, self._stack, clock=self._clock
            )
            await self._start_heartbeat(opened)
            if parts is not None:  # after the engine, so it stops taking requests before the engine closes
                self.web = await start_web(parts, opened, self._built, self.adapter_states, self._stack)
        except BaseException:
            await self._stack.aclose()
            raise
        # Start-up leaves ~1M long-lived objects (SDKs, Chroma, the tokenizer tables); a full
        # collection walking them paused the loop for ~125 ms. Freezing moves them out of the
        # collector's generations, so turn-time collections only see turn-time garbage.
        gc.collect()
        gc.freeze()
        return self

    async def _start_heartbeat(self, opened: OpenedStores) -> None:
        if opened.redis is None:
            return
        roles = [name for name, on in (("gateway", runs_gateways), ("worker", runs_worker)) if on(self.role)]
        beat = Heartbeat(RedisHeartbeats(opened.redis), roles, self._detail)
        await beat.start()
        self._stack.push_async_callback(beat.close)

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def assistant(self) -> Assistant:
        """Reminders, check-ins and voice choices; their schedulers run inside `run`."""
        if self._assistant is None:
            raise RuntimeError("App is not open")
        return self._assistant

    async def aclose(self) -> None:
        self._built = None
        self._assistant = None
        self.web = None
        await self._stack.aclose()

    async def wait_stopped(self) -> None:
        """A process without adapters (the worker role) runs until SIGINT or SIGTERM."""
        _install_signal_handlers()
        await asyncio.Event().wait()

    async def run(self, adapters: Sequence[Adapter]) -> None:
        _install_signal_handlers()
        async with self.assistant.running(adapters):
            await supervise(adapters, restarts=self.adapter_restarts, states=self.adapter_states)
