"""Killing `familiar chat` mid-conversation and counting what an acknowledged turn left behind.

A turn is *acknowledged* when its reply was printed: the person saw it. After the process is
killed (SIGKILL) or stopped (SIGTERM) and started again, every acknowledged turn must be in
history (both lines), in long-term memory (both lines) and must have taught its fact. The
learning call is slow on purpose (`LEARNING_DELAY_S`), as a real model's is, so killing soon
after a reply catches its post-turn work in flight.

Used by the suite (small, bounded loops) and by `bench/durability.py` (the measured table).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.llm_server import LLMServer, RecordedRequest, Responder

ROOT = Path(__file__).resolve().parents[2]
LEARNING_DELAY_S = 2.0
REPLY_TIMEOUT_S = 180.0  # a cold start on a loaded 2-core machine took ~30 s
_CODE = re.compile(r"my code is (w\d+x)")
_NEW_MESSAGES = "New messages from the user:"


def slow_learning_responder(delay_s: float = LEARNING_DELAY_S) -> Responder:
    """Replies at once; the fact-extraction call takes `delay_s` and learns each message's code."""

    async def respond(request: RecordedRequest) -> str:
        if "long-term memory" in request.system_text:
            await asyncio.sleep(delay_s)
            said = request.last_user_text.split(_NEW_MESSAGES, 1)[-1]
            facts = [
                {
                    "subject": "user",
                    "attribute": f"code_{code}",
                    "value": code,
                    "kind": "identity",
                    "confidence": 0.95,
                }
                for code in _CODE.findall(said)
            ]
            return json.dumps({"facts": facts, "dossier": "Keeps telling me codes."})
        if "journal" in request.system_text.lower() and not request.stream:
            return "A quiet talk."
        return f"Reply to: {request.last_user_text}"

    return respond


def message(n: int) -> str:
    return f"note {n}: my code is w{n}x"


@dataclass(slots=True)
class ChatProcess:
    """One `familiar chat` process fed line by line; `replies` are the lines it printed."""

    server: LLMServer
    data_dir: Path
    root: Path = ROOT
    extra_env: dict[str, str] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    stderr: bytes = b""
    _proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "FAMILIAR_"))
        }
        env = {
            **base,
            "PYTHONPATH": str(self.root),
            "OPENAI_BASE_URL": self.server.openai_base_url,
            "OPENAI_API_KEY": "test-key",
            "FAMILIAR_DATA_DIR": str(self.data_dir),
            "FAMILIAR_ENGINE__RATE_LIMIT_PER_MINUTE": "0",
            "FAMILIAR_ENGINE__DAILY_TOKEN_QUOTA": "0",
            **self.extra_env,
        }
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "chat",
            cwd=self.data_dir.parent,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    @property
    def proc(self) -> asyncio.subprocess.Process:
        assert self._proc is not None, "not started"
        return self._proc

    async def send(self, *lines: str) -> list[str]:
        """Write the lines at once (a burst), then read one printed line per input line."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
        await self.proc.stdin.drain()
        got: list[str] = []
        for _ in lines:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), REPLY_TIMEOUT_S)
            assert raw, f"familiar chat ended early: {await self._stderr_tail()}"
            got.append(raw.decode().rstrip("\n"))
        self.replies += got
        return got

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self, *, sig: int = signal.SIGTERM, timeout_s: float = 120.0) -> int:
        """Send `sig` (or close stdin when sig is 0) and wait for the process to exit."""
        if sig:
            self.proc.send_signal(sig)
        elif self.proc.stdin is not None:
            self.proc.stdin.close()
        _, self.stderr = await asyncio.wait_for(self.proc.communicate(), timeout_s)
        return self.proc.returncode or 0

    async def _stderr_tail(self) -> str:
        assert self.proc.stderr is not None
        with contextlib.suppress(TimeoutError):
            self.stderr = await asyncio.wait_for(self.proc.stderr.read(), 5)
        return self.stderr.decode(errors="replace")[-2000:]


@dataclass(frozen=True, slots=True, kw_only=True)
class Remembered:
    """What the data directory holds, read straight from SQLite after the process exited."""

    history: frozenset[str]
    memories: frozenset[str]
    facts: frozenset[str]

    @classmethod
    def read(cls, data_dir: Path) -> Remembered:
        with contextlib.closing(sqlite3.connect(data_dir / "familiar.db")) as db:
            return cls(
                history=frozenset(_column(db, "SELECT text FROM history")),
                memories=frozenset(_column(db, "SELECT text FROM ltm_items")),
                facts=frozenset(_column(db, "SELECT value FROM facts")),
            )

    def missing(self, acknowledged: Sequence[tuple[str, str]]) -> list[str]:
        """The acknowledged (message, reply) pairs that lost their history, memory or fact."""
        lost = self.missing_by_store(acknowledged)
        return sorted(set(lost["history"]) | set(lost["memory"]) | set(lost["facts"]))

    def missing_by_store(self, acknowledged: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
        lost: dict[str, list[str]] = {"history": [], "memory": [], "facts": []}
        for sent, reply in acknowledged:
            code = _CODE.search(sent)
            if not {sent, reply} <= self.history:
                lost["history"].append(sent)
            if not {sent, reply} <= self.memories:
                lost["memory"].append(sent)
            if code is not None and code.group(1) not in self.facts:
                lost["facts"].append(sent)
        return lost


def _column(db: sqlite3.Connection, sql: str) -> list[str]:
    try:
        return [str(row[0]) for row in db.execute(sql)]
    except sqlite3.OperationalError:  # the table was never created: nothing was stored
        return []


async def read_remembered(data_dir: Path) -> Remembered:
    return await asyncio.to_thread(Remembered.read, data_dir)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrashRun:
    acknowledged: int
    missing: list[str]  # lost from any of history, memory and facts
    by_store: dict[str, list[str]]


async def crash_loop(
    server: LLMServer,
    data_dir: Path,
    *,
    how: int,
    rounds: int,
    per_round: int,
    burst: bool = False,
    root: Path = ROOT,
    env: dict[str, str] | None = None,
) -> CrashRun:
    """`rounds` times: start, say `per_round` messages, stop with signal `how` right after the
    last reply. Then one clean start that reads no input (it resumes and drains), and the count."""
    acknowledged: list[tuple[str, str]] = []
    n = 0
    for _ in range(rounds):
        chat = ChatProcess(server, data_dir, root=root, extra_env=dict(env or {}))
        await chat.start()
        lines = [message(n + i) for i in range(per_round)]
        n += per_round
        if burst:
            replies = await chat.send(*lines)
        else:
            replies = [(await chat.send(line))[0] for line in lines]
        acknowledged += zip(lines, replies, strict=True)
        if how == signal.SIGKILL:
            await chat.kill()
        else:
            await chat.stop(sig=how)
    final = ChatProcess(server, data_dir, root=root, extra_env={**(env or {}), **_FINAL_DRAIN})
    await final.start()
    code = await final.stop(sig=0)
    assert code == 0, final.stderr.decode(errors="replace")[-2000:]
    remembered = await read_remembered(data_dir)
    return CrashRun(
        acknowledged=len(acknowledged),
        missing=remembered.missing(acknowledged),
        by_store=remembered.missing_by_store(acknowledged),
    )


# The last, clean run waits for everything the earlier ones left to do.
_FINAL_DRAIN = {"FAMILIAR_ENGINE__JOBS__DRAIN_TIMEOUT_S": "120"}
