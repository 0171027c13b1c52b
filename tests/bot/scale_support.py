"""Familiar scaled out in real processes: gateways (one Discord shard each) and learning workers on
one Redis and one Chroma server, behind the sharded Discord fake, killed with -9 under load.

Used by tests/bot/test_scale_out_kill.py (few rounds) and bench/scale_kill.py (more rounds).
A reply is *seen* once its whole text reached Discord (the final edit); every seen reply must be
in history and long-term memory afterwards, no message may get two replies, and every journal
entry must be written once. Where the relational stores live comes from `store_env` alone
(today one shared SQLite data directory, WAL; DATABASE_URL once the Postgres stores land).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from memory.redis.history import RedisHistoryStore
from tests.support.discord_fake import BOT_USER, FakeDiscord, channel_of, member, user
from tests.support.llm_server import LLMServer, RecordedRequest

ROOT = Path(__file__).resolve().parents[2]
START_S = 240.0  # five cold starts share two cores with whatever else runs
REPLY_DELAY_S = 0.4  # a reply takes this long: a kill often lands mid-turn
LEARNING_DELAY_S = 1.0  # so does learning: a worker kill often lands mid-job
THINK_S = 3.0  # between one person's lines, while the kills go on
GATEWAY_READY = "discord connected as"
WORKER_READY = "familiar worker: learning"
_MARK = re.compile(r"\[(u\d+m\d+)\]")
_NEW_MESSAGES = "New messages from the user:"


def responder(reply_delay_s: float = REPLY_DELAY_S, learning_delay_s: float = LEARNING_DELAY_S) -> Any:
    async def respond(request: RecordedRequest) -> str:
        if "long-term memory" in request.system_text:
            await asyncio.sleep(learning_delay_s)
            return json.dumps({"facts": [], "dossier": "Talks in numbered lines."})
        if "journal" in request.system_text.lower() and not request.stream:
            return "A quiet talk about numbered lines."
        marks = _MARK.findall(request.last_user_text.split(_NEW_MESSAGES, 1)[-1])
        await asyncio.sleep(reply_delay_s)
        return f"Noted {' '.join(marks)} done."

    return respond


def settings_file(path: Path, llm: LLMServer) -> Path:
    sections = {
        # Streamed edits at most every half second, as a real bot paces them: the whole text
        # then reaches Discord with the final edit, after the turn is committed.
        "discord": {"token": "fake-token", "stream_edit_interval": 0.5, "typing_refresh": 3600.0,
                    "guild_ready_timeout": 0.05, "close_drain_timeout": 1.0},
        # Short leases: a dead worker's jobs, a dead gateway's claims and sessions free quickly.
        # No limits: the scripted people talk faster than the default 20 lines a minute, and a
        # limit's polite refusal is not the reply the load waits for.
        "engine": {"jobs": {"lease_s": 2.0, "drain_timeout_s": 1.0}, "claim_lease_s": 2.0,
                   "rate_limit_per_minute": 0, "daily_token_quota": 0},
        "learning": {"quiet_gap_s": 1.5},
        "embedding": {"backend": "openai", "base_url": llm.openai_base_url, "api_key": "test-key"},
    }  # fmt: skip
    path.write_text(json.dumps(sections))
    return path


@dataclass(slots=True)
class Child:
    """One `familiar` child process; `ready` is set when its role's start line appears."""

    argv: list[str]
    ready_line: str
    process: asyncio.subprocess.Process | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    log: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def start(self, env: Mapping[str, str], cwd: Path) -> None:
        self.ready = asyncio.Event()
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self.reader = asyncio.create_task(self._read(self.process), name="scale-child-log")

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if self.ready_line in line:
                self.ready.set()

    async def wait_ready(self) -> None:
        try:
            async with asyncio.timeout(START_S):
                await self.ready.wait()
        except TimeoutError:
            tail = "".join(self.log[-30:])
            code = self.process.returncode if self.process else None
            raise AssertionError(f"{' '.join(self.argv[5:])} did not start (exit {code}):\n{tail}") from None

    async def stop(self, sig: int = signal.SIGKILL) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(sig)
        async with asyncio.timeout(60):
            await process.wait()
            if self.reader is not None:
                await self.reader


