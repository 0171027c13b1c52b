"""Helpers for the full-stack platform tests: the real App wired to Discord's fake or a real Synapse.

`running_familiar(settings)` does what `familiar run` does (App, then `server_adapters`, then
`supervise`), minus the SIGTERM handler, and tears it all down when the block ends. The LLM is the
local wire server; `FamiliarResponder` answers the reply call with a text derived from the prompt
and the fact-extraction call with facts looked up in a table, so tests know what memory holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from bot.adapters import server_adapters
from bot.app import App, supervise
from bot.config import Settings, load_settings
from persona.engine import utc_now
from tests.support.llm_server import LLMServer, RecordedRequest

WAIT_S = 20.0
EXTRACTION_MARKER = "long-term memory about the user"
_NEW_MESSAGES = "New messages from the user:"
_ASSISTANT_REPLIED = "The assistant replied:"


def answer_for(request: RecordedRequest) -> str:
    """The provider's answer to a reply call: derived from the prompt so tests can predict it."""
    return f"Answer to: {request.last_user_text}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaughtFact:
    attribute: str
    value: str
    kind: str = "identity"

    def extracted(self) -> dict[str, object]:
        """As the extraction prompt asks the model to write it."""
        return {"subject": "user", "attribute": self.attribute, "value": self.value,
                "kind": self.kind, "confidence": 0.95}  # fmt: skip


class FamiliarResponder:
    """Answers reply calls with `answer_for`, fact extraction from `facts_by_phrase`."""

    def __init__(self, facts_by_phrase: Mapping[str, TaughtFact]) -> None:
        self._facts = dict(facts_by_phrase)

    def __call__(self, request: RecordedRequest) -> str:
        if EXTRACTION_MARKER in request.system_text:
            return self._extraction(request.last_user_text)
        if not request.stream and "journal" in request.system_text.lower():
            return "A short talk."
        return answer_for(request)

    def _extraction(self, prompt: str) -> str:
        # Only what the user said counts: the assistant's echo of it must not teach anything.
        said = prompt.split(_NEW_MESSAGES, 1)[-1].split(_ASSISTANT_REPLIED, 1)[0]
        facts = [fact.extracted() for phrase, fact in self._facts.items() if phrase in said]
        return json.dumps({"facts": facts, "dossier": None})


def familiar_settings(
    data_dir: Path, llm: LLMServer, *, redis_url: str | None = None, **platforms: Any
) -> Settings:
    """Settings as `familiar run` would read them: provider on loopback, the given platform sections."""
    return load_settings(
        env_file=None,
        data_dir=data_dir,
        openai_base_url=llm.openai_base_url,
        openai_api_key="test-key",
        redis_url=redis_url,
        **platforms,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningFamiliar:
    app: App
    adapters: tuple[Adapter, ...]
    restarts: Counter[str]  # adapter restarts by name, as the supervisor counts them

    def adapter(self, name: str) -> Any:
        [found] = [a for a in self.adapters if a.name == name]
        return found

    async def settle(self, *, answered: int) -> None:
        """Wait until `answered` turns are done and their post-turn work (history, memory, fact
        learning) is stored. A reply shows up on the platform before its turn ends, hence both."""
        engine = self.app.built.engine
        await wait_until(lambda: engine.stats["turns.answered"] >= answered)
        queue = self.app.opened.queue if self.app.opened is not None else None
        if queue is None:
            assert await engine.jobs.drain(WAIT_S)
            return
        # With REDIS_URL the jobs go through the shared queue and this process's worker runs them.
        async with asyncio.timeout(WAIT_S):
            while (await queue.stats()).depth:  # noqa: ASYNC110 - the queue is in Redis: nothing to await
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_familiar(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, **adapter_options: Any
) -> AsyncIterator[RunningFamiliar]:
    async with App(settings, clock=clock) as app:
        voice = app.assistant.voice_replies  # as `familiar run` hands them over
        adapters = tuple(server_adapters(settings, app.built.engine, voice=voice, **adapter_options))
        restarts: Counter[str] = Counter()
        async with app.assistant.running(adapters):  # reminders and check-ins, as `App.run` does
            task = asyncio.create_task(supervise(adapters, restarts=restarts), name="familiar-under-test")
            try:
                yield RunningFamiliar(app=app, adapters=adapters, restarts=restarts)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def wait_until(predicate: Callable[[], bool], seconds: float = WAIT_S) -> None:
    # Polling: what is observed (discord.py readiness, engine counters) offers no event to await.
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def reply_requests(llm: LLMServer, persona_prompt: str, asked: str) -> list[RecordedRequest]:
    """The reply calls (the persona's system prompt present) whose user turn contains `asked`."""
    return [r for r in llm.chat_requests if persona_prompt in r.system_text and asked in r.last_user_text]


def persona_prompt(app: App) -> str:
    """The default persona's system prompt, as its persona file states it."""
    return app.built.catalog.get(None).system_prompt.strip()
