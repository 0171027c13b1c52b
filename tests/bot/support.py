"""Helpers for scenario tests that drive the real App: people, messages, a recording sink,
a scripted provider that "learns" facts per message, and readers for the prompts it received.

The provider is the local wire server (tests/support/llm_server.py); the responder below plays
every role the bot asks the model to play: the persona's reply, fact extraction (system prompt
mentions "long-term memory"), the journal and the morning reflection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromadb
import yaml
from chromadb.config import Settings as ChromaSettings
from pydantic import SecretStr

from bot.app import App
from bot.config import Settings
from persona.api import Command, CommandName, CommandResult
from persona.engine import PersonaEngine
from persona.learning.settings import LearningSettings
from persona.personas import builtin_personas_dir
from persona.settings import EngineSettings, SourceDeadlines
from persona.types import IncomingMessage, Reply, TurnOutcome
from tests.support.llm_server import LLMServer, RecordedRequest

_event_ids = itertools.count(1)
_NEW_MESSAGES = "New messages from the user:"
_ASSISTANT_REPLIED = "The assistant replied:"
DRAIN_TIMEOUT_S = 30.0


# ---- people and messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    platform: str  # "discord", "matrix"
    user_id: str
    name: str

    @property
    def identity(self) -> str:
        return f"{self.platform}:{self.user_id}"

    @property
    def dm_room(self) -> str:
        return f"dm-{self.user_id}"


def next_event_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_event_ids)}"


def dm(
    person: Person, text: str, *, at: datetime | None = None, event_id: str | None = None
) -> IncomingMessage:
    """A direct message from `person` to the bot."""
    return IncomingMessage(
        platform=person.platform,
        room_id=person.dm_room,
        author_id=person.user_id,
        author_name=person.name,
        text=text,
        event_id=event_id or next_event_id(person.platform),
        is_dm=True,
        timestamp=at or datetime.now(UTC),
    )


def in_room(
    person: Person, room: str, text: str, *, at: datetime | None = None, event_id: str | None = None
) -> IncomingMessage:
    """A message in a group room that mentions the bot."""
    return IncomingMessage(
        platform=person.platform,
        room_id=room,
        author_id=person.user_id,
        author_name=person.name,
        text=text,
        event_id=event_id or next_event_id(person.platform),
        is_dm=False,
        mentions_bot=True,
        timestamp=at or datetime.now(UTC),
    )


# ---- the sink


@dataclass(slots=True)
class RecordingSink:
    """A ReplySink that keeps what the engine sent."""

    typing_count: int = 0
    partials: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    async def typing(self) -> None:
        self.typing_count += 1

    async def partial(self, text: str) -> None:
        self.partials.append(text)

    async def send(self, reply: Reply) -> None:
        self.replies.append(reply)


# ---- the scripted model


@dataclass(frozen=True, slots=True, kw_only=True)
class Learned:
    """What the "model" extracts when a user message contains `trigger`."""

    trigger: str
    facts: tuple[dict[str, Any], ...] = ()
    dossier: str | None = None


def fact(attribute: str, value: str, kind: str = "identity", *, retracts: bool = False) -> dict[str, Any]:
    return {
        "subject": "user",
        "attribute": attribute,
        "value": value,
        "kind": kind,
        "confidence": 0.95,
        "retracts": retracts,
    }


class ScriptedModel:
    """The responder for the wire server: replies, fact extraction by trigger, journal text."""

    def __init__(self, *learned: Learned) -> None:
        self._learned = list(learned)

    def learn(self, *learned: Learned) -> None:
        self._learned.extend(learned)

    def __call__(self, request: RecordedRequest) -> str:
        system = request.system_text
        if "long-term memory" in system:
            return self._extract(request.last_user_text)
        if "writing your private journal" in system:
            said = request.last_user_text.split("\n", 1)[-1]
            return f"Journal: today I heard {said}"
        if "It is morning" in system:
            return "Today I intend to follow up."
        return f"Reply to: {request.last_user_text}"

    def _extract(self, prompt: str) -> str:
        said = prompt.split(_NEW_MESSAGES, 1)[-1].split(_ASSISTANT_REPLIED, 1)[0]
        facts: list[dict[str, Any]] = []
        dossier: str | None = None
        for item in self._learned:
            if item.trigger in said:
                facts.extend(item.facts)
                dossier = item.dossier if item.dossier is not None else dossier
        return json.dumps({"facts": facts, "dossier": dossier})


def is_reply_request(request: RecordedRequest) -> bool:
    system = request.system_text
    return request.is_chat and not any(
        marker in system for marker in ("long-term memory", "writing your private journal", "It is morning")
    )


def extraction_requests(server: LLMServer) -> list[RecordedRequest]:
    return [r for r in server.chat_requests if "long-term memory" in r.system_text]


def reply_request(server: LLMServer, text: str) -> RecordedRequest:
    """The (single) generation request that answered the message `text`."""
    found = [r for r in server.chat_requests if is_reply_request(r) and r.last_user_text.endswith(text)]
    assert len(found) == 1, f"expected one reply request for {text!r}, got {len(found)}"
    return found[0]


_HEADING = re.compile(r"^## ", re.MULTILINE)


def sections(system: str) -> dict[str, str]:
    """The system prompt's `## ` sections by heading (without the `## `); preamble under ""."""
    parts = _HEADING.split(system)
    out = {"": parts[0]}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        out[heading.strip()] = body
    return out