@dataclass(slots=True)
class Cluster:
    fake: FakeDiscord
    llm: LLMServer
    env: dict[str, str]
    cwd: Path
    gateways: list[Child]
    workers: list[Child]
    kills: Counter[str] = field(default_factory=Counter)

    async def start_all(self) -> None:
        first, *others = [*self.gateways, *self.workers]
        await first.start(self.env, self.cwd)  # creates the schemas and collections alone
        await first.wait_ready()
        for child in others:
            await child.start(self.env, self.cwd)
        for child in others:
            await child.wait_ready()

    async def restart(self, child: Child) -> None:
        await child.stop(signal.SIGKILL)
        await child.start(self.env, self.cwd)
        await child.wait_ready()

    def tails(self, lines: int = 15) -> str:
        """The last lines each process logged, and every warning and claim decision any of its
        runs logged (a lost line's story starts long before the tail): what a failure shows."""
        return "\n".join(
            f"--- {' '.join(child.argv[5:])}:\n{''.join(child.log[-lines:])}"
            f"  (warnings and claims, all runs:)\n{''.join(_telling(child.log)[-lines:])}"
            for child in [*self.gateways, *self.workers]
        )

    async def stop_all(self, sig: int = signal.SIGTERM) -> None:
        for child in [*self.gateways, *self.workers]:
            await child.stop(sig)


_TELLING = re.compile(r" (WARNING|ERROR) |persona\.engine: ")


def _telling(log: list[str]) -> list[str]:
    return [line for line in log if _TELLING.search(line) and "Can't keep up" not in line]


def child_env(
    llm: LLMServer, config: Path, redis_url: str, chroma_url: str, store_env: Mapping[str, str]
) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "REDIS_", "FAMILIAR_"))
    }
    return {**base, "PYTHONPATH": str(ROOT), "FAMILIAR_CONFIG": str(config), "FAMILIAR_ENV_FILE": "/dev/null",
            "OPENAI_BASE_URL": llm.openai_base_url, "OPENAI_API_KEY": "test-key", "REDIS_URL": redis_url,
            "CHROMA_URL": chroma_url, **store_env}  # fmt: skip


@contextlib.asynccontextmanager
async def cluster(
    fake: FakeDiscord, llm: LLMServer, *, env: dict[str, str], cwd: Path, workers: int = 2
) -> AsyncIterator[Cluster]:
    child = [sys.executable, "-m", "tests.support.familiar_child", fake.api_base, fake.gateway_url]
    count = fake.shard_count
    gateways = [
        Child(
            [*child, "run", "--role", "gateway", "--shard-ids", str(i), "--shard-count", str(count)],
            GATEWAY_READY,
        )
        for i in range(count)
    ]
    running = Cluster(
        fake, llm, env, cwd, gateways, [Child([*child, "worker"], WORKER_READY) for _ in range(workers)]
    )
    try:
        await running.start_all()
        yield running
    finally:
        await running.stop_all(signal.SIGKILL)


# ---- the scripted load ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Said:
    mark: str
    text: str
    payload: dict[str, Any]
    author: str  # discord:<id>


def _people(fake: FakeDiscord, per_guild: int) -> list[tuple[dict[str, Any], int]]:
    people = []
    for g, guild_id in enumerate(fake.guild_ids):
        for k in range(per_guild):
            people.append((user(910000000000000100 + g * 10 + k, f"person{g}{k}"), guild_id))
    return people


def _message(fake: FakeDiscord, who: dict[str, Any], guild_id: int, mark: str) -> Said:
    text = f"<@{BOT_USER['id']}> [{mark}] here is line {mark} of my day"
    payload = fake.message(content=text, author=who, channel_id=channel_of(guild_id), guild_id=guild_id,
                           mentions=(BOT_USER,))  # fmt: skip
    payload["member"] = {k: v for k, v in member(who).items() if k != "user"}
    return Said(mark=mark, text=text, payload=payload, author=f"discord:{who['id']}")


