"""The persona's journal: an entry per conversation once it goes quiet, a reflection each morning.

`Journaler` is a post-turn hook that only notes activity (no LLM call on the hook). The
`JournalScheduler` (persona.learning.scheduler) later asks it to write the entries that are due:
a conversation is due once it has been quiet for the configured gap, or when its day is over.
Each entry carries the conversation's privacy scope and, when one person spoke, their identity.

Pending conversations are drafts in a `JournalDrafts` store (one small upsert per noted turn),
so a restart loses none: `restore()` at start reschedules them, and those whose gap passed
while the bot was down are written at once. The store is the authority on a draft's content;
the Journaler keeps only a schedule and the open draft of each session, and checks the store
before writing, so a `/forget` (which drops drafts with the journal's entries) is never undone.
An entry's id derives from its conversation's event ids, so a crash between writing an entry
and discarding its draft cannot produce a second entry. Without a drafts store (tests) the
drafts live in this process only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Protocol

from memory.base import JournalDrafts, JournalStore
from memory.records import DM_SCOPE, DraftLine, JournalDraft, JournalEntry
from persona.hooks import CompletedTurn
from persona.learning.prompts import (
    Line,
    describe_place,
    journal_entry_system,
    journal_entry_user,
    reflection_system,
    reflection_user,
)
from persona.learning.settings import LearningSettings
from persona.providers.base import ChatMessage, ChatRequest, LLMProvider, ProviderError

_log = logging.getLogger(__name__)
_MAX_LINE_CHARS = 500
_MAX_ATTEMPTS = 3
_SEEN_LIMIT = 10_000


class JournalSink(Protocol):
    """Where the owner-readable copy goes (memory.journal_files.JournalFiles)."""

    async def append(self, entry: JournalEntry) -> None: ...


class JournalDayReader(Protocol):
    """Every entry of one day, all scopes (memory.sqlite.journal.SqliteJournalStore.day)."""

    async def day(self, persona: str, day: str) -> list[JournalEntry]: ...


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


class _ProcessDrafts:
    """JournalDrafts kept in this process only (no store configured): lost on restart."""

    def __init__(self) -> None:
        self._drafts: dict[str, JournalDraft] = {}

    async def save(self, draft: JournalDraft) -> None:
        self._drafts[draft.id] = draft

    async def update(self, draft: JournalDraft) -> bool:
        if draft.id not in self._drafts:
            return False
        self._drafts[draft.id] = draft
        return True

    async def get(self, draft_id: str) -> JournalDraft | None:
        return self._drafts.get(draft_id)

    async def pending(self) -> list[JournalDraft]:
        return sorted(self._drafts.values(), key=lambda d: d.last_at)

    async def discard(self, draft_id: str) -> bool:
        return self._drafts.pop(draft_id, None) is not None


def _turn_lines(turn: CompletedTurn, at: datetime) -> tuple[list[DraftLine], list[str]]:
    """The turn's lines and their event ids: every message, then the reply (if any)."""
    lines = [
        DraftLine(author=m.author_name, text=m.text[:_MAX_LINE_CHARS], at=m.timestamp) for m in turn.messages
    ]
    ids = [m.event_id for m in turn.messages]
    if turn.reply_text:
        lines.append(DraftLine(author=turn.persona, text=turn.reply_text[:_MAX_LINE_CHARS], at=at))
        ids.append(turn.reply_event_id)
    return lines, ids


def _already_noted(draft: JournalDraft, turn: CompletedTurn) -> bool:
    """A turn noted before a restart and run again after it: its events are in the draft."""
    noted = set(draft.source_ids)
    return all(m.event_id in noted for m in turn.messages)


class _Writer:
    """One LLM call, then the store and the Markdown file: shared by entries and reflections."""

    def __init__(self, *, provider: LLMProvider, store: JournalStore, files: JournalSink, model: str) -> None:
        self._provider = provider
        self._store = store
        self._files = files
        self._model = model

    async def compose(self, system: str, user: str) -> str:
        request = ChatRequest(
            model=self._model,
            system=system,
            messages=(ChatMessage(role="user", content=user),),
            max_tokens=400,
            temperature=0.7,
            background=True,
        )
        result = await self._provider.chat(request)
        return result.text.strip()

    async def save(self, entry: JournalEntry) -> None:
        await self._store.add(entry)
        await self._files.append(entry)


