"""The 200-user load with learning in a worker process, on Redis and the real OpenAI SDK.

    python -m bench.scale [--users 200] [--latency 0.5] [--samples 300] [--learned 200]

A gateway (`App(role="gateway")`, in this process: the engine only records each turn's jobs in
the shared queue) and one `familiar worker` child process on one redis-server and one data
directory; the wire-level LLM server runs in its own process with latency L for every call
(replies and the fact-learning call alike), like a remote endpoint. Measured:
(0) the SDK alone: `--users` concurrent streamed calls to the same server (the floor under (1));
(1) `--users` concurrent users, one message each, through `PersonaEngine.submit` and AsyncOpenAI:
    wall time vs L, while the worker learns from the turns before them;
(2) `submit()` overhead p50/p99 with an instant provider, `--samples` turns one at a time, over the
    memories stored so far (printed);
(3) one worker's learned turns per second: `--learned` turns queued at once, timed until the
    queue is empty (each turn: store its memories, one fact-learning call of latency L, journal note).
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.turns import sdk_floor
from bot.app import App
from bot.config import Settings, load_settings
from persona.engine import PersonaEngine
from persona.types import IncomingMessage
from tests.fakes.sinks import RecordingSink
from tests.support.llm_server import LLMServer, RecordedRequest
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _responder(request: RecordedRequest) -> str:
    if "long-term memory" in request.system_text:
        return json.dumps({"facts": [], "dossier": "Benchmarks things."})
    return f"You said: {request.last_user_text[:80]}"


async def serve(latency_s: float) -> None:
    async with LLMServer(latency_s=latency_s) as server:
        server.set_responder(_responder)
        print(server.openai_base_url, flush=True)
        await asyncio.Event().wait()


class Child:
    """A child process that prints one line (a URL, a ready line) and then runs until stopped."""

    def __init__(self, argv: list[str], env: dict[str, str], ready: str = "") -> None:
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.line = self._wait_for(ready)
        # Keep reading what it says afterwards (its logs): a full pipe would stop the child.
        threading.Thread(target=self._drain, name="bench-child-output", daemon=True).start()

    def _drain(self) -> None:
        assert self._proc.stdout is not None
        for _ in self._proc.stdout:
            pass

    def _wait_for(self, ready: str) -> str:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if ready in line:
                return line.strip()
        raise RuntimeError(f"{self._proc.args!r} ended before saying {ready!r}")

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def message(u: int, n: int) -> IncomingMessage:
    return IncomingMessage(
        platform="bench", room_id=f"dm-{u}", author_id=f"u{u}", author_name=f"user{u}",
        text=f"round {n}: I am user {u} and I like the number {u * 7 + n}", event_id=f"e-{n}-{u}",
        is_dm=True,
    )  # fmt: skip


def settings_for(data_dir: Path, redis_url: str, llm_url: str) -> Settings:
    return load_settings(
        env_file=None, data_dir=data_dir, redis_url=redis_url, openai_base_url=llm_url,
        openai_api_key="k", engine={"rate_limit_per_minute": 0, "daily_token_quota": 0},
        persona="default",
    )  # fmt: skip


def child_env(data_dir: Path, redis_url: str, llm_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "REDIS_", "FAMILIAR_"))}
    return {**base, "PYTHONPATH": str(ROOT), "FAMILIAR_DATA_DIR": str(data_dir), "REDIS_URL": redis_url,
            "OPENAI_BASE_URL": llm_url, "OPENAI_API_KEY": "k", "FAMILIAR_ENV_FILE": "/dev/null",
            "FAMILIAR_ENGINE__RATE_LIMIT_PER_MINUTE": "0",
            "FAMILIAR_ENGINE__DAILY_TOKEN_QUOTA": "0"}  # fmt: skip


async def concurrent(engine: PersonaEngine, users: int, round_id: int) -> float:
    sinks = [RecordingSink() for _ in range(users)]
    t0 = time.perf_counter()
    await asyncio.gather(*(engine.submit(message(u, round_id), sinks[u]) for u in range(users)))
    wall = time.perf_counter() - t0
    failed = sum(1 for s in sinks if not s.sent or s.sent[0].is_error)
    if failed:
        print(f"  warning: {failed} of {users} turns did not get a model reply")
    return wall


async def overhead(app: App, samples: int) -> tuple[float, float]:
    from tests.fakes.provider import ScriptedProvider

    built = app.built
    instant = PersonaEngine(
        stores=built.engine._stores, catalog=built.catalog, provider_for=lambda p: ScriptedProvider(),
        settings=app.settings.engine, run_post_turn=False,
    )  # fmt: skip
    await instant.start()
    times = []
    for n in range(samples):
        sink = RecordingSink()
        t0 = time.perf_counter()
        await instant.submit(message(n % 50, 10_000 + n), sink)
        times.append((time.perf_counter() - t0) * 1000)
    await instant.close()
    return pct(times, 0.5), pct(times, 0.99)


async def depth(app: App) -> int:
    assert app.opened is not None
    assert app.opened.queue is not None
    return (await app.opened.queue.stats()).depth


async def until_empty(app: App, seconds: float = 1800.0) -> float:
    t0 = time.perf_counter()
    async with asyncio.timeout(seconds):
        while await depth(app):  # noqa: ASYNC110 - the queue is in Redis: nothing to await
            await asyncio.sleep(0.05)
    return time.perf_counter() - t0


def memories(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "familiar.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM ltm_items").fetchone()[0])


async def main_async(args: argparse.Namespace) -> None:
    L = args.latency
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    llm = Child([sys.executable, "-m", "bench.scale", "--serve", str(L)], env, "http")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        data_dir = Path(tmp) / "data"
        async with RedisServer() as redis:
            settings = settings_for(data_dir, redis.url, llm.line)
            async with App(settings, role="gateway") as app:  # creates the stores before the worker starts
                worker = Child(
                    [sys.executable, "-m", "bot", "worker"],
                    child_env(data_dir, redis.url, llm.line),
                    "familiar worker",
                )
                try:
                    await run(app, args, data_dir, L)
                finally:
                    worker.stop()
    llm.stop()


async def run(app: App, args: argparse.Namespace, data_dir: Path, L: float) -> None:
    engine = app.built.engine
    await concurrent(engine, 10, 0)  # warm the SDK's pool and lazy imports
    await until_empty(app)  # the worker has loaded its model and learned those: it is idle
    floor = await sdk_floor(app.settings.openai_base_url or "", args.users)
    print(f"(0) the OpenAI SDK alone, {args.users} concurrent streamed calls to the same server, same"
          f" process: wall {floor * 1000:.0f} ms = {floor / L:.2f} x L (the floor under (1))")  # fmt: skip
    wall = await concurrent(engine, args.users, 1)
    print(f"(1) {args.users} concurrent users through AsyncOpenAI (L = {L * 1000:.0f} ms), learning in a"
          f" worker process: wall {wall * 1000:.0f} ms = {wall / L:.2f} x L")  # fmt: skip
    await until_empty(app)
    p50, p99 = await overhead(app, args.samples)
    print(f"(2) submit() overhead, instant provider, {memories(data_dir)} memories stored:"
          f" p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    await until_empty(app)
    await asyncio.gather(*(engine.submit(message(u, 2), RecordingSink()) for u in range(args.learned)))
    queued = await depth(app)
    drained = await until_empty(app)
    turns = args.learned
    print(f"(3) one worker learned {turns} turns ({queued} jobs still queued when the replies were"
          f" done) in {drained:.1f} s: {turns / drained:.1f} turns/s"
          f" (fact-learning call L = {L * 1000:.0f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5, help="LLM latency L in seconds")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--learned", type=int, default=200)
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
