"""The fact store on SQLite and on Postgres: supersession, history, visibility, dossiers, forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from memory.records import Dossier, Fact, FactKind, Visibility
from tests.support.relational import FactBackend, Relational

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE = "terminal:alice"
IN_DM = Visibility(owners=frozenset({ALICE}), scope="dm")
IN_GROUP = Visibility(owners=frozenset({ALICE}), scope="room:terminal:lounge")
BOB_IN_GROUP = Visibility(owners=frozenset({"terminal:bob"}), scope="room:terminal:lounge", room_shared=True)


@pytest.fixture
async def store(relational: Relational) -> AsyncIterator[FactBackend]:
    """The same contract on SQLite and on Postgres."""
    facts = await relational.facts()
    yield facts
    await facts.close()


def make(
    fid: str,
    value: str,
    *,
    hours: float = 0,
    attribute: str = "city",
    scope: str = "dm",
    kind: FactKind = "identity",
    source: str | None = None,
) -> Fact:
    return Fact(
        id=fid,
        owner=ALICE,
        scope=scope,
        subject="user",
        attribute=attribute,
        value=value,
        kind=kind,
        confidence=0.8,
        source_ids=(source or f"ev-{fid}",),
        valid_from=T0 + timedelta(hours=hours),
        recorded_at=T0,
    )


async def values(store: FactBackend, visibility: Visibility = IN_DM) -> list[str]:
    return [f.value for f in await store.facts(visibility)]


async def test_newer_value_supersedes_and_keeps_history(store: FactBackend) -> None:
    await store.upsert([make("f1", "ABC", attribute="api_key")])
    await store.upsert([make("f2", "XYZ", attribute="api_key", hours=1)])
    assert await values(store) == ["XYZ"]
    history = {f.id: f for f in await store.facts(IN_DM, include_superseded=True)}
    assert history["f1"].superseded_by == "f2"
    assert history["f1"].superseded_at == T0 + timedelta(hours=1)
    assert history["f1"].source_ids == ("ev-f1",)


async def test_out_of_order_values_slot_into_the_timeline(store: FactBackend) -> None:
    await store.upsert([make("f3", "Lisbon", hours=30)])
    await store.upsert([make("f1", "Porto", hours=0)])
    await store.upsert([make("f2", "Braga", hours=10)])
    assert await values(store) == ["Lisbon"]
    chain = {f.id: f.superseded_by for f in await store.facts(IN_DM, include_superseded=True)}
    assert chain == {"f1": "f2", "f2": "f3", "f3": None}


async def test_restating_the_value_adds_provenance(store: FactBackend) -> None:
    await store.upsert([make("f1", "Lisbon", source="e1")])
    await store.upsert([make("f2", "  lisbon ", hours=5, source="e2")])
    [only] = await store.facts(IN_DM, include_superseded=True)
    assert only.id == "f1"
    assert only.source_ids == ("e1", "e2")


async def test_same_id_twice_is_a_no_op(store: FactBackend) -> None:
    await store.upsert([make("f1", "Porto")])
    await store.upsert([make("f1", "Porto")])
    assert len(await store.facts(IN_DM, include_superseded=True)) == 1


async def test_empty_value_retracts_the_key(store: FactBackend) -> None:
    await store.upsert([make("f1", "Bob", attribute="name_to_avoid", kind="constraint")])
    await store.upsert([make("f2", "", attribute="name_to_avoid", kind="constraint", hours=1)])
    assert await values(store) == []
    history = await store.facts(IN_DM, include_superseded=True)
    assert [f.superseded_by for f in history if f.value == "Bob"] == ["f2"]


async def test_dm_facts_stay_out_of_group_rooms(store: FactBackend) -> None:
    await store.upsert(
        [
            make("f1", "diabetic", attribute="health", scope="dm"),
            make("f2", "chess", attribute="hobby", scope="room:terminal:lounge"),
        ]
    )
    assert sorted(await values(store, IN_DM)) == ["chess", "diabetic"]
    assert await values(store, IN_GROUP) == ["chess"]
    assert await values(store, IN_GROUP.__class__(owners=IN_GROUP.owners, scope="room:terminal:other")) == [
        "chess"
    ]
    # facts are about the asker: another person's facts never come back, even room-shared ones
    assert await values(store, BOB_IN_GROUP) == []


async def test_dossiers_are_kept_per_scope_class(store: FactBackend) -> None:
    await store.save_dossier(
        Dossier(owner=ALICE, scope="room:terminal:lounge", summary="Plays chess.", updated_at=T0)
    )
    await store.save_dossier(
        Dossier(owner=ALICE, scope="dm", summary="Diabetic; plays chess.", updated_at=T0)
    )
    group = await store.dossier(IN_GROUP)
    dm = await store.dossier(IN_DM)
    assert group is not None
    assert group.summary == "Plays chess."
    assert dm is not None
    assert dm.summary == "Diabetic; plays chess."


async def test_dm_falls_back_to_public_dossier(store: FactBackend) -> None:
    await store.save_dossier(
        Dossier(owner=ALICE, scope="room:terminal:lounge", summary="Plays chess.", updated_at=T0)
    )
    dm = await store.dossier(IN_DM)
    assert dm is not None
    assert dm.summary == "Plays chess."
    assert await store.dossier(BOB_IN_GROUP) is None


async def test_forget_phrase_and_all(store: FactBackend) -> None:
    await store.upsert(
        [
            make("f1", "Acme Corp", attribute="employer"),
            make("f2", "vegetarian", attribute="diet", kind="constraint"),
        ]
    )
    await store.save_dossier(Dossier(owner=ALICE, scope="dm", summary="Vegetarian.", updated_at=T0))
    assert await store.forget(frozenset({ALICE}), "acme") == 2
    assert await values(store) == ["vegetarian"]
    assert await store.dossier(IN_DM) is None
    assert await store.forget(frozenset({"terminal:bob"})) == 0
    assert await store.forget(frozenset({ALICE})) == 1
    assert await store.facts(IN_DM, include_superseded=True) == []


async def test_forget_phrase_by_attribute_and_literal_wildcards(store: FactBackend) -> None:
    await store.upsert([make("f1", "XYZ", attribute="api_key"), make("f2", "100%", attribute="mood")])
    assert await store.forget(frozenset({ALICE}), "API KEY".replace(" ", "_")) == 1
    assert await store.forget(frozenset({ALICE}), "_") == 0  # '_' is literal, not a wildcard
    assert await values(store) == ["100%"]


async def test_close_is_idempotent(store: FactBackend) -> None:
    await store.close()
    await store.close()


async def test_old_restatement_before_an_intermediate_value_is_history(store: FactBackend) -> None:
    await store.upsert([make("f2", "Porto", hours=10)])
    await store.upsert([make("f3", "Lisbon", hours=30)])
    await store.upsert([make("f1", "Lisbon", hours=0)])  # lived in Lisbon before Porto, too
    assert await values(store) == ["Lisbon"]
    chain = {f.id: f.superseded_by for f in await store.facts(IN_DM, include_superseded=True)}
    assert chain == {"f1": "f2", "f2": "f3", "f3": None}
