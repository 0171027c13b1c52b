"""Acknowledged turns lost to kill -9 and to SIGTERM, with a learning call as slow as a real model's.

    python -m bench.durability [--rounds 6] [--per-round 3] [--root DIR]

Runs the real `familiar chat` process against the local wire-level LLM server, whose
fact-extraction call takes 2 s. Each round says `--per-round` messages (one at a time, then as
one burst), stops the process right after the last reply, and the next round starts it again;
a last clean run drains what is left. Counts acknowledged turns (the reply was printed) missing
from history, long-term memory or facts afterwards. `--root` runs another checkout's code
(e.g. an exported main) with this one's harness. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
from pathlib import Path

from tests.bot.crash_support import ROOT, crash_loop, slow_learning_responder
from tests.support.llm_server import LLMServer


async def _measure(root: Path, rounds: int, per_round: int) -> None:
    print("| stop | messages | acknowledged | missing (any) | from history | from memory | from facts |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for how, label in ((signal.SIGKILL, "kill -9"), (signal.SIGTERM, "SIGTERM")):
        for burst in (False, True):
            async with LLMServer() as server:
                server.set_responder(slow_learning_responder())
                with tempfile.TemporaryDirectory() as tmp:
                    run = await crash_loop(
                        server,
                        Path(tmp) / "data",
                        how=how,
                        rounds=rounds,
                        per_round=per_round,
                        burst=burst,
                        root=root,
                    )
            shape = "bursts" if burst else "one at a time"
            share = f"{len(run.missing)} ({100 * len(run.missing) / max(run.acknowledged, 1):.0f}%)"
            stores = " | ".join(str(len(run.by_store[k])) for k in ("history", "memory", "facts"))
            print(f"| {label} | {shape} | {run.acknowledged} | {share} | {stores} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs")
    args = parser.parse_args()
    asyncio.run(_measure(args.root.resolve(), args.rounds, args.per_round))


if __name__ == "__main__":
    main()