class Journaler:
    """PostTurnHook: notes activity into drafts; writes an entry per conversation when it is due."""

    name = "journal"

    def __init__(
        self,
        *,
        provider: LLMProvider,
        store: JournalStore,
        files: JournalSink,
        model: str,
        settings: LearningSettings,
        clock: Callable[[], datetime],
        drafts: JournalDrafts | None = None,
    ) -> None:
        self._writer = _Writer(provider=provider, store=store, files=files, model=settings.model or model)
        self._store = store
        self._drafts: JournalDrafts = drafts if drafts is not None else _ProcessDrafts()
        self._settings = settings
        self._clock = clock
        self._open: dict[tuple[str, str], JournalDraft] = {}  # per session: where new turns go
        self._due: dict[str, datetime] = {}  # every pending draft id: when it is due
        # Serialises a draft's read-modify-write (noting a turn) with the flush taking it away.
        self._lock = asyncio.Lock()
        # Recently noted turn keys (bounded): a retried job must not add its lines twice.
        self._seen: dict[str, None] = {}
        self.on_activity: Callable[[], None] = lambda: None  # set by the scheduler to wake itself

    async def restore(self) -> int:
        """Reschedule the drafts an earlier run left unwritten; returns how many were new here.

        Call before the scheduler computes its first deadline, so drafts whose gap passed
        while the bot was down are written right away.
        """
        drafts = await self._drafts.pending()
        async with self._lock:
            fresh = [d for d in drafts if d.id not in self._due]
            live = set(self._open)  # sessions already noted in this run keep their own draft open
            for draft in fresh:  # oldest first: a session's latest draft ends up open
                self._due[draft.id] = self._due_at(draft)
                key = (draft.persona, draft.session)
                if draft.attempts == 0 and key not in live:
                    self._open[key] = draft
        if fresh:
            _log.info("restored %s pending journal conversations", len(fresh))
        return len(fresh)

    async def after_turn(self, turn: CompletedTurn) -> None:
        if turn.key in self._seen:
            return  # a retried job: this turn is already noted
        at = max([turn.finished_at, *(m.timestamp for m in turn.messages)])
        async with self._lock:
            await self._note(turn, at)
        # Marked only once noted: a failed write is retried by the job queue.
        self._seen[turn.key] = None
        if len(self._seen) > _SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        self.on_activity()

    async def _note(self, turn: CompletedTurn, at: datetime) -> None:
        key = (turn.persona, turn.session)
        draft = self._open.get(key)
        if draft is not None and self._day(draft.last_at) != self._day(at):
            del self._open[key]  # its day is over: it is due now, and this turn starts a new one
            draft = None
        if draft is not None and _already_noted(draft, turn):
            return
        noted = self._noted(draft, turn, at)
        if draft is None or not await self._drafts.update(noted):
            # New, or the open draft was forgotten meanwhile: this turn starts afresh.
            noted = self._noted(None, turn, at)
            await self._drafts.save(noted)
        self._open[key] = noted
        self._due[noted.id] = self._due_at(noted)

    def _noted(self, draft: JournalDraft | None, turn: CompletedTurn, at: datetime) -> JournalDraft:
        lines, ids = _turn_lines(turn, at)
        if draft is None:
            draft_id = f"draft:{_digest(turn.persona, turn.session, ids[0])}"
            draft = JournalDraft(
                id=draft_id, persona=turn.persona, session=turn.session, scope=turn.scope, last_at=at
            )
        # Every author of a merged turn took part: one author's name must not own the others' words.
        owners = dict.fromkeys([*draft.owners, *(m.identity for m in turn.messages)])
        return replace(
            draft,
            last_at=at,
            owners=tuple(owners),
            lines=(*draft.lines, *lines)[-self._settings.max_conversation_lines :],
            source_ids=(*draft.source_ids, *ids),
        )

    def _day(self, at: datetime) -> date:
        return at.astimezone(self._settings.zone).date()

    def _due_at(self, draft: JournalDraft) -> datetime:
        if draft.retry_at is not None:
            return draft.retry_at
        quiet = draft.last_at + timedelta(seconds=self._settings.quiet_gap_s)
        next_day = datetime.combine(self._day(draft.last_at) + timedelta(days=1), time(), self._settings.zone)
        return min(quiet, next_day)

    def next_due(self) -> datetime | None:
        """When the next entry is due (None: nothing pending)."""
        return min(self._due.values(), default=None)

    async def flush_due(self, now: datetime) -> int:
        """Write an entry for every conversation that is due; returns how many were written."""
        drafts = await self._take_due(now)
        written = 0
        for done, draft in enumerate(drafts):
            try:
                written += await self._write(draft, now)
            except BaseException:
                # The store still holds them: keep them scheduled for the scheduler's next round.
                for left in drafts[done:]:
                    self._due.setdefault(left.id, now)
                raise
        return written

    async def _take_due(self, now: datetime) -> list[JournalDraft]:
        """The due drafts as the store has them now (a forgotten one is gone); later turns of
        their sessions go to new drafts."""
        async with self._lock:
            due = [draft_id for draft_id, at in self._due.items() if at <= now]
            found = [await self._drafts.get(draft_id) for draft_id in due]
            for draft_id in due:  # only once read: a failed read leaves them scheduled
                del self._due[draft_id]
            self._open = {k: d for k, d in self._open.items() if d.id not in due}
        return [d for d in found if d is not None]

    async def _write(self, draft: JournalDraft, now: datetime) -> int:
        lines = [Line(author=x.author, text=x.text, at=x.at) for x in draft.lines]
        try:
            text = await self._writer.compose(
                journal_entry_system(draft.persona),
                journal_entry_user(place=describe_place(draft.scope), lines=lines),
            )
        except ProviderError as exc:
            await self._requeue(draft, now, exc)
            return 0
        if not text:
            await self._drafts.discard(draft.id)
            return 0
        entry = self._entry(draft, text)
        await self._writer.save(entry)
        if not await self._drafts.discard(draft.id):
            # A /forget dropped the draft while its entry was being composed: the entry goes too.
            await self._store.forget(frozenset(), None, sources=frozenset(entry.source_ids))
            return 0
        return 1

    async def _requeue(self, draft: JournalDraft, now: datetime, exc: ProviderError) -> None:
        attempts = draft.attempts + 1
        if not exc.kind.retryable or attempts >= _MAX_ATTEMPTS:
            _log.warning("journal entry for %s dropped (%s)", draft.session, exc.kind.value)
            await self._drafts.discard(draft.id)
            return
        retry = replace(
            draft, attempts=attempts, retry_at=now + timedelta(seconds=self._settings.quiet_gap_s)
        )
        if await self._drafts.update(retry):  # not when forgotten meanwhile
            self._due[retry.id] = self._due_at(retry)

    def _entry(self, draft: JournalDraft, text: str) -> JournalEntry:
        owner = draft.owners[0] if len(draft.owners) == 1 else None
        return JournalEntry(
            id=f"journal:{_digest(draft.persona, draft.session, *draft.source_ids)}",
            persona=draft.persona,
            day=self._day(draft.last_at).isoformat(),
            kind="entry",
            text=text,
            scope=draft.scope,
            created_at=self._clock(),
            owner=owner,
            source_ids=draft.source_ids,
        )


