"""Crash and outage benchmark: `familiar run` killed mid-reply, and Redis stopped mid-conversation.

    python -m bench.claims [--tree DIR] [--python PY] [--outage-s 30] [--messages 15]

(1) kill -9 with REDIS_URL: a child `familiar run` (Discord through the gateway fake, stores and
    session locks on a real redis-server) is killed while its reply is being generated; a second
    child starts on the same data; the same person writes again. Prints the seconds from the
    kill and from the second child's readiness to that answer, and whether the interrupted
    message, delivered again, was answered (and how often).
(2) Redis outage: with a child running on Redis, Redis is stopped for `--outage-s` while the
    person sends `--messages` messages, one every outage/messages seconds; then Redis is started
    on the same port and the person writes once more. Prints how many of the outage messages got
    a reply (or a friendly line), how many bot messages there were, and the largest number of the
    person's messages one reply answered (fused).

`--tree` runs another checkout's code (e.g. main, for a before/after table) with its own Python.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.discord_fake import BOT_USER, CHANNEL_ID, FakeDiscord
from tests.support.llm_server import LLMServer, hang
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
READY_LINE = "discord connected as"
# The endpoint switch `patch_discord_py` makes, then the real CLI: works on any checkout.
CHILD = """
import sys, warnings, yarl
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import discord
from bot.cli import main
discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = sys.argv[1], yarl.URL(sys.argv[2])
sys.argv = ["familiar", "run"]
main()
"""


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="bench-child-log")

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            if READY_LINE in raw.decode(errors="replace"):
                self.ready.set()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._reader


async def start_child(
    args: argparse.Namespace, work: Path, fake: FakeDiscord, llm: LLMServer, redis: str
) -> Child:
    config = work / "familiar.yaml"
    sections = {
        "discord": {"token": "fake-token", "stream_edit_interval": 0.0, "typing_refresh": 3600.0,
                    "guild_ready_timeout": 0.05},
        "embedding": {"backend": "openai", "base_url": llm.openai_base_url, "api_key": "k"},
    }  # fmt: skip
    config.write_text(json.dumps(sections))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "REDIS_"))}
    env = {**base, "PYTHONPATH": str(args.tree), "FAMILIAR_CONFIG": str(config),
           "FAMILIAR_ENV_FILE": "/dev/null", "FAMILIAR_DATA_DIR": str(work / "data"),
           "OPENAI_BASE_URL": llm.openai_base_url, "OPENAI_API_KEY": "k", "REDIS_URL": redis}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        args.python, "-c", CHILD, fake.api_base, fake.gateway_url, cwd=work, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    child = Child(process)
    async with asyncio.timeout(180):
        await child.ready.wait()
    return child


def mention(fake: FakeDiscord, text: str) -> dict[str, Any]:
    return fake.message(content=f"<@{BOT_USER['id']}> {text}", mentions=(BOT_USER,))


def bot_posts(fake: FakeDiscord) -> list[dict[str, Any]]:
    path = f"/api/v10/channels/{CHANNEL_ID}/messages"
    return [r.json or {} for r in fake.requests if r.method == "POST" and r.path == path]


def replies_to(fake: FakeDiscord, message: dict[str, Any]) -> int:
    return sum(
        str((p.get("message_reference") or {}).get("message_id")) == message["id"] for p in bot_posts(fake)
    )


async def until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def kill_nine(args: argparse.Namespace, llm: LLMServer, redis: RedisServer) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeDiscord()
        await fake.start()
        llm.script(hang())
        question = mention(fake, "what did the dentist say?")
        first = await start_child(args, Path(tmp), fake, llm, redis.url)
        await fake.dispatch("MESSAGE_CREATE", question)
        await until(lambda: any("dentist" in r.last_user_text for r in llm.chat_requests), 60)
        await first.kill()
        killed_at = time.monotonic()
        second = await start_child(args, Path(tmp), fake, llm, redis.url)
        ready_at = time.monotonic()
        follow = mention(fake, "and when is my next appointment?")
        await fake.dispatch("MESSAGE_CREATE", follow)
        answered = await until(lambda: replies_to(fake, follow) == 1, 300)
        done = time.monotonic()
        await fake.dispatch("MESSAGE_CREATE", question)  # delivered again after the restart
        await until(lambda: replies_to(fake, question) >= 1, 60)
        await fake.dispatch("MESSAGE_CREATE", question)
        await asyncio.sleep(2.0)
        print("kill -9 with REDIS_URL:")
        print(f"  next message answered: {answered}; {done - ready_at:.2f} s after the restart was ready,")
        print(f"  {done - killed_at:.2f} s after the kill (the restart itself {ready_at - killed_at:.1f} s)")
        print(f"  interrupted message answered after its re-delivery: {replies_to(fake, question)} time(s)")
        await second.kill()
        await fake.close()


async def outage(args: argparse.Namespace, llm: LLMServer, redis: RedisServer) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeDiscord()
        await fake.start()
        child = await start_child(args, Path(tmp), fake, llm, redis.url)
        warm = mention(fake, "hello before the outage")
        await fake.dispatch("MESSAGE_CREATE", warm)
        await until(lambda: replies_to(fake, warm) == 1, 60)
        before = len(bot_posts(fake))
        await redis.close()
        sent = []
        for index in range(args.messages):
            sent.append(mention(fake, f"outage message {index}"))
            await fake.dispatch("MESSAGE_CREATE", sent[-1])
            await asyncio.sleep(args.outage_s / args.messages)
        during = len(bot_posts(fake)) - before
        await redis.start(port=redis.port)
        after = mention(fake, "are you back?")
        await fake.dispatch("MESSAGE_CREATE", after)
        await until(lambda: replies_to(fake, after) == 1, 120)
        await asyncio.sleep(2.0)
        prompts = [r for r in llm.chat_requests if r.stream and "outage message" in r.last_user_text]
        fused = max((r.last_user_text.count("outage message") for r in prompts), default=0)
        answered = sum(replies_to(fake, m) >= 1 for m in sent)
        print(f"Redis stopped {args.outage_s:.0f} s:")
        print(f"  {args.messages} messages: {during} bot messages during the outage;")
        print(f"  {answered} of {args.messages} answered in the end; at most {fused} fused into one turn")
        await child.kill()
        await fake.close()


async def main(args: argparse.Namespace) -> None:
    async with LLMServer() as llm:
        llm.set_responder(lambda request: f"Answer to: {request.last_user_text[-60:]}")
        async with RedisServer() as redis:
            await kill_nine(args, llm, redis)
        async with RedisServer() as redis:
            await outage(args, llm, redis)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose code the bot runs")
    parser.add_argument("--python", default=sys.executable, help="that checkout's Python")
    parser.add_argument("--outage-s", type=float, default=30.0)
    parser.add_argument("--messages", type=int, default=15)
    asyncio.run(main(parser.parse_args()))
