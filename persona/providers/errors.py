"""Turn SDK exceptions and HTTP statuses into classified `ProviderError`s.

Both SDKs (openai, anthropic) raise parallel exception families, and during streaming the
transport's own errors (httpx2) or a JSON decoding error may escape them; everything a provider
call can raise for a provider-side reason ends up here, so the chain decides on `ErrorKind` alone.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import re
import time
from collections.abc import Iterator, Mapping

import aiohttp
import anthropic
import httpx2
import openai
import pydantic

from persona.providers.base import ErrorKind, ProviderError

# Provider error codes / types that mean "out of credit", whatever the HTTP status says.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_error", "billing_hard_limit_reached"})
_QUOTA_PHRASES = ("credit balance", "insufficient_quota", "exceeded your current quota")
_BAD_REQUEST_STATUSES = frozenset({400, 404, 409, 413, 422})
_MAX_MESSAGE_CHARS = 200
# Anything that looks like a credential is masked before a message is stored or logged.
_SECRET_PATTERN = re.compile(r"(sk-|key-|Bearer\s+)[A-Za-z0-9_\-\.\*]{4,}", re.IGNORECASE)

_TIMEOUT_ERRORS = (openai.APITimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException, TimeoutError)
_CONNECTION_ERRORS = (
    openai.APIConnectionError,
    anthropic.APIConnectionError,
    httpx2.TransportError,
    httpx2.StreamError,
    ConnectionError,
)
_MALFORMED_ERRORS = (
    openai.APIResponseValidationError,
    anthropic.APIResponseValidationError,
    httpx2.DecodingError,
    json.JSONDecodeError,
    pydantic.ValidationError,
    UnicodeDecodeError,
)
_STATUS_ERRORS = (openai.APIStatusError, anthropic.APIStatusError)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _parse_float(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _parse_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def kind_for_status(status: int, *, code: str | None = None, message: str = "") -> ErrorKind:
    """Classify an HTTP error status, using the provider's error code/type where it matters."""
    if status == 402 or (code or "").lower() in _QUOTA_CODES:
        return ErrorKind.QUOTA
    if status in {400, 429} and any(phrase in message.lower() for phrase in _QUOTA_PHRASES):
        return ErrorKind.QUOTA
    if status in {401, 403}:
        return ErrorKind.AUTH
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status >= 500:
        return ErrorKind.SERVER  # includes Anthropic's 529 "overloaded"
    if status in _BAD_REQUEST_STATUSES or 400 <= status < 500:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.MALFORMED  # a non-error status reported as an error: we cannot make sense of it


def status_error(
    provider: str, status: int, *, code: str | None, message: str, headers: Mapping[str, str]
) -> ProviderError:
    kind = kind_for_status(status, code=code, message=message)
    retry_after = parse_retry_after(headers) if kind.retryable else None
    return ProviderError(
        kind, f"HTTP {status}: {short_message(message)}", provider=provider, retry_after_s=retry_after
    )


def short_message(message: str) -> str:
    """One line, bounded, credentials masked: fit for a log line."""
    one_line = " ".join(message.split())
    masked = _SECRET_PATTERN.sub(lambda m: f"{m.group(1)}***", one_line)
    if len(masked) > _MAX_MESSAGE_CHARS:
        return masked[: _MAX_MESSAGE_CHARS - 1] + "…"
    return masked


@contextlib.contextmanager
def provider_errors(provider: str) -> Iterator[None]:
    """Re-raise provider-side failures inside the block as classified ProviderErrors.

    Anything else (a bug, a cancellation, the caller's own callback failing) passes untouched.
    """
    try:
        yield
    except Exception as exc:
        error = classify(exc, provider)
        if error is None or error is exc:
            raise
        raise error from exc


def classify(exc: BaseException, provider: str) -> ProviderError | None:
    """The classified error for a provider-side failure, or None when `exc` is not one (a bug)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, _STATUS_ERRORS):
        return status_error(
            provider,
            exc.status_code,
            code=_error_code(exc),
            message=_status_message(exc),
            headers=exc.response.headers,
        )
    if isinstance(exc, _TIMEOUT_ERRORS + _CONNECTION_ERRORS):
        return _transport_error(exc, provider)
    if isinstance(exc, _MALFORMED_ERRORS):
        return ProviderError(
            ErrorKind.MALFORMED, f"unparseable answer ({type(exc).__name__})", provider=provider
        )
    if isinstance(exc, anthropic.CredentialsError):
        return ProviderError(ErrorKind.AUTH, short_message(str(exc)), provider=provider)
    if isinstance(exc, openai.OpenAIError | anthropic.AnthropicError):
        # Any other SDK-level complaint about what came back.
        return ProviderError(ErrorKind.MALFORMED, short_message(str(exc)), provider=provider)
    return None


def _transport_error(exc: BaseException, provider: str) -> ProviderError:
    """TIMEOUT or CONNECTION, judged by the innermost cause.

    The SDKs' aiohttp transport maps every aiohttp connection error (refused, reset) to a
    connect *timeout*, so the wrapper's type alone would mislabel a server that is down.
    """
    root = _root_cause(exc)
    if isinstance(root, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError | ConnectionError):
        return ProviderError(
            ErrorKind.CONNECTION, f"connection failed ({type(root).__name__})", provider=provider
        )
    # Order matters: the SDKs' timeout errors subclass their connection errors.
    if isinstance(exc, _TIMEOUT_ERRORS) or isinstance(root, (*_TIMEOUT_ERRORS, aiohttp.ServerTimeoutError)):
        return ProviderError(ErrorKind.TIMEOUT, "no answer in time", provider=provider)
    return ProviderError(
        ErrorKind.CONNECTION, f"connection failed ({type(root).__name__})", provider=provider
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        cause = exc.__cause__ or exc.__context__
        if cause is None:
            break
        exc = cause
    return exc


def _error_code(exc: openai.APIStatusError | anthropic.APIStatusError) -> str | None:
    if isinstance(exc, openai.APIStatusError):
        return exc.code or (exc.type if isinstance(exc.type, str) else None)
    return exc.error_code or exc.type


def _status_message(exc: openai.APIStatusError | anthropic.APIStatusError) -> str:
    if isinstance(exc, anthropic.APIStatusError) and exc.api_message:
        return exc.api_message
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str):
            return message
    return exc.message
