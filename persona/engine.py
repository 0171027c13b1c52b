"""The persona engine: one turn end to end, from an incoming message to a delivered reply.

admit(): claim the event in progress under a renewed lease (persistent, keyed by platform +
event id) -> rate limit and daily quota; the adapter does its expensive work only then.
submit(): the session's turn slot (one turn at a time, mid-turn messages merged) and its
cross-process lock -> gather context concurrently under per-source deadlines -> assemble the
prompt -> exactly ONE streaming LLM call (a few more, bounded, only when the persona's tools are
called: `persona.tools.loop`) -> commit the turn's history together with its
post-turn work (the outbox) -> deliver -> mark the event answered; the post-turn work
(long-term memory, each PostTurnHook) then runs from the outbox on the supervised background
queue. Provider and store failures never raise out of `admit` or `submit`; a store outage is
logged and counted once and the turn answers from what is reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from memory.base import Claim, Stores
from memory.records import Turn
from persona.api import Admission, Command, CommandName, CommandResult
from persona.bindings import PersonaBindings
from persona.claims import ClaimSettings, EventClaims
from persona.commands import CommandRunner, Forgetter
from persona.commands import Handler as CommandHandler
from persona.gather import ConstraintMemo, GatherRequest, gather_context
from persona.hooks import CompletedTurn, PostTurnHook, ToolRecord
from persona.jobs import Job, JobQueue
from persona.memory_links import MemoryPageLinks
from persona.observation import NoObserver, TurnObserver
from persona.outages import Outages
from persona.outbox import PostTurnWork
from persona.personas import PersonaCatalog, PersonaSpec
from persona.post_turn import TurnJobs
from persona.prompt import build_prompt
from persona.providers.base import ChatRequest, ChatResult, LLMProvider, ProviderError
from persona.providers.friendly import friendly_message, interrupted_message
from persona.resumed import committed_turn
from persona.sessions import Pending, SessionSlots
from persona.settings import EngineSettings
from persona.storing import history_turns, message_text, message_turn
from persona.tools.base import ToolContext
from persona.tools.loop import ToolLoop
from persona.tools.registry import ToolRegistry
from persona.types import IncomingMessage, Reply, ReplySink, TurnOutcome
from persona.usage import usage_key

_log = logging.getLogger(__name__)

ProviderFactory = Callable[[PersonaSpec], LLMProvider]
"""Returns the (shared, long-lived) provider chain for a persona; owned by the composition root."""

RATE_LIMIT_LINE = "You're sending messages faster than I can answer. Give me {seconds} seconds, please."
QUOTA_LINE = "You've used up today's conversation budget with me. Let's talk again tomorrow!"
EMPTY_REPLY_LINE = "I couldn't come up with an answer to that. Could you try again?"
TIMEOUT_LINE = "Sorry, that took me far too long and I gave up. Could you ask again?"
ERROR_LINE = "Sorry, something went wrong on my side with that one. Could you ask again?"


def utc_now() -> datetime:
    return datetime.now(UTC)


class PersonaEngine:
    """Implements `persona.api.Engine`. Constructing does no I/O; `start()` then `close()`."""

    def __init__(
        self,
        *,
        stores: Stores,
        catalog: PersonaCatalog,
        provider_for: ProviderFactory,
        settings: EngineSettings | None = None,
        hooks: Sequence[PostTurnHook] = (),
        bindings: PersonaBindings | None = None,
        clock: Callable[[], datetime] = utc_now,
        tools: ToolRegistry | None = None,
        observer: TurnObserver | None = None,
        memory_links: MemoryPageLinks | None = None,
        run_post_turn: bool = True,  # False: a shared queue's workers run it (persona.queue_worker)
    ) -> None:
        self.settings = settings or EngineSettings()
        self._observer: TurnObserver = observer or NoObserver()
        self.stats: Counter[str] = Counter()
        self._stores = stores
        self._catalog = catalog
        self._provider_for = provider_for
        self._providers: dict[str, LLMProvider] = {}
        self._bindings = bindings or PersonaBindings()
        self._clock = clock
        self._tools = tools
        jobs = self.settings.jobs
        self._jobs = JobQueue(
            workers=jobs.workers,
            max_pending=jobs.max_pending,
            retries=jobs.retries,
            backoff_base_s=jobs.backoff_base_s,
            backoff_max_s=jobs.backoff_max_s,
            name="post-turn",
            on_failure=self._job_failed,
        )
        self._turn_jobs = TurnJobs(stores=stores, hooks=hooks)
        self._work = PostTurnWork(
            outbox=stores.outbox,
            queue=self._jobs,
            execute=self._turn_jobs.execute,
            forget_again=self._turn_jobs.forget_again,
            settings=jobs,
            run_here=run_post_turn,
        )
        self._outages = Outages(self.stats, probe_interval_s=self.settings.outage_probe_s)
        self._claims = EventClaims(stores.dedup, self._outages, _claim_settings(self.settings))
        self._sessions = SessionSlots(self._run_turn, merge_window_s=self.settings.merge_window_s)
        self._constraints = ConstraintMemo()
        self._commands = CommandRunner(
            stores=stores,
            catalog=catalog,
            bindings=self._bindings,
            settings=self.settings,
            persona_for=self.persona_for,
            clock=clock,
            memory_links=memory_links,
        )
        self._started = False
        self._closed = False

    # ---- lifecycle

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self._bindings.load()
        self._claims.start()
        self._jobs.start()
        await self._work.start()  # resumes what a kill or a stop left in the outbox

    async def close(self) -> None:
        """Finish running turns briefly, drain queued post-turn jobs, then cancel. Idempotent.

        Cancelled jobs are not lost: they stay in the outbox and run after the next start.
        """
        if self._closed:
            return
        self._closed = True
        await self._sessions.close(grace_s=self.settings.jobs.drain_timeout_s)
        await self._claims.close()  # what was not answered is released, to be answered after the restart
        await self._work.close(drain_timeout_s=self.settings.jobs.drain_timeout_s)

    @property
    def jobs(self) -> JobQueue:
        return self._jobs

    @property
    def active_sessions(self) -> int:
        return self._sessions.active

    # ---- Engine

    async def admit(self, message: IncomingMessage) -> Admission:
        persona = self.persona_for(message)
        refused = Admission(
            admitted=False, persona=persona.name, model=persona.model, session=message.session
        )
        if self._closed:  # shutting down: leave the event unclaimed so a re-delivery is answered
            return replace(refused, outcome=TurnOutcome.FAILED)
        key = _event_key(message)
        claim = await self._claims.claim(key)
        if not claim.won:
            self.stats["turns.duplicate"] += 1
            return replace(refused, outcome=TurnOutcome.DUPLICATE)
        if claim is Claim.RESUMED:
            given = await self._resumed(message, key, refused)
            if given is not None:
                return given
        limit_line = await self._limit_line(message)
        if limit_line is not None:
            self.stats["turns.limited"] += 1
            self._claims.mark_answered([key])  # the polite line is its answer
            await self._claims.settle(key, interrupted=False)
            reply = _error_reply(message, persona.name, limit_line)
            return replace(refused, outcome=TurnOutcome.LIMITED, reply=reply)
        admission = replace(refused, admitted=True)
        self._claims.keep(key, admission)
        return admission

    async def _resumed(self, message: IncomingMessage, key: str, refused: Admission) -> Admission | None:
        """A resumed event whose dead holder had committed its turn gets that committed reply
        again (see `persona.resumed`); None when it must be answered now."""
        committed = await committed_turn(self._stores.history, message)
        if committed is None:
            self.stats["turns.resumed"] += 1
            _log.info("answering %s, interrupted before its answer (a stop or a crash)", key)
            return None
        # Completed before the adapter sends it: a kill in that short send is the one window
        # left, and answering it twice would be the worse failure.
        await self._claims.settle(key, interrupted=False)
        if committed.reply is None:  # folded into a later message's turn: its reply answers it
            self.stats["turns.duplicate"] += 1
            return replace(refused, outcome=TurnOutcome.DUPLICATE)
        self.stats["turns.redelivered"] += 1
        _log.info("%s was committed before its process died; giving its reply again", key)
        reply = Reply(text=committed.reply, reply_to=message.event_id, persona=refused.persona)
        return replace(refused, outcome=TurnOutcome.ANSWERED, reply=reply)

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        key = _event_key(message)
        admission = self._claims.take(key)
        if admission is None:
            admission = await self.admit(message)
            if not admission.admitted:
                if admission.reply is not None:
                    await sink.send(admission.reply)
                return admission.outcome or TurnOutcome.FAILED
        if self._closed:  # admitted, then the engine began to close: answered after the restart
            await self._claims.settle(key, interrupted=True)
            return TurnOutcome.INTERRUPTED
        outcome = await self._sessions.submit(message, sink)
        await self._claims.settle(key, interrupted=outcome is TurnOutcome.INTERRUPTED)
        self.stats[f"turns.{outcome.value}"] += 1
        return outcome

    async def observe(self, message: IncomingMessage) -> None:
        key = f"observe:{message.platform}:{message.event_id}"
        if not message_text(message) or not (await self._claims.claim(key)).won:
            return
        turn = message_turn(message, persona=self.persona_for(message).name)
        try:
            await self._work.commit([turn], [])
        except Exception:  # an unanswered message seen in passing: losing it is logged, not raised
            self.stats["outbox.commit_error"] += 1
            _log.exception("could not store observed message %s", message.event_id)
        self._claims.mark_answered([key])
        await self._claims.settle(key, interrupted=False)

    async def command(self, command: Command) -> CommandResult:
        return await self._commands.run(command)

    def add_commands(
        self,
        handlers: Mapping[CommandName, CommandHandler],
        forgetters: Mapping[str, Forgetter] | None = None,
    ) -> None:
        """Serve commands built outside the engine (reminders, check-ins, voice); `forget` also
        clears what `forgetters` name."""
        self._commands.add(handlers, forgetters)

    def persona_for(self, message: IncomingMessage) -> PersonaSpec:
        """A run-time binding for the thread/room, else the adapter's choice, else the default."""
        bound = self._bindings.get(message.platform, message.room_id, message.thread_id)
        persona = self._catalog.get(bound or message.persona)
        if message.model and message.model != persona.model:
            # The room's model binding (adapter config) replaces the persona's primary model.
            persona = persona.model_copy(update={"model": message.model})
        return persona

    # ---- before the turn

    async def _limit_line(self, message: IncomingMessage) -> str | None:
        settings = self.settings
        if not self._outages.available("limits"):
            return None
        try:
            if settings.rate_limit_per_minute:
                decision = await self._stores.limits.hit(
                    f"rate:{message.identity}", settings.rate_limit_per_minute, 60.0
                )
                if not decision.allowed:
                    return RATE_LIMIT_LINE.format(seconds=max(1, round(decision.retry_after_s)))
            if settings.daily_token_quota:
                used = await self._stores.limits.usage(f"tokens:{message.identity}", self._day())
                if used >= settings.daily_token_quota:
                    return QUOTA_LINE
        except Exception as error:  # limits are a safeguard, not a gate that fails closed
            self._outages.failed("limits", error)
            return None
        self._outages.ok("limits")
        return None

    # ---- the turn

    async def _run_turn(self, batch: Sequence[Pending]) -> TurnOutcome:
        started = time.perf_counter()
        try:
            return await self._run_turn_guarded(batch, started)
        finally:
            self._observer.timing("turn", time.perf_counter() - started)

    async def _run_turn_guarded(self, batch: Sequence[Pending], started: float) -> TurnOutcome:
        last = batch[-1]
        try:
            async with contextlib.AsyncExitStack() as stack:
                await self._hold_session(stack, str(last.message.session))
                async with asyncio.timeout(self.settings.turn_timeout_s):
                    return await self._run_turn_locked(batch, started)
        except TimeoutError:  # a hung provider or store: the session and its lock are freed
            self.stats["turns.timeout"] += 1
            _log.warning(
                "turn for %s stopped after %.0f s", last.message.event_id, self.settings.turn_timeout_s
            )
            line = TIMEOUT_LINE
        except Exception:  # a bug or a lost session lock: one friendly line, never silence
            self.stats["turns.error"] += 1
            _log.exception("turn failed unexpectedly in session %s", last.message.session)
            line = ERROR_LINE
        if not self._claims.answered(_event_key(last.message)):
            await last.sink.send(_error_reply(last.message, self.persona_for(last.message).name, line))
            self._claims.mark_answered(_event_key(p.message) for p in batch)
        return TurnOutcome.FAILED

    async def _hold_session(self, stack: contextlib.AsyncExitStack, session: str) -> None:
        """Take the cross-process session lock (Redis). Redis down: this process's own session
        queue still serialises the session; several processes may then overlap, which beats silence."""
        locks = self._stores.locks
        if locks is None or not self._outages.available("locks"):
            return
        try:
            await stack.enter_async_context(locks.lock(session))
        except Exception as error:  # the lock store is down: answer without it, logged once
            self._outages.failed("locks", error)
            return
        self._outages.ok("locks")

    async def _run_turn_locked(self, batch: Sequence[Pending], started: float) -> TurnOutcome:
        last, sink = batch[-1].message, batch[-1].sink
        messages = tuple(p.message for p in batch)
        persona = self.persona_for(last)
        await sink.typing()
        gather_started = time.perf_counter()
        gathered = self._constraints.fill_in(
            await gather_context(
                self._stores,
                self._gather_request(messages, persona),
                self.settings.deadlines,
                self.stats,
                self._outages,
            )
        )
        self._observer.timing("gather", time.perf_counter() - gather_started)
        provider = self._provider(persona)
        built = build_prompt(
            persona=self._with_room_for_tools(persona, provider),
            messages=messages,
            gathered=gathered,
            count=provider.count_tokens,
        )
        self.stats["prompt.dropped_items"] += sum(built.dropped.values())
        context = ToolContext(origin=last, visibility=gathered.visibility, persona=persona, now=self._clock())
        stream = _Stream(sink, lambda: self._observer.timing("first_token", time.perf_counter() - started))
        generated = await self._generate(provider, built.request, context, stream)
        turn = CompletedTurn(
            messages=messages,
            reply_text=generated.text,
            reply_event_id=f"{last.event_id}:reply",
            persona=persona.name,
            session=str(last.session),
            visibility=gathered.visibility,
            finished_at=self._clock(),
            context=_last_line_to(gathered.history, gathered.visibility.owners),
            tools=generated.tools,
        )
        await self._commit(turn)  # durable before the person sees the reply
        await sink.send(generated.reply)
        # Delivered: said so in the store at once, so a process killed from here on (recording
        # usage, settling) is not taken for one that died before the person saw the reply.
        await self._claims.delivered(_event_key(p.message) for p in batch)
        if generated.result is not None:
            await self._record_usage(last, generated.result)
        return generated.outcome

    def _gather_request(self, messages: Sequence[IncomingMessage], persona: PersonaSpec) -> GatherRequest:
        last = messages[-1]
        return GatherRequest(
            identity=last.identity,
            scope=last.scope,
            room_scope=f"room:{last.platform}:{last.room_id}",
            session=str(last.session),
            query="\n".join(m.text for m in messages if m.text),
            persona=persona,
            now=self._clock(),
            is_dm=last.is_dm,
            asker_name=last.author_name,
        )

    def _with_room_for_tools(self, persona: PersonaSpec, provider: LLMProvider) -> PersonaSpec:
        """The persona with its prompt budget lessened by what its offered tools add to a request."""
        cost = self._tools.prompt_cost(persona, provider.count_tokens) if self._tools is not None else 0
        if not cost:
            return persona
        return persona.model_copy(
            update={"context_tokens": max(persona.reply_max_tokens, persona.context_tokens - cost)}
        )

    def _provider(self, persona: PersonaSpec) -> LLMProvider:
        key = f"{persona.name}\x1f{persona.model}"
        provider = self._providers.get(key)
        if provider is None:
            provider = self._providers[key] = self._provider_for(persona)
        return provider

    async def _generate(
        self, provider: LLMProvider, request: ChatRequest, context: ToolContext, stream: _Stream
    ) -> _Generated:
        """The turn's LLM call (and its bounded tool rounds, when the persona has tools), streamed
        to the sink; the final reply is not sent yet."""
        last, persona = context.origin, context.persona.name
        loop = ToolLoop(provider, self._tools, context, clock=self._clock)
        try:
            result = await loop.run(request, on_text=stream.on_text)
        except ProviderError as error:
            self.stats[f"provider.{error.kind.value}"] += 1
            _log.warning("reply failed for %s: %s", last.event_id, error)
            line = stream.text + interrupted_message(error) if stream.text else friendly_message(error)
            if loop.effects:  # the person must know what was done before the failure
                line += f" (Before that I used: {', '.join(dict.fromkeys(loop.effects))}.)"
            reply = _error_reply(last, persona, line)
            return _Generated(reply=reply, outcome=TurnOutcome.FAILED, tools=tuple(loop.records))
        self.stats["tools.calls"] += len(loop.records)
        if not result.text.strip():
            reply = _error_reply(last, persona, EMPTY_REPLY_LINE)
            return _Generated(reply=reply, outcome=TurnOutcome.FAILED, tools=tuple(loop.records))
        reply = Reply(text=result.text, reply_to=last.event_id, persona=persona)
        return _Generated(
            reply=reply,
            outcome=TurnOutcome.ANSWERED,
            text=result.text,
            result=result,
            tools=tuple(loop.records),
        )

    async def _record_usage(self, message: IncomingMessage, result: ChatResult) -> None:
        tokens = result.usage.input_tokens + result.usage.output_tokens
        self.stats["tokens.used"] += tokens
        if not self._outages.available("limits"):
            return
        try:
            await self._stores.limits.add_usage(usage_key(message.identity), self._day(), tokens)
        except Exception as error:  # the reply is already delivered; losing one count is the lesser harm
            self._outages.failed("limits", error)
            return
        self._outages.ok("limits")

    # ---- after the turn

    async def _commit(self, turn: CompletedTurn) -> None:
        """The turn's history and its post-turn work, committed together (the outbox).

        A failed turn keeps the person's words (history, memory) but teaches nothing: no hook
        runs for it, so an outage does not multiply provider calls. When history lives apart
        (Redis) and refuses, the turn's history becomes one more outbox job, stored when that
        store is back. If even the outbox refuses, the reply is still delivered (logged, counted).
        """
        jobs = self._turn_jobs.for_turn(turn)
        turns = history_turns(turn)
        try:
            try:
                await self._work.commit(turns, jobs)
            except Exception:
                self.stats["history.deferred"] += 1
                _log.warning("history refused turn %s; keeping it in the outbox", turn.key, exc_info=True)
                await self._work.commit([], [self._turn_jobs.history(turn, jobs[0]), *jobs])
            await self._work.recheck(jobs[0].owners, jobs[0].origin_ts)  # a forget while it ran
        except Exception:
            self.stats["outbox.commit_error"] += 1
            _log.exception("could not record turn %s; delivering the reply anyway", turn.key)

    async def _job_failed(self, job: Job, exc: Exception) -> None:
        await self._work.on_failure(job, exc)

    def _day(self) -> str:
        return self._clock().astimezone(UTC).date().isoformat()


