"""What the user reads when a reply could not be generated: one short line per kind of failure.

Never a traceback, never the provider's raw body, never one message per retry: the chain has
already retried and failed over by the time one of these is shown.
"""

from __future__ import annotations

from persona.providers.base import ErrorKind, ProviderError

_MESSAGES: dict[ErrorKind, str] = {
    ErrorKind.RATE_LIMIT: "I'm getting too many requests right now. Please try again in a minute.",
    ErrorKind.QUOTA: "My AI provider account is out of credit, so I can't answer. The bot's owner needs to "
    "check the billing.",
    ErrorKind.AUTH: "I can't sign in to my AI provider (the API key is missing or was rejected). The bot's "
    "owner needs to fix it.",
    ErrorKind.BAD_REQUEST: "My AI provider refused this request (it may be too long). Try a shorter message.",
    ErrorKind.TIMEOUT: "My AI provider took too long to answer. Please try again.",
    ErrorKind.SERVER: "My AI provider is having trouble right now. Please try again shortly.",
    ErrorKind.CONNECTION: "I couldn't reach my AI provider. Please try again shortly.",
    ErrorKind.MALFORMED: "My AI provider sent back an answer I couldn't read. Please try again.",
}

_INTERRUPTED = " (My answer was cut off.)"


def friendly_message(error: ProviderError) -> str:
    """One user-facing line for `error`."""
    return _MESSAGES.get(error.kind, "Something went wrong while I was thinking. Please try again.")


def interrupted_message(error: ProviderError) -> str:
    """For a reply that failed after part of it was already shown: a short note to append."""
    return _INTERRUPTED