class Reflector:
    """Each morning: reads yesterday's entries and writes today's intentions.

    One reflection per scope (and per person for DMs), so what was said in a DM or in one room
    never flows into a reflection shown elsewhere.
    """

    def __init__(
        self,
        *,
        provider: LLMProvider,
        store: JournalStore,
        reader: JournalDayReader,
        files: JournalSink,
        model: str,
        settings: LearningSettings,
        clock: Callable[[], datetime],
        personas: Sequence[str],
    ) -> None:
        self._writer = _Writer(provider=provider, store=store, files=files, model=settings.model or model)
        self._reader = reader
        self._clock = clock
        self._personas = tuple(personas)

    async def reflect(self, today: date) -> int:
        """Write today's reflections for every persona; returns how many were written."""
        written = 0
        for persona in self._personas:
            written += await self._reflect_persona(persona, today)
        return written

    async def _reflect_persona(self, persona: str, today: date) -> int:
        yesterday = (today - timedelta(days=1)).isoformat()
        entries = [e for e in await self._reader.day(persona, yesterday) if e.kind == "entry"]
        done = {e.id for e in await self._reader.day(persona, today.isoformat())}
        groups: dict[tuple[str, str | None], list[JournalEntry]] = {}
        for entry in entries:
            owner = entry.owner if entry.scope == DM_SCOPE else None
            groups.setdefault((entry.scope, owner), []).append(entry)
        written = 0
        for (scope, owner), group in groups.items():
            entry_id = f"reflection:{_digest(persona, today.isoformat(), scope, owner or '')}"
            if entry_id in done:
                continue  # a restart after this morning's reflection: no second call
            text = await self._writer.compose(
                reflection_system(persona),
                reflection_user(day=yesterday, place=describe_place(scope), entries=group),
            )
            if text:
                entry = self._entry(
                    entry_id=entry_id,
                    persona=persona,
                    today=today,
                    scope=scope,
                    owner=owner,
                    text=text,
                    group=group,
                )
                await self._writer.save(entry)
                written += 1
        return written

    def _entry(
        self,
        *,
        entry_id: str,
        persona: str,
        today: date,
        scope: str,
        owner: str | None,
        text: str,
        group: list[JournalEntry],
    ) -> JournalEntry:
        owners = {e.owner for e in group}
        return JournalEntry(
            id=entry_id,
            persona=persona,
            day=today.isoformat(),
            kind="reflection",
            text=text,
            scope=scope,
            created_at=self._clock(),
            owner=owner if owner is not None else (owners.pop() if len(owners) == 1 else None),
            source_ids=tuple(e.id for e in group),
        )
