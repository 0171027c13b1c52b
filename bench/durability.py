"""Acknowledged turns lost to kill -9 and to SIGTERM, with a learning call as slow as a real model's.

    python -m bench.durability [--rounds 3] [--per-round 3] [--stops kill,term] [--shapes one,burst]
                               [--drain-s S] [--root DIR]

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

_STOPS = {"kill": (signal.SIGKILL, "kill -9"), "term": (signal.SIGTERM, "SIGTERM")}


async def _measure(args: argparse.Namespace) -> None:
    print("| stop | messages | acknowledged | missing (any) | from history | from memory | from facts |")
    print("|---|---|---:|---:|---:|---:|---:|")
    env = {"FAMILIAR_ENGINE__JOBS__DRAIN_TIMEOUT_S": str(args.drain_s)} if args.drain_s is not None else {}
    for stop in args.stops.split(","):
        how, label = _STOPS[stop]
        for shape in args.shapes.split(","):
            async with LLMServer() as server:
                server.set_responder(slow_learning_responder())
                with tempfile.TemporaryDirectory() as tmp:
                    run = await crash_loop(
                        server,
                        Path(tmp) / "data",
                        how=how,
                        rounds=args.rounds,
                        per_round=args.per_round,
                        burst=shape == "burst",
                        root=args.root.resolve(),
                        env=env,
                    )
            shown = "bursts" if shape == "burst" else "one at a time"
            share = f"{len(run.missing)} ({100 * len(run.missing) / max(run.acknowledged, 1):.0f}%)"
            stores = " | ".join(str(len(run.by_store[k])) for k in ("history", "memory", "facts"))
            print(f"| {label} | {shown} | {run.acknowledged} | {share} | {stores} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--stops", default="kill,term", help="kill and/or term")
    parser.add_argument("--shapes", default="one,burst", help="one and/or burst")
    parser.add_argument("--drain-s", type=float, default=None, help="the engine's drain timeout")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs")
    asyncio.run(_measure(parser.parse_args()))


if __name__ == "__main__":
    main()
