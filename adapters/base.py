"""The adapter lifecycle every platform module implements."""

from __future__ import annotations

from typing import Protocol


class AdapterSetupError(RuntimeError):
    """A configuration problem the operator must fix (bad token, missing intent): restarting
    the adapter cannot help, so it stops the bot with this message."""


class Adapter(Protocol):
    name: str

    async def run(self) -> None:
        """Connect and handle events until `close()` is called or the task is cancelled.

        Transient platform failures are retried inside; only unrecoverable configuration
        errors escape as `AdapterSetupError`, with a message that says what to fix. Any other
        exception is a failure of this run: the supervisor calls `run()` again after a backoff,
        and each run connects afresh. After `close()`, `run()` returns at once.
        """
        ...

    async def close(self) -> None:
        """Stop listening and release connections for good. Idempotent."""
        ...
