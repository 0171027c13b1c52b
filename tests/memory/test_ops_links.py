"""Linking a person's identities across platforms with one-time codes (SQLite and Postgres)."""

from __future__ import annotations

import pytest

from memory.sqlite.links import CODE_ALPHABET, CODE_LENGTH
from tests.support.relational import LinksBackend, Relational

DISCORD, MATRIX, TERMINAL = "discord:42", "matrix:@ann:example.org", "terminal:ann"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def links(relational: Relational, clock: ManualClock) -> LinksBackend:
    """The same contract on SQLite and on Postgres."""
    return await relational.links(clock)


async def link(links: LinksBackend, issuer: str, redeemer: str) -> None:
    assert await links.redeem(redeemer, await links.issue_code(issuer, 600))


async def test_an_unlinked_identity_is_only_itself(links: LinksBackend) -> None:
    assert await links.identities(DISCORD) == {DISCORD}


async def test_redeeming_a_code_links_both_identities(links: LinksBackend) -> None:
    code = await links.issue_code(DISCORD, 600)

    assert len(code) == CODE_LENGTH
    assert set(code) <= set(CODE_ALPHABET)
    assert await links.redeem(MATRIX, code)
    assert await links.identities(DISCORD) == {DISCORD, MATRIX}
    assert await links.identities(MATRIX) == {DISCORD, MATRIX}


async def test_codes_are_accepted_as_people_type_them(links: LinksBackend) -> None:
    code = await links.issue_code(DISCORD, 600)
    typed = f" {code[:4].lower()}-{code[4:]} "

    assert await links.redeem(MATRIX, typed)
    assert await links.identities(MATRIX) == {DISCORD, MATRIX}


async def test_a_code_works_only_once(links: LinksBackend) -> None:
    code = await links.issue_code(DISCORD, 600)
    assert await links.redeem(MATRIX, code)

    assert not await links.redeem(TERMINAL, code)
    assert await links.identities(TERMINAL) == {TERMINAL}
    assert await links.identities(DISCORD) == {DISCORD, MATRIX}


async def test_an_expired_code_is_refused(links: LinksBackend, clock: ManualClock) -> None:
    code = await links.issue_code(DISCORD, 600)
    clock.now += 601

    assert not await links.redeem(MATRIX, code)
    assert await links.identities(DISCORD) == {DISCORD}


async def test_a_wrong_or_own_code_is_refused(links: LinksBackend) -> None:
    code = await links.issue_code(DISCORD, 600)

    assert not await links.redeem(MATRIX, "ABCD2345" if code != "ABCD2345" else "ABCD2346")
    assert not await links.redeem(DISCORD, code)
    assert await links.identities(DISCORD) == {DISCORD}


async def test_a_new_code_revokes_the_previous_one(links: LinksBackend) -> None:
    old = await links.issue_code(DISCORD, 600)
    new = await links.issue_code(DISCORD, 600)

    assert not await links.redeem(MATRIX, old)
    assert await links.redeem(MATRIX, new)


async def test_links_join_groups_into_one_person(links: LinksBackend) -> None:
    await link(links, DISCORD, MATRIX)
    await link(links, TERMINAL, MATRIX)  # the redeemer brings its whole group along

    everyone = {DISCORD, MATRIX, TERMINAL}
    for identity in everyone:
        assert await links.identities(identity) == everyone
    await link(links, DISCORD, TERMINAL)  # already linked: still one group
    assert await links.identities(TERMINAL) == everyone


async def test_unlink_takes_one_identity_out_and_keeps_the_rest(links: LinksBackend) -> None:
    await link(links, DISCORD, MATRIX)
    await link(links, DISCORD, TERMINAL)

    await links.unlink(MATRIX)
    assert await links.identities(MATRIX) == {MATRIX}
    assert await links.identities(DISCORD) == {DISCORD, TERMINAL}

    await links.unlink(TERMINAL)
    assert await links.identities(DISCORD) == {DISCORD}
    assert await links.identities(TERMINAL) == {TERMINAL}
    await links.unlink(TERMINAL)  # unlinking a lone identity is harmless


async def test_guessing_codes_is_locked_out(links: LinksBackend, clock: ManualClock) -> None:
    code = await links.issue_code(DISCORD, 3600)
    for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"):
        assert not await links.redeem(MATRIX, guess)

    assert not await links.redeem(MATRIX, code)  # locked out, even with the right code
    clock.now += 901
    code = await links.issue_code(DISCORD, 3600)
    assert await links.redeem(MATRIX, code)


async def test_links_survive_a_restart(
    relational: Relational, links: LinksBackend, clock: ManualClock
) -> None:
    await link(links, DISCORD, MATRIX)
    await links.close()
    await links.close()

    reopened = await (await relational.reopened()).links(clock)
    assert await reopened.identities(MATRIX) == {DISCORD, MATRIX}