def _last_line_to(history: Sequence[Turn], owners: frozenset[str]) -> str:
    """The persona's last line to this person: it is embedded with what they say next. In a room
    the last line may answer someone else, whose words must not enter this person's memories."""
    return next((t.text for t in reversed(history) if t.role == "assistant" and t.owner in owners), "")


def _event_key(message: IncomingMessage) -> str:
    return f"event:{message.platform}:{message.event_id}"


def _claim_settings(settings: EngineSettings) -> ClaimSettings:
    return ClaimSettings(
        lease_s=settings.claim_lease_s,
        done_ttl_s=settings.dedup_ttl_s,
        # Another process's live claim may be a dead one's: wait for its lease, or its turn.
        wait_elsewhere_s=settings.turn_timeout_s + settings.claim_lease_s,
        max_hold_s=settings.claim_max_hold_s,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Generated:
    """The turn's final reply (or its friendly failure line), not yet delivered."""

    reply: Reply
    outcome: TurnOutcome
    text: str = ""  # what the persona said ("" when the turn failed)
    result: ChatResult | None = None
    tools: tuple[ToolRecord, ...] = ()  # tool calls run while answering (kept even when it failed)


def _error_reply(message: IncomingMessage, persona: str, text: str) -> Reply:
    return Reply(text=text, reply_to=message.event_id, persona=persona, is_error=True)


class _Stream:
    """Turns the provider's text deltas into the cumulative partials the sink expects."""

    def __init__(self, sink: ReplySink, on_first: Callable[[], None]) -> None:
        self._sink = sink
        self._on_first: Callable[[], None] | None = on_first
        self.text = ""

    async def on_text(self, delta: str) -> None:
        if self._on_first is not None and delta:
            self._on_first()  # the person's wait ends here: first text on their screen
            self._on_first = None
        self.text += delta
        await self._sink.partial(self.text)
