"""Commands against the stores: what users see, forget, export, admin refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from memory.records import Dossier, Fact, JournalEntry
from persona.api import Command, CommandName
from persona.engine import PersonaEngine
from tests.fakes.engine import message, persona, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import (
    InMemoryFacts,
    InMemoryHistory,
    InMemoryJournal,
    InMemoryKB,
    InMemoryMemory,
    make_stores,
)

NOW = datetime.now(UTC)
ALICE = "terminal:alice"


def _cmd(name: CommandName, args: str = "", *, admin: bool = False, **where: object) -> Command:
    return Command(name=name, args=args, context=message("", **where), is_admin=admin)  # type: ignore[arg-type]


def _fact(attribute: str, value: str, *, fid: str, scope: str = "dm", owner: str = ALICE) -> Fact:
    return Fact(
        id=fid,
        owner=owner,
        scope=scope,
        subject="user",
        attribute=attribute,
        value=value,
        kind="preference",
        confidence=0.9,
        source_ids=(f"src-{fid}",),
        valid_from=NOW,
        recorded_at=NOW,
    )


class _World:
    def __init__(self) -> None:
        self.history = InMemoryHistory()
        self.memory = InMemoryMemory()
        self.facts = InMemoryFacts()
        self.journal = InMemoryJournal()
        self.kb = InMemoryKB()
        self.stores = make_stores(
            history=self.history, memory=self.memory, facts=self.facts, journal=self.journal, kb=self.kb
        )

    async def populate(self, engine: PersonaEngine) -> None:
        await engine.submit(message("I love green tea"), RecordingSink())
        await engine.submit(message("bob here, I love coffee", author="bob", room="dm-bob"), RecordingSink())
        await engine.jobs.drain(5)
        await self.facts.upsert([_fact("drink", "black tea", fid="f1")])
        await self.facts.upsert([_fact("drink", "green tea", fid="f2")])  # supersedes f1
        await self.facts.upsert([_fact("drink", "coffee", fid="fb", owner="terminal:bob")])
        await self.facts.save_dossier(
            Dossier(owner=ALICE, scope="dm", summary="Alice likes tea.", updated_at=NOW)
        )
        await self.journal.add(
            JournalEntry(
                id="j1",
                persona="default",
                day=datetime.now(UTC).date().isoformat(),  # today when run (the suite may cross midnight)
                kind="entry",
                text="Talked tea with Alice.",
                scope="dm",
                created_at=NOW,
                owner=ALICE,
            )
        )
        await self.journal.add(
            JournalEntry(
                id="j2",
                persona="default",
                day=NOW.date().isoformat(),
                kind="entry",
                text="Bob wants coffee.",
                scope="dm",
                created_at=NOW,
                owner="terminal:bob",
            )
        )


async def test_memory_shows_what_is_known_here_and_hides_dm_facts_in_rooms() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await world.populate(engine)
        private = await engine.command(_cmd("memory"))
        public = await engine.command(_cmd("memory", room="general", is_dm=False))
    assert private.ephemeral
    assert "green tea" in private.text
    assert "black tea" not in private.text
    assert "coffee" not in private.text
    assert "Alice likes tea." in private.text
    assert "green tea" not in public.text


async def test_export_contains_everything_about_the_asker_and_nothing_else() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await world.populate(engine)
        result = await engine.command(_cmd("export"))
    assert result.file_name == "familiar-export.json"
    assert result.file_data
    data = json.loads(result.file_data)
    assert data["identities"] == [ALICE]
    assert {t["text"] for t in data["history"] if t["role"] == "user"} == {"I love green tea"}
    assert any(m["text"] == "I love green tea" for m in data["memories"])
    facts = {f["id"]: f for f in data["facts"]}
    assert set(facts) == {"f1", "f2"}
    assert facts["f1"]["superseded_by"] == "f2"
    assert facts["f1"]["source_ids"] == ["src-f1"]
    assert data["dossier"]["summary"] == "Alice likes tea."
    assert [j["id"] for j in data["journal"]] == ["j1"]
    assert "coffee" not in result.file_data.decode()


async def test_forget_removes_the_asker_from_every_store() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await world.populate(engine)
        result = await engine.command(_cmd("forget"))
        export = json.loads((await engine.command(_cmd("export"))).file_data or b"{}")
    assert "forgot everything" in result.text
    assert all(t.owner != ALICE for t in world.history.turns)
    assert all(i.owner != ALICE for i in world.memory.items.values())
    assert all(f.owner != ALICE for f in world.facts.all_facts)
    assert all(e.owner != ALICE for e in world.journal.entries)
    assert export["history"] == export["memories"] == export["facts"] == export["journal"] == []
    assert export["dossier"] is None
    # bob is untouched
    assert any(f.owner == "terminal:bob" for f in world.facts.all_facts)


async def test_forget_a_phrase_keeps_the_rest() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await engine.submit(message("my boat is called Gull"), RecordingSink())
        await engine.submit(message("I live in Porto"), RecordingSink())
        await engine.jobs.drain(5)
        await engine.command(_cmd("forget", "Gull"))
    texts = {i.text for i in world.memory.items.values()}
    assert "I live in Porto" in texts
    assert "my boat is called Gull" not in texts


async def test_forget_finds_shared_journal_entries_from_messages_history_no_longer_keeps() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        said = message("my boat is called Gull", room="harbour", is_dm=False, event_id="ev-old")
        await engine.submit(said, RecordingSink())
        await engine.jobs.drain(5)
        # the room's journal entry is about several people, so it has no owner, only sources
        await world.journal.add(
            JournalEntry(
                id="jr",
                persona="default",
                day=NOW.date().isoformat(),
                kind="entry",
                text="Alice told the harbour about her boat Gull; Bob laughed.",
                scope="terminal:harbour",
                created_at=NOW,
                owner=None,
                source_ids=("ev-old", "ev-bob"),
            )
        )
        world.history.turns.clear()  # recent history is bounded: the old message aged out
        await engine.command(_cmd("forget", "Gull", room="harbour", is_dm=False))
    assert [e.id for e in world.journal.entries if e.id == "jr"] == []


async def test_admin_commands_refuse_non_admins_and_work_for_admins() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        refused = await engine.command(_cmd("kb_add", "Tides\nHigh tide at noon."))
        config_refused = await engine.command(_cmd("config"))
        added = await engine.command(_cmd("kb_add", "Tides\nHigh tide at noon.", admin=True))
        found = await engine.command(_cmd("kb_search", "tide"))
        config = await engine.command(_cmd("config", admin=True))
    assert "Only an admin" in refused.text
    assert "Only an admin" in config_refused.text
    assert "Added **Tides**" in added.text
    assert "High tide at noon." in found.text
    assert "rate_limit_per_minute" in config.text


async def test_persona_binding_changes_who_answers_here() -> None:
    provider = ScriptedProvider()
    personas = [persona(), persona(name="pirate", system_prompt="Arr, you are a pirate.")]
    async with running_engine(provider=provider, personas=personas) as engine:
        shown = await engine.command(_cmd("persona"))
        bound = await engine.command(_cmd("persona", "pirate"))
        room_refused = await engine.command(_cmd("persona", "pirate", room="general", is_dm=False))
        await engine.submit(message("ahoy"), RecordingSink())
    assert "default" in shown.text
    assert "pirate" in shown.text
    assert "pirate" in bound.text
    assert "Only an admin" in room_refused.text
    assert provider.requests[-1].system.startswith("Arr, you are a pirate.")


async def test_link_and_unlink_join_and_separate_identities() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await world.facts.upsert([_fact("boat", "Gull", fid="d1", owner="discord:99")])
        issued = await engine.command(_cmd("link", platform="discord", author="99"))
        code = issued.text.split("`")[1]
        redeemed = await engine.command(_cmd("link", code))
        linked = await engine.command(_cmd("memory"))
        await engine.command(_cmd("unlink"))
        unlinked = await engine.command(_cmd("memory"))
        bad = await engine.command(_cmd("link", "nope"))
    assert "Linked" in redeemed.text
    assert "Gull" in linked.text
    assert "Gull" not in unlinked.text
    assert "unknown or expired" in bad.text


async def test_journal_and_help_and_unknown() -> None:
    world = _World()
    async with running_engine(stores=world.stores) as engine:
        await world.populate(engine)
        journal = await engine.command(_cmd("journal"))
        helped = await engine.command(_cmd("help"))
        unknown = await engine.command(_cmd("dance"))  # type: ignore[arg-type]
    assert "Talked tea with Alice." in journal.text
    assert "Bob" not in journal.text
    assert "forget" in helped.text
    assert "Unknown command" in unknown.text


async def test_memory_web_says_so_when_no_web_server_gives_links() -> None:
    async with running_engine() as engine:
        result = await engine.command(_cmd("memory", "web"))
    assert result.ephemeral
    assert "not enabled" in result.text