def section(system: str, starts_with: str) -> str:
    """The body of the first section whose heading starts with `starts_with` ("" if absent)."""
    return next((body for head, body in sections(system).items() if head.startswith(starts_with)), "")


def history_text(request: RecordedRequest) -> str:
    """Every earlier message sent with the request (the history), without the current one."""
    messages = request.messages
    earlier = [m for m in messages if m.get("role") != "system"][:-1]
    return "\n".join(str(m.get("content")) for m in earlier)


# ---- the app


def scenario_settings(
    server: LLMServer,
    data_dir: Path,
    *,
    quiet_gap_s: float = 900.0,
    link_code_ttl_s: float = 600.0,
    room_shared: bool = False,
    learning_model: str | None = None,
) -> Settings:
    """Real stores in `data_dir`, the wire server as provider; limits off, generous deadlines
    (a cold ONNX embedder must not degrade a source and hide a privacy leak). `room_shared`
    gives the default persona a policy that shares each room's records with everyone in it."""
    deadlines = SourceDeadlines(links_s=10, history_s=10, memory_s=20, kb_s=20, facts_s=10, journal_s=10)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        persona_dir=_sharing_personas(data_dir) if room_shared else None,
        openai_base_url=server.openai_base_url,
        openai_api_key=SecretStr("test-key"),
        engine=EngineSettings(
            deadlines=deadlines,
            rate_limit_per_minute=0,
            daily_token_quota=0,
            link_code_ttl_s=link_code_ttl_s,
        ),
        learning=LearningSettings(quiet_gap_s=quiet_gap_s, model=learning_model),
    )


def _sharing_personas(data_dir: Path) -> Path:
    """A persona directory whose `default` is the shipped one with `memory.room_shared` on."""
    spec = yaml.safe_load((builtin_personas_dir() / "default.yaml").read_text(encoding="utf-8"))
    spec["memory"]["room_shared"] = True
    folder = data_dir / "personas"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "default.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder


@asynccontextmanager
async def open_app(server: LLMServer, data_dir: Path, **knobs: Any) -> AsyncIterator[App]:
    async with App(scenario_settings(server, data_dir, **knobs)) as app:
        yield app


@dataclass(slots=True)
class Chat:
    """Drives one open App the way an adapter would, waiting for background learning."""

    app: App
    server: LLMServer

    @property
    def engine(self) -> PersonaEngine:
        return self.app.built.engine

    async def send(self, message: IncomingMessage) -> tuple[TurnOutcome, RecordingSink]:
        """Submit one message, then wait until storing and learning from it are done."""
        sink = RecordingSink()
        outcome = await self.engine.submit(message, sink)
        await self.settle()
        return outcome, sink

    async def say(self, *messages: IncomingMessage) -> None:
        for message in messages:
            outcome, sink = await self.send(message)
            assert outcome is TurnOutcome.ANSWERED, (message.text, outcome, sink.replies)

    async def ask(self, message: IncomingMessage) -> RecordedRequest:
        """Send `message` and return the generation request that answered it."""
        await self.say(message)
        return reply_request(self.server, message.text)

    async def settle(self) -> None:
        assert await self.engine.jobs.drain(DRAIN_TIMEOUT_S), "post-turn queue did not drain"
        assert self.engine.jobs.stats["failed"] == 0, self.engine.jobs.stats

    async def command(self, name: CommandName, context: IncomingMessage, args: str = "") -> CommandResult:
        return await self.engine.command(Command(name=name, args=args, context=context))

    async def export(self, context: IncomingMessage) -> dict[str, Any]:
        result = await self.command("export", context)
        assert result.file_data is not None, result.text
        data: dict[str, Any] = json.loads(result.file_data)
        return data


def values(facts: Sequence[dict[str, Any]], *, current: bool | None = None) -> list[str]:
    """Fact values from an export, optionally only current (or only superseded) ones."""
    return [f["value"] for f in facts if current is None or (f["superseded_by"] is None) == current]


async def indexed_memories(data_dir: Path) -> list[str]:
    """The memory behind every vector in a CLOSED app's embedded Chroma store: for each id, its
    item row's text in `familiar.db`. Chroma itself must hold no text (memory.vectors), and no
    vector may outlive its item (a forgotten memory's would still be searched): either fails here."""

    def read() -> list[str]:
        client = chromadb.PersistentClient(
            path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        with contextlib.closing(sqlite3.connect(data_dir / "familiar.db")) as db:
            texts = dict(db.execute("SELECT id, text FROM ltm_items"))
            found: list[str] = []
            for listed in client.list_collections():
                got = client.get_collection(listed.name).get(include=["documents"])
                kept = [d for d in got.get("documents") or [] if d]
                assert kept == [], f"Chroma holds texts in {listed.name}: {kept}"
                if listed.name.startswith("ltm-"):
                    orphans = [i for i in got["ids"] if i not in texts]
                    assert orphans == [], f"vectors without an item in {listed.name}: {orphans}"
                    found += [texts[i] for i in got["ids"]]
            return found

    return await asyncio.to_thread(read)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    """Wait until `check()` holds: for background work with no completion signal (the journal
    scheduler writes after a quiet gap, outside the post-turn queue)."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)