class _Ledger:
    """What the fake Discord was sent, read once: each request is scanned when it first shows up,
    not on every poll. (Six people polling every request every 50 ms made the test process, which
    also serves the fake gateway, answer heartbeats 45 s late once a long run had thousands.)"""

    def __init__(self) -> None:
        self.read = 0
        self.whole: set[str] = set()  # marks named by a reply's final text
        self.replying_to: dict[str, str] = {}  # bot message -> the message it replies to
        self.text: dict[str, str] = {}  # bot message -> its text as last posted or edited

    def update(self, fake: FakeDiscord) -> None:
        fresh = fake.requests[self.read :]
        self.read += len(fresh)
        for r in fresh:
            if r.method not in {"POST", "PATCH"} or "/messages" not in r.path or r.message_id is None:
                continue
            body = r.json or {}
            content = str(body.get("content", ""))
            self.text[r.message_id] = content
            if content.endswith("done."):
                self.whole.update(_REPLY_MARK.findall(content))
            reference = body.get("message_reference") or {}
            if r.method == "POST" and reference.get("message_id") is not None:
                self.replying_to[r.message_id] = str(reference["message_id"])

    def whole_replies(self, message_id: str) -> int:
        """Replies to one message that reached the person whole. A reply cut off by its
        gateway's death, then given in full after the restart, is one answer."""
        return sum(
            1
            for reply, to in self.replying_to.items()
            if to == message_id and self.text.get(reply, "").endswith("done.")
        )


_LEDGERS: weakref.WeakKeyDictionary[FakeDiscord, _Ledger] = weakref.WeakKeyDictionary()
_REPLY_MARK = re.compile(r"\bu\d+m\d+\b")


def _ledger(fake: FakeDiscord) -> _Ledger:
    ledger = _LEDGERS.setdefault(fake, _Ledger())
    ledger.update(fake)
    return ledger


def seen(fake: FakeDiscord, mark: str) -> bool:
    """The whole reply reached the person (its final text, posted or edited in)."""
    return mark in _ledger(fake).whole


def replies(fake: FakeDiscord, said: Said) -> int:
    """Whole replies to this message: more than one is an event answered twice."""
    return _ledger(fake).whole_replies(str(said.payload["id"]))


# A line's gateway may die twice while it waits (a restart under load, then the dead holder's
# claim lease running out): generous, since it bounds a failure, not a measurement.
TALK_TOTAL_S = 300.0


async def talk(
    fake: FakeDiscord, said: Said, *, patience_s: float = 5.0, total_s: float = TALK_TOTAL_S
) -> None:
    """Send, and send the same event again while no reply came (its gateway died, as Discord
    re-delivers after a RESUME or a person repeats): the dedup claim must answer it once."""
    try:
        async with asyncio.timeout(total_s):
            while True:
                await fake.dispatch("MESSAGE_CREATE", said.payload)
                deadline = time.monotonic() + patience_s
                while time.monotonic() < deadline:
                    if seen(fake, said.mark):
                        return
                    await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"line {said.mark} got no whole reply within {total_s:.0f} s") from None


async def person(
    fake: FakeDiscord,
    who: dict[str, Any],
    guild_id: int,
    index: int,
    *,
    lines: int,
    until: asyncio.Event | None,
) -> list[Said]:
    """At least `lines` lines, one after another's reply; and on while `until` is not set, so the
    kills keep landing on turns and jobs in flight however long the restarts take."""
    said: list[Said] = []
    while len(said) < lines or (until is not None and not until.is_set()):
        line = _message(fake, who, guild_id, f"u{index}m{len(said)}")
        await talk(fake, line)
        said.append(line)
        if until is not None:  # a pause between lines, as people take: turns keep overlapping
            await asyncio.sleep(THINK_S)  # across the six, and a long run's backlog stays small
    return said


async def load(
    fake: FakeDiscord, *, per_guild: int, lines: int, until: asyncio.Event | None = None
) -> list[Said]:
    people = _people(fake, per_guild)
    done = await asyncio.gather(
        *(person(fake, who, g, i, lines=lines, until=until) for i, (who, g) in enumerate(people))
    )
    return [line for lines_of in done for line in lines_of]


