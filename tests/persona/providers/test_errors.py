"""Classification of HTTP statuses and Retry-After parsing (pure functions)."""

from __future__ import annotations

import email.utils

import pytest

from persona.providers.base import ErrorKind
from persona.providers.errors import kind_for_status, parse_retry_after, short_message


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (429, "rate_limit_exceeded", "slow down", ErrorKind.RATE_LIMIT),
        (429, "insufficient_quota", "You exceeded your current quota", ErrorKind.QUOTA),
        (429, None, "You exceeded your current quota, please check your plan", ErrorKind.QUOTA),
        (402, None, "Payment required", ErrorKind.QUOTA),
        (400, "invalid_request_error", "Your credit balance is too low", ErrorKind.QUOTA),
        (400, "billing_error", "billing", ErrorKind.QUOTA),
        (401, None, "bad key", ErrorKind.AUTH),
        (403, None, "forbidden", ErrorKind.AUTH),
        (400, "context_length_exceeded", "too long", ErrorKind.BAD_REQUEST),
        (404, None, "no such model", ErrorKind.BAD_REQUEST),
        (413, None, "too large", ErrorKind.BAD_REQUEST),
        (422, None, "unprocessable", ErrorKind.BAD_REQUEST),
        (408, None, "request timeout", ErrorKind.TIMEOUT),
        (500, None, "oops", ErrorKind.SERVER),
        (503, None, "unavailable", ErrorKind.SERVER),
        (529, "overloaded_error", "Overloaded", ErrorKind.SERVER),
    ],
)
def test_status_classification(status: int, code: str | None, message: str, kind: ErrorKind) -> None:
    assert kind_for_status(status, code=code, message=message) is kind


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5


def test_retry_after_ms_wins_over_seconds() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25


def test_retry_after_as_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(30.0)


def test_retry_after_in_the_past_or_garbage() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "nan"}) is None
    assert parse_retry_after({}) is None


def test_messages_are_one_bounded_line_without_keys() -> None:
    message = short_message("Incorrect API key provided: sk-proj-abcdef123456.\nSee docs " + "x" * 500)
    assert "abcdef123456" not in message
    assert "\n" not in message
    assert len(message) <= 200
