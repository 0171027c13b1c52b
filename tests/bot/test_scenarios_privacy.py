"""Privacy and control through the real App: scopes, /forget, /memory, /memory export, /link.

Every check is on what reaches the provider (the prompt's sections and history) or on what a
command answers; the stores are the real ones in a temporary data directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.bot.support import (
    Chat,
    Learned,
    Person,
    ScriptedModel,
    dm,
    eventually,
    fact,
    history_text,
    in_room,
    indexed_memories,
    open_app,
    section,
)
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="1001", name="Alice")
BOB = Person(platform="discord", user_id="2002", name="Bob")
DANA_DISCORD = Person(platform="discord", user_id="3003", name="Dana")
DANA_MATRIX = Person(platform="matrix", user_id="@dana:example.org", name="Dana")
LOUNGE, GARDEN = "lounge", "garden"
KNOWN = "What you know about"


async def _journal_mentions(chat: Chat, person: Person, needle: str) -> dict[str, Any]:
    """Wait until the journal (written in the background after the quiet gap) mentions `needle`."""
    found: list[dict[str, Any]] = []

    async def mentioned() -> bool:
        journal: list[dict[str, Any]] = (await chat.export(dm(person, "")))["journal"]
        found[:] = [e for e in journal if needle in e["text"]]
        return bool(found)

    await eventually(mentioned)
    return found[0]


async def test_what_is_said_in_a_dm_stays_out_of_group_rooms_but_not_out_of_the_dm(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(
                trigger="locker code is",
                facts=(fact("locker_code", "4417"),),
                dossier="Alice keeps gym locker 4417.",
            )
        )
    )
    async with open_app(llm_server, tmp_path, quiet_gap_s=0.2) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "my gym locker code is 4417"))
        entry = await _journal_mentions(chat, ALICE, "4417")
        assert entry["scope"] == "dm"

        room = await chat.ask(in_room(ALICE, LOUNGE, "what is my gym locker code?"))
        assert "4417" not in room.prompt_text
        assert KNOWN not in room.system_text
        assert "Summary of" not in room.system_text
        assert "locker" not in section(room.system_text, "Things you remember")
        shown = await chat.command("memory", in_room(ALICE, LOUNGE, ""))
        assert "4417" not in shown.text

        private = await chat.ask(dm(ALICE, "remind me of my gym locker code"))
        assert "locker code: 4417" in section(private.system_text, KNOWN)
        assert "locker 4417" in section(private.system_text, "Summary of")
        assert "4417" in section(private.system_text, "Your recent journal")
        assert "my gym locker code is 4417" in history_text(private)
        # Her own room words are recalled in private (a different session: long-term memory).
        assert "what is my gym locker code?" in section(private.system_text, "Things you remember")


async def test_one_persons_memories_never_reach_another_persons_prompt(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(
                trigger="passport number is",
                facts=(fact("passport_number", "P-5521"),),
                dossier="Passport P-5521.",
            ),
            Learned(
                trigger="favourite tea is",
                facts=(fact("favourite_tea", "oolong", "preference"),),
                dossier="Likes oolong.",
            ),
            Learned(
                trigger="bike is called", facts=(fact("bike_name", "Rocinante"),), dossier="Bike Rocinante."
            ),
            Learned(trigger="Bob here", facts=(fact("job", "baker"),)),
        )
    )
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        await chat.say(
            dm(ALICE, "my passport number is P-5521"),
            in_room(ALICE, LOUNGE, "my favourite tea is oolong"),
            in_room(ALICE, GARDEN, "my bike is called Rocinante"),
            in_room(BOB, LOUNGE, "Bob here, I work as a baker"),
        )
        secrets = ("P-5521", "oolong", "Rocinante")

        same_room = await chat.ask(in_room(BOB, LOUNGE, "tell me about passports, tea and bikes"))
        for secret in secrets:  # the room's shared history may show Alice's words, nothing else
            assert secret not in same_room.system_text
        assert "P-5521" not in history_text(same_room)
        assert "Rocinante" not in history_text(same_room)
        assert "- job: baker" in section(same_room.system_text, KNOWN)

        own_dm = await chat.ask(dm(BOB, "tell me more about passports, tea and bikes"))
        for secret in secrets:
            assert secret not in own_dm.prompt_text
        assert "- job: baker" in section(own_dm.system_text, KNOWN)

        for context in (dm(BOB, ""), in_room(BOB, LOUNGE, "")):
            shown = await chat.command("memory", context)
            assert "baker" in shown.text
            assert not any(secret in shown.text for secret in secrets)
        exported = str(await chat.export(dm(BOB, "")))
        assert not any(secret in exported for secret in secrets)
        assert "baker" in exported


def _learn_pets() -> ScriptedModel:
    return ScriptedModel(
        Learned(
            trigger="cat is called Miso",
            facts=(fact("cat_name", "Miso", "relationship"),),
            dossier="Cat Miso.",
        ),
        Learned(
            trigger="dog is called Rex",
            facts=(fact("dog_name", "Rex", "relationship"),),
            dossier="Cat Miso, dog Rex.",
        ),
        Learned(trigger="play the cello", facts=(fact("instrument", "cello", "preference"),)),
        Learned(trigger="Bob here", facts=(fact("job", "baker"),)),
    )


async def test_forget_everything_empties_every_store_for_that_person_only(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_learn_pets())
    async with open_app(llm_server, tmp_path, quiet_gap_s=0.2) as app:
        chat = Chat(app, llm_server)
        await chat.say(
            dm(ALICE, "my cat is called Miso"),
            in_room(ALICE, LOUNGE, "I play the cello on weekends"),
            dm(BOB, "Bob here, I work as a baker"),
        )
        await _journal_mentions(chat, ALICE, "Miso")
        await _journal_mentions(chat, ALICE, "cello")

        done = await chat.command("forget", dm(ALICE, ""))
        assert done.text.startswith("Done")

        exported = await chat.export(dm(ALICE, ""))
        for kind in ("history", "memories", "facts", "journal"):
            assert exported[kind] == [], kind
        assert exported["dossier"] is None
        shown = await chat.command("memory", dm(ALICE, ""))
        assert "no facts yet" in shown.text
        assert "0 memories and 0 messages" in shown.text
        assert "Miso" not in shown.text

        private = await chat.ask(dm(ALICE, "what is my cat called, and what do I play?"))
        room = await chat.ask(in_room(ALICE, LOUNGE, "what instrument do I play again?"))
        for request in (private, room):
            assert "Miso" not in request.prompt_text
            assert "cello" not in request.prompt_text
            assert KNOWN not in request.system_text
        assert "baker" in str(await chat.export(dm(BOB, "")))
    documents = await indexed_memories(tmp_path)
    assert any("baker" in d for d in documents)
    assert not any("Miso" in d or "cello" in d for d in documents)


async def test_forget_a_phrase_removes_only_what_mentions_it(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(_learn_pets())
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "my cat is called Miso"), dm(ALICE, "my dog is called Rex"))

        await chat.command("forget", dm(ALICE, ""), "Miso")

        exported = await chat.export(dm(ALICE, ""))
        assert "Miso" not in str(exported)
        assert [f["value"] for f in exported["facts"]] == ["Rex"]
        assert [t["text"] for t in exported["history"] if t["role"] == "user"] == ["my dog is called Rex"]
        assert any(m["text"] == "my dog is called Rex" for m in exported["memories"])

        # A search by meaning and by words for the forgotten message finds nothing of it.
        request = await chat.ask(dm(ALICE, "what is my cat called? my cat is called"))
        assert "Miso" not in request.prompt_text
        assert "dog name: Rex" in section(request.system_text, KNOWN)
        assert "my dog is called Rex" in history_text(request)
    documents = await indexed_memories(tmp_path)
    assert "my dog is called Rex" in documents
    assert not any("Miso" in d for d in documents)


async def test_memory_shows_the_asker_and_export_returns_everything_with_provenance(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(trigger="Hamburg", facts=(fact("home_city", "Hamburg"),), dossier="Lives in Hamburg."),
            Learned(trigger="Bremen", facts=(fact("home_city", "Bremen"),), dossier="Lives in Bremen."),
            Learned(trigger="Bob here", facts=(fact("job", "baker"),)),
        )
    )
    async with open_app(llm_server, tmp_path, quiet_gap_s=0.2) as app:
        chat = Chat(app, llm_server)
        hamburg, bremen = dm(ALICE, "I live in Hamburg"), dm(ALICE, "I moved to Bremen last month")
        await chat.say(hamburg, bremen, dm(BOB, "Bob here, I work as a baker"))
        await _journal_mentions(chat, ALICE, "Bremen")

        shown = await chat.command("memory", dm(ALICE, ""))
        assert "home city: Bremen" in shown.text
        assert "Hamburg" not in shown.text.split("**Summary**")[0]
        assert "baker" not in shown.text

        result = await chat.command("export", dm(ALICE, ""))
        assert result.file_name is not None
        assert result.file_name.endswith(".json")
        exported = await chat.export(dm(ALICE, ""))
        assert exported["identities"] == [ALICE.identity]
        assert {t["text"] for t in exported["history"] if t["role"] == "user"} == {hamburg.text, bremen.text}
        turns = {m["text"] for m in exported["memories"] if m["role"] == "user" and m["kind"] == "turn"}
        assert turns == {hamburg.text, bremen.text}
        # What was learned is a memory too, leading back to its turn; the corrected city's is gone.
        derived = [m for m in exported["memories"] if m["kind"] == "derived"]
        assert [(m["text"], m["source_ids"]) for m in derived] == [("home city: Bremen", [bremen.event_id])]
        by_value = {f["value"]: f for f in exported["facts"]}
        assert by_value["Hamburg"]["superseded_by"] == by_value["Bremen"]["id"]
        assert by_value["Hamburg"]["source_ids"] == [hamburg.event_id]
        assert by_value["Bremen"]["source_ids"] == [bremen.event_id]
        assert exported["dossier"]["summary"] == "Lives in Bremen."
        assert bremen.event_id in exported["dossier"]["source_ids"]
        assert all(e["owner"] == ALICE.identity for e in exported["journal"])
        assert "baker" not in str(exported)


async def test_linked_accounts_share_memory_until_unlinked(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(trigger="favourite band is", facts=(fact("favourite_band", "Low Roar", "preference"),))
        )
    )
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        issued = await chat.command("link", dm(DANA_DISCORD, ""))
        match = re.search(r"`link (\S+)`", issued.text)
        assert match is not None, issued.text
        redeemed = await chat.command("link", dm(DANA_MATRIX, ""), match.group(1))
        assert redeemed.text.startswith("Linked")

        await chat.say(dm(DANA_DISCORD, "my favourite band is Low Roar"))
        linked = await chat.ask(dm(DANA_MATRIX, "what should I listen to tonight?"))
        assert "favourite band: Low Roar" in section(linked.system_text, KNOWN)
        assert "Low Roar" in (await chat.command("memory", dm(DANA_MATRIX, ""))).text

        unlinked = await chat.command("unlink", dm(DANA_MATRIX, ""))
        assert unlinked.text.startswith("Unlinked")
        apart = await chat.ask(dm(DANA_MATRIX, "any music suggestions for the weekend?"))
        assert "Low Roar" not in apart.prompt_text
        assert "Low Roar" not in (await chat.command("memory", dm(DANA_MATRIX, ""))).text
        assert "Low Roar" not in str(await chat.export(dm(DANA_MATRIX, "")))
        still = await chat.ask(dm(DANA_DISCORD, "and what should I listen to now?"))
        assert "favourite band: Low Roar" in section(still.system_text, KNOWN)


async def test_a_used_link_code_cannot_be_redeemed_again(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(ScriptedModel())
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        issued = await chat.command("link", dm(DANA_DISCORD, ""))
        match = re.search(r"`link (\S+)`", issued.text)
        assert match is not None, issued.text
        assert (await chat.command("link", dm(DANA_MATRIX, ""), match.group(1))).text.startswith("Linked")
        again = await chat.command("link", dm(BOB, ""), match.group(1))
        assert "unknown or expired" in again.text