async def under_load(
    running: Cluster, *, per_guild: int, lines: int, rounds: int, rng: random.Random
) -> list[Said]:
    """The scripted load, lasting at least as long as `rounds` kills: what everyone said."""
    chaos_done = asyncio.Event()
    talking = asyncio.create_task(
        load(running.fake, per_guild=per_guild, lines=lines, until=chaos_done), name="scripted-load"
    )
    try:
        await chaos(running, rounds=rounds, rng=rng)
    except BaseException:
        talking.cancel()
        raise
    chaos_done.set()
    try:
        return await talking
    except AssertionError as error:
        raise AssertionError(f"{error}\n{running.tails()}") from None


async def chaos(running: Cluster, *, rounds: int, rng: random.Random, pause_s: float = 1.5) -> None:
    """kill -9 a gateway, then a worker, alternately, each while turns and jobs are in flight."""
    for n in range(rounds):
        await asyncio.sleep(pause_s * (0.5 + rng.random()))
        group, label = (running.gateways, "gateway") if n % 2 == 0 else (running.workers, "worker")
        await running.restart(rng.choice(group))
        running.kills[label] += 1


# ---- what is left afterwards --------------------------------------------------------------------


async def wait_drained(client: Redis, store_env: Mapping[str, str], seconds: float = 60.0) -> None:
    """Every queued job done and every journal draft written."""
    drafts = "SELECT COUNT(*) FROM journal_drafts"
    queued = waiting = 0
    try:
        async with asyncio.timeout(seconds):
            # Polling: the queue and the drafts live in other processes' stores, with nothing to await.
            while True:
                queued = await client.xlen("familiar:queue:jobs")
                waiting = await _scalar(store_env, drafts)
                if not queued and not waiting:
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        dead = await client.llen("familiar:queue:dead")
        raise AssertionError(
            f"not drained after {seconds:.0f} s: {queued} jobs queued, {dead} dead letters,"
            f" {waiting} journal drafts unwritten"
        ) from None


async def _rows(store_env: Mapping[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Rows of the relational store the processes share: Postgres with DATABASE_URL, else the
    SQLite file in their common data directory."""
    url = store_env.get("DATABASE_URL")
    if url:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    return await asyncio.to_thread(_sqlite_rows, Path(store_env["FAMILIAR_DATA_DIR"]), sql)


def _sqlite_rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(data_dir / "familiar.db", timeout=10)) as db:
        return list(db.execute(sql))


async def _scalar(store_env: Mapping[str, str], sql: str) -> int:
    [(value,)] = await _rows(store_env, sql)
    return int(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    seen: int
    lost_from_history: list[str]
    lost_from_memory: list[str]
    answered_twice: list[str]
    journal_entries: int
    journal_written_twice: list[str]


async def outcome(
    fake: FakeDiscord, client: Redis, store_env: Mapping[str, str], said: list[Said]
) -> Outcome:
    shown = [s for s in said if seen(fake, s.mark)]
    history = await RedisHistoryStore(client).export(frozenset(s.author for s in said))
    in_history = "\n".join(t.text for t in history)
    in_memory = "\n".join(row[0] for row in await _rows(store_env, "SELECT text FROM ltm_items"))
    entries = [row[0] for row in await _rows(store_env, "SELECT id FROM journal WHERE kind = 'entry'")]
    files = await asyncio.to_thread(_journal_marks, Path(store_env["FAMILIAR_DATA_DIR"]))
    in_files = Counter(files)
    return Outcome(
        seen=len(shown),
        lost_from_history=[s.mark for s in shown if not _both(s.mark, in_history)],
        lost_from_memory=[s.mark for s in shown if not _both(s.mark, in_memory)],
        answered_twice=[s.mark for s in said if replies(fake, s) > 1],
        journal_entries=len(entries),
        journal_written_twice=[e for e in entries if in_files[e] != 1]
        + [e for e, c in in_files.items() if c > 1],
    )


def _both(mark: str, text: str) -> bool:
    """The person's line and the reply naming it."""
    return f"here is line {mark} " in text and bool(re.search(rf"Noted [^\n]*\b{mark}\b", text))


def _journal_marks(data_dir: Path) -> list[str]:
    marks = []
    for path in sorted((data_dir / "journal").rglob("*.md")):
        marks += re.findall(r"<!-- journal-entry: (journal:[^ ]+) -->", path.read_text())
    return marks
