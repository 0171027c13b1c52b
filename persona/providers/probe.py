"""Reachability checks for `familiar doctor`: is the provider there, does the key work, is the
model served? Each failure becomes one sentence saying what to fix."""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

from persona.providers.base import ErrorKind, ProviderError

_MAX_LISTED = 8


@runtime_checkable
class ListsModels(Protocol):
    name: str

    async def list_models(self) -> list[str]: ...


async def probe(provider: object, model: str | None = None, *, timeout_s: float = 10.0) -> str | None:
    """None when `provider` answers (and serves `model`, if given); else what to fix, one line.

    Lists the endpoint's models: cheap, free of charge, and it proves the address and the key.
    """
    if not isinstance(provider, ListsModels):
        return None  # nothing to check without spending tokens
    try:
        async with asyncio.timeout(timeout_s):
            models = await provider.list_models()
    except TimeoutError:
        return (
            f"{provider.name}: no answer within {timeout_s:g}s: check base_url and that the server is running"
        )
    except ProviderError as error:
        return fix_hint(error)
    if model and models and model not in models:
        listed = ", ".join(sorted(models)[:_MAX_LISTED])
        return f"{provider.name}: model {model!r} is not served here; available: {listed}"
    return None


def fix_hint(error: ProviderError) -> str:
    """Operator-facing: what to change so this provider works."""
    name = error.provider
    hints = {
        ErrorKind.AUTH: "the API key is missing or rejected: set it in the provider config or "
        "OPENAI_API_KEY / ANTHROPIC_API_KEY",
        ErrorKind.QUOTA: "the account is out of credit or quota: check billing with the provider",
        ErrorKind.CONNECTION: "cannot connect: check base_url (or OPENAI_BASE_URL / ANTHROPIC_BASE_URL) "
        "and that the server is running",
        ErrorKind.TIMEOUT: "no answer in time: check base_url and the network, or raise timeout_s",
        ErrorKind.BAD_REQUEST: "the endpoint refused the request: check base_url (OpenAI-compatible "
        "servers usually end in /v1; Anthropic's does not)",
        ErrorKind.RATE_LIMIT: "rate limited right now: it works, but slow down or raise the plan's limits",
        ErrorKind.SERVER: "the provider reports a server error: usually temporary, try again later",
        ErrorKind.MALFORMED: "the endpoint does not speak this API: check kind and base_url",
    }
    return f"{name}: {hints[error.kind]} ({error})"
