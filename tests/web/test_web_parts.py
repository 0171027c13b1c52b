"""The web server's pure parts: link tokens, the login limit, sessions, charts, `/memory web`."""

from __future__ import annotations

from adapters.terminal.commands import parse_command
from web.auth import AdminAuth, LoginLimiter, Sessions
from web.charts import Bar, bar_chart
from web.links import MemoryLinkBook


async def test_a_link_is_spent_by_its_first_opening_and_stored_only_hashed() -> None:
    book = MemoryLinkBook(ttl_s=600, page_session_s=600)
    book.base_url = "http://127.0.0.1:8321"
    url = await book.issue("discord:1001")
    token = url.rsplit("/", 1)[-1]
    assert token not in repr(vars(book))  # only its hash is kept
    opened = book.redeem(token)
    assert opened is not None
    session, identity = opened
    assert identity == "discord:1001"
    page = book.page(session)
    assert page is not None
    assert page.identity == "discord:1001"
    assert book.redeem(token) is None
    assert book.page("made-up") is None


async def test_an_expired_link_opens_nothing() -> None:
    book = MemoryLinkBook(ttl_s=1e-9, page_session_s=600)
    url = await book.issue("discord:1001")
    assert book.redeem(url.rsplit("/", 1)[-1]) is None


async def test_the_password_is_checked_against_its_hash() -> None:
    auth = AdminAuth("s3cret", attempts=3, window_s=60, session_s=60)
    assert "s3cret" not in repr(vars(auth))
    assert await auth.check("s3cret")
    assert not await auth.check("s3cret ")
    assert not await AdminAuth(None, attempts=3, window_s=60, session_s=60).check("")


def test_logins_are_refused_past_the_limit_per_address() -> None:
    limiter = LoginLimiter(attempts=2, window_s=60)
    limiter.failed("10.0.0.1")
    assert not limiter.blocked("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.blocked("10.0.0.1")
    assert not limiter.blocked("10.0.0.2")


def test_a_session_ends_when_logged_out() -> None:
    sessions = Sessions(ttl_s=60)
    token, session = sessions.open()
    assert sessions.get(token) == session
    sessions.end(token)
    assert sessions.get(token) is None


def test_a_chart_draws_one_bar_per_day_and_says_when_there_is_nothing() -> None:
    svg = str(bar_chart([Bar(label="2026-12-01", value=3), Bar(label="2026-12-02", value=5)], title="t"))
    assert svg.count("<rect") == 2
    assert "nothing yet" in str(bar_chart([Bar(label="d", value=0)], title="Usage"))
    assert "&lt;b&gt;" in str(bar_chart([Bar(label="<b>", value=1)], title="x"))


def test_the_terminal_sends_memory_web_to_the_memory_command() -> None:
    parsed = parse_command("/memory web")
    assert parsed is not None
    assert (parsed.name, parsed.args) == ("memory", "web")
