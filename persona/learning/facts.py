"""FactLearner: after each turn, one LLM call extracts durable facts and revises the dossier.

At most one call per turn, none for trivial turns ("ok", "thanks") or failed ones (an outage:
learning would only add calls to it). The call is a background request (one attempt, skipped
while the provider's circuit is open) and its tokens count in the person's daily quota. Fact
ids derive from the turn key and the attribute, so a retried job files nothing twice. Retryable
provider errors are raised for the engine's retry; anything else (refusal, malformed JSON) is
logged and the turn is skipped, never crashing the background queue.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime

from memory.base import FactStore, LongTermMemory
from memory.derived import derived_id, derived_item
from memory.records import DM_SCOPE, Dossier, Fact, MemoryItem, Visibility
from persona.hooks import CompletedTurn
from persona.learning.parsing import ExtractedFact, Extraction, parse_extraction
from persona.learning.prompts import Line, fact_extraction_system, fact_extraction_user
from persona.learning.settings import LearningSettings
from persona.providers.base import ChatMessage, ChatRequest, LLMProvider, ProviderError
from persona.usage import UsageRecorder

_log = logging.getLogger(__name__)

_TRIVIAL = frozenset(
    [
        "ok",
        "okay",
        "k",
        "kk",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "cool",
        "nice",
        "great",
        "sure",
        "yes",
        "yeah",
        "yep",
        "no",
        "nope",
        "hi",
        "hello",
        "hey",
        "bye",
        "lol",
        "haha",
        "hmm",
        "good",
        "morning",
        "night",
        "np",
        "welcome",
        "alright",
        "fine",
        "wow",
        "oh",
        "ah",
        "right",
    ]
)
_WORD = re.compile(r"[^\W\d_]+|\d+")
_MAX_DOSSIER_SOURCES = 50


def is_trivial(text: str) -> bool:
    """Acknowledgements and greetings carry no durable facts: skip the LLM call."""
    words = [w.lower() for w in _WORD.findall(text)]
    return not words or (len(words) <= 4 and all(w in _TRIVIAL for w in words))


def fact_id(turn_key: str, owner: str, subject: str, attribute: str) -> str:
    digest = hashlib.sha256(f"{turn_key}\x1f{owner}\x1f{subject}\x1f{attribute}".encode()).hexdigest()
    return f"fact:{digest[:24]}"


def trim_to_budget(text: str, budget: int, count: Callable[[str], int]) -> str:
    """Drop trailing sentences (then words) until `text` fits `budget` tokens."""
    if count(text) <= budget:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    while len(sentences) > 1 and count(" ".join(sentences)) > budget:
        sentences.pop()
    words = " ".join(sentences).split()
    while len(words) > 1 and count(" ".join(words)) > budget:
        words.pop()
    return " ".join(words)


def per_author(turn: CompletedTurn) -> list[CompletedTurn]:
    """The turn split by author, in order of first appearance; the asker keeps their visibility."""
    authors = list(dict.fromkeys(m.identity for m in turn.messages))
    if len(authors) == 1:
        return [turn]
    parts = []
    for identity in authors:
        mine = tuple(m for m in turn.messages if m.identity == identity)
        visibility = (
            turn.visibility
            if identity == turn.owner
            else Visibility(
                owners=frozenset({identity}), scope=turn.scope, room_shared=turn.visibility.room_shared
            )
        )
        parts.append(dataclasses.replace(turn, messages=mine, visibility=visibility))
    return parts


class FactLearner:
    """PostTurnHook: learns durable facts about the asker and keeps their dossier current."""

    name = "facts"

    def __init__(
        self,
        *,
        provider: LLMProvider,
        facts: FactStore,
        model: str,
        settings: LearningSettings,
        clock: Callable[[], datetime],
        memory: LongTermMemory | None = None,
        usage: UsageRecorder | None = None,
    ) -> None:
        self._provider = provider
        self._facts = facts
        self._memory = memory
        self._model = settings.model or model
        self._settings = settings
        self._clock = clock
        self._usage = usage  # the call's tokens count against the person's daily quota

    async def after_turn(self, turn: CompletedTurn) -> None:
        # A merged group turn answers several people: each one's facts are learned from their own
        # lines only and filed under their own identity (one call per person, usually just one).
        for part in per_author(turn):
            await self._learn(part)

    async def _learn(self, turn: CompletedTurn) -> None:
        said = "\n".join(m.text for m in turn.messages)
        if not turn.reply_text or is_trivial(said):
            return  # a failed turn (an outage) is not learned from: no calls into the outage
        known = await self._facts.facts(turn.visibility)
        dossier = await self._facts.dossier(turn.visibility)
        answer = await self._ask(turn, known, dossier)
        if answer is None:
            return
        extraction = parse_extraction(answer)
        if extraction is None:
            _log.warning("fact extraction for turn %s was not valid JSON; skipped", turn.key)
            return
        new_facts = [self._to_fact(turn, item) for item in extraction.facts]
        if new_facts:
            await self._facts.upsert(new_facts)
            _log.info("learned %s facts from turn %s", len(new_facts), turn.key)
        await self._remember(turn, known, new_facts, extraction)
        if extraction.dossier is not None:
            await self._facts.save_dossier(self._revised_dossier(turn, dossier, extraction.dossier))

    async def _ask(self, turn: CompletedTurn, known: list[Fact], dossier: Dossier | None) -> str | None:
        lines = [Line(author=m.author_name, text=m.text, at=m.timestamp) for m in turn.messages]
        request = ChatRequest(
            model=self._model,
            system=fact_extraction_system(self._settings.dossier_token_budget),
            messages=(
                ChatMessage(
                    role="user",
                    content=fact_extraction_user(
                        facts=known,
                        dossier=dossier.summary if dossier else None,
                        lines=lines,
                        reply=turn.reply_text,
                    ),
                ),
            ),
            max_tokens=self._settings.dossier_token_budget + 600,
            temperature=0.0,
            json_mode=True,
            background=True,
        )
        try:
            result = await self._provider.chat(request)
        except ProviderError as exc:
            if exc.kind.retryable:
                raise  # retried by the job queue; the chain's circuit keeps retries off an outage
            _log.warning("fact extraction for turn %s failed (%s); skipped", turn.key, exc.kind.value)
            return None
        if self._usage is not None:
            await self._usage.add(turn.owner, result.usage.input_tokens + result.usage.output_tokens)
        return result.text

    def _to_fact(self, turn: CompletedTurn, item: ExtractedFact) -> Fact:
        last = turn.messages[-1]
        return Fact(
            id=fact_id(turn.key, turn.owner, item.subject, item.attribute),
            owner=turn.owner,
            scope=turn.scope,
            subject=item.subject,
            attribute=item.attribute,
            # An empty value is a retraction: it retires the key in the store.
            value="" if item.retracts else item.value,
            kind=item.kind,
            confidence=item.confidence,
            source_ids=tuple(m.event_id for m in turn.messages),
            valid_from=last.timestamp,
            recorded_at=self._clock(),
        )

    async def _remember(
        self, turn: CompletedTurn, known: list[Fact], new_facts: list[Fact], extraction: Extraction
    ) -> None:
        """Learned statements become long-term memories that lead back to their turns; one a new
        fact replaces is removed, so a corrected fact is never recalled above its correction."""
        if self._memory is None:
            return
        keys = {(f.subject, f.attribute) for f in new_facts}
        replaced = [derived_id(f.id) for f in known if (f.subject, f.attribute) in keys]
        if replaced:
            await self._memory.remove(frozenset({turn.owner}), replaced)
        statements = [
            (fact.id, statement, False, fact.source_ids)
            for fact, item in zip(new_facts, extraction.facts, strict=True)
            if fact.value
            and (statement := item.statement or f"{item.attribute.replace('_', ' ')}: {item.value}")
        ]
        answered = (turn.reply_event_id, *(m.event_id for m in turn.messages))
        statements += [
            (f"told:{turn.key}:{n}", text, True, answered) for n, text in enumerate(extraction.told)
        ]
        items = [self._derived(turn, *statement) for statement in statements]
        if items:
            await self._memory.add(items)

    def _derived(
        self, turn: CompletedTurn, key: str, text: str, by_persona: bool, sources: tuple[str, ...]
    ) -> MemoryItem:
        last = turn.messages[-1]
        return derived_item(
            key=key,
            owner=turn.owner,
            scope=turn.scope,
            text=text,
            said_by_persona=by_persona,
            created_at=turn.finished_at if by_persona else last.timestamp,
            source_ids=sources,
            platform=last.platform,
            room_id=last.room_id,
            thread_id=last.thread_id,
            persona=turn.persona,
        )

    def _revised_dossier(self, turn: CompletedTurn, old: Dossier | None, summary: str) -> Dossier:
        budget = self._settings.dossier_token_budget
        same_class = old is not None and (old.scope == DM_SCOPE) == (turn.scope == DM_SCOPE)
        previous = old.source_ids if old is not None and same_class else ()
        sources = tuple(dict.fromkeys([*previous, *(m.event_id for m in turn.messages)]))
        return Dossier(
            owner=turn.owner,
            scope=turn.scope,
            summary=trim_to_budget(summary, budget, self._provider.count_tokens),
            updated_at=self._clock(),
            source_ids=sources[-_MAX_DOSSIER_SOURCES:],
        )
