"""The adapter lifecycle every platform module implements."""

from __future__ import annotations

from typing import Protocol


class Adapter(Protocol):
    name: str

    async def run(self) -> None:
        """Connect and handle events until `close()` is called or the task is cancelled.

        Transient platform failures are retried inside; only unrecoverable configuration
        errors (bad token, missing intent) escape, with a message that says what to fix.
        """
        ...

    async def close(self) -> None:
        """Stop listening and release connections. Idempotent."""
        ...
