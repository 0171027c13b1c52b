"""User commands against the stores: every `CommandName` of `persona.api`.

What a command shows is what the asker may see here (their linked identities, filtered by the
place's visibility); what `forget` and `export` touch is everything owned by the asker's
identities, in every store. Admin-only commands refuse clearly. Commands never raise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time
from typing import Any

from memory.base import Stores
from memory.records import KBEntry
from memory.visibility import DM_SCOPE, Visibility, knowledge_scopes
from persona.api import Command, CommandName, CommandResult
from persona.bindings import PersonaBindings
from persona.forgetting import forget
from persona.memory_links import MemoryPageLinks
from persona.personas import PersonaCatalog, PersonaSpec
from persona.settings import EngineSettings
from persona.types import IncomingMessage

_log = logging.getLogger(__name__)

Handler = Callable[[Command], Awaitable[CommandResult]]
Forgetter = Callable[[frozenset[str], str | None], Awaitable[int]]
"""Forgets what a store outside `Stores` keeps of the owners (all, or what mentions the phrase)."""
ADMIN_ONLY: frozenset[CommandName] = frozenset({"kb_add", "config"})
REFUSAL = "Only an admin of this bot can use `{name}`."
HELP = """\
**Commands**
- `help`: this list
- `memory`: what I know about you (visible here); `memory web`: a private one-time link to see and delete it
- `export`: everything I keep about you, as a JSON file
- `forget`: forget everything about you; `forget <phrase>`: only what mentions it
- `persona`: who is answering here and who else could; `persona <name>`: switch
- `journal`: my journal entries from today that you may see here
- `kb_search <query>`: search the knowledgebase
- `kb_add <title, then text on the next lines>`: add to the knowledgebase (admins)
- `link`: get a code to link another account; `link <code>`: redeem it
- `unlink`: separate this account from the others again
- `config`: show the effective settings (admins)
- `reminders`: your reminders; `reminders cancel <id>`: cancel one
- `timezone <Area/City>`: the time zone your reminders are read in
- `checkin on|off|at 08:30`: a daily check-in by direct message
- `voice on|off`: answer your voice messages by voice too"""


class CommandRunner:
    def __init__(
        self,
        *,
        stores: Stores,
        catalog: PersonaCatalog,
        bindings: PersonaBindings,
        settings: EngineSettings,
        persona_for: Callable[[IncomingMessage], PersonaSpec],
        clock: Callable[[], datetime],
        memory_links: MemoryPageLinks | None = None,
    ) -> None:
        self._stores = stores
        self._memory_links = memory_links
        self._catalog = catalog
        self._bindings = bindings
        self._settings = settings
        self._persona_for = persona_for
        self._clock = clock
        self._forgetters: dict[str, Forgetter] = {}
        self._handlers: dict[CommandName, Handler] = {
            "help": self._help,
            "memory": self._memory,
            "export": self._export,
            "forget": self._forget,
            "persona": self._persona,
            "journal": self._journal,
            "kb_search": self._kb_search,
            "kb_add": self._kb_add,
            "link": self._link,
            "unlink": self._unlink,
            "config": self._config,
        }

    def add(
        self, handlers: Mapping[CommandName, Handler], forgetters: Mapping[str, Forgetter] | None = None
    ) -> None:
        """Commands another part serves (reminders, check-ins, voice), added by the composition root,
        and what `forget` must also clear in that part's stores (by the name it is counted under)."""
        self._handlers.update(handlers)
        self._forgetters.update(forgetters or {})

    def is_admin(self, command: Command) -> bool:
        return command.is_admin or command.context.identity in self._settings.admins

    async def run(self, command: Command) -> CommandResult:
        handler = self._handlers.get(command.name)
        if handler is None:
            return CommandResult(text=f"Unknown command `{command.name}`. Try `help`.", ephemeral=True)
        if command.name in ADMIN_ONLY and not self.is_admin(command):
            return CommandResult(text=REFUSAL.format(name=command.name), ephemeral=True)
        try:
            return await handler(command)
        except Exception:  # a command's error boundary: the user gets a line, the log the trace
            _log.exception("command %s failed", command.name)
            return CommandResult(text="Sorry, that didn't work. Please try again later.", ephemeral=True)

    # ---- helpers

    async def _owners(self, message: IncomingMessage) -> frozenset[str]:
        return (await self._stores.links.identities(message.identity)) | {message.identity}

    async def _visibility(self, message: IncomingMessage) -> Visibility:
        persona = self._persona_for(message)
        return Visibility(
            owners=await self._owners(message),
            scope=message.scope,
            room_shared=persona.memory.room_shared and not message.is_dm,
        )

    # ---- handlers

    async def _help(self, command: Command) -> CommandResult:
        return CommandResult(text=HELP, ephemeral=True)

    async def _memory(self, command: Command) -> CommandResult:
        if command.args.strip().lower() == "web":
            return await self._memory_web(command)
        visibility = await self._visibility(command.context)
        mine = visibility.owners
        facts = await self._stores.facts.facts(visibility)
        dossier = await self._stores.facts.dossier(visibility)
        memories = [m for m in await self._stores.memory.export(mine) if visibility.allows(m.owner, m.scope)]
        turns = [t for t in await self._stores.history.export(mine) if visibility.allows(t.owner, t.scope)]
        lines = ["**What I know about you here**"]
        constraints = [f for f in facts if f.kind == "constraint" and f.current]
        others = [f for f in facts if f.kind != "constraint" and f.current]
        lines += [f"- (constraint) {f.attribute.replace('_', ' ')}: {f.value}" for f in constraints]
        lines += [f"- {f.attribute.replace('_', ' ')}: {f.value}" for f in others]
        if not constraints and not others:
            lines.append("- no facts yet")
        if dossier is not None:
            lines += ["", "**Summary**", dossier.summary]
        lines += ["", f"{len(memories)} memories and {len(turns)} messages of history are visible here."]
        if not command.context.is_dm:
            lines.append("Things you told me in private are not shown in this room.")
        return CommandResult(text="\n".join(lines), ephemeral=True)

    async def _memory_web(self, command: Command) -> CommandResult:
        if self._memory_links is None:
            return CommandResult(text="The memory page is not enabled on this bot.", ephemeral=True)
        url = await self._memory_links.issue(command.context.identity)
        minutes = max(1, round(self._memory_links.ttl_s / 60))
        text = (
            f"Your memory page (only you, once, within {minutes} min): {url}\n"
            "It shows what I remember about you and lets you export or delete it."
        )
        return CommandResult(text=text, ephemeral=True)

    async def _export(self, command: Command) -> CommandResult:
        owners = await self._owners(command.context)
        everything = Visibility(owners=owners, scope=DM_SCOPE)  # a DM view shows all of one's own records
        journal = []
        for name in self._catalog.names():
            entries = await self._stores.journal.recent(name, everything, 100_000)
            journal += [e for e in entries if e.owner in owners]
        payload = {
            "identities": sorted(owners),
            "exported_at": self._clock().isoformat(),
            "history": await self._stores.history.export(owners),
            "memories": await self._stores.memory.export(owners),
            "facts": await self._stores.facts.facts(everything, include_superseded=True),
            "dossier": await self._stores.facts.dossier(everything),
            "journal": journal,
        }
        data = json.dumps(_plain(payload), indent=2, ensure_ascii=False).encode("utf-8")
        counts = ", ".join(
            f"{len(v)} {k}" for k, v in payload.items() if isinstance(v, list) and k != "identities"
        )
        return CommandResult(
            text=f"Everything I keep about you: {counts}.",
            ephemeral=True,
            file_name="familiar-export.json",
            file_data=data,
        )

    async def _forget(self, command: Command) -> CommandResult:
        owners = await self._owners(command.context)
        phrase = command.args.strip() or None
        counts = await forget(self._stores, owners, phrase, asked_at=command.context.timestamp)
        for name, forget_in in self._forgetters.items():
            counts[name] = await forget_in(owners, phrase)
        what = f'everything mentioning "{phrase}"' if phrase else "everything about you"
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        return CommandResult(text=f"Done: I forgot {what} ({summary}).", ephemeral=True)

    async def _persona(self, command: Command) -> CommandResult:
        message = command.context
        wanted = command.args.strip()
        current = self._persona_for(message).name
        if not wanted:
            others = ", ".join(f"`{n}`" for n in self._catalog.names())
            return CommandResult(text=f"Answering here: **{current}**. Available: {others}.", ephemeral=True)
        if wanted not in self._catalog:
            return CommandResult(text=f"There is no persona called `{wanted}`.", ephemeral=True)
        if not message.is_dm and not self.is_admin(command):
            return CommandResult(text=REFUSAL.format(name="persona <name>") + " (in rooms)", ephemeral=True)
        await self._bindings.bind(message.platform, message.room_id, message.thread_id, wanted)
        where = "this thread" if message.thread_id else "this conversation"
        return CommandResult(text=f"**{wanted}** now answers in {where}.")

    async def _journal(self, command: Command) -> CommandResult:
        visibility = await self._visibility(command.context)
        persona = self._persona_for(command.context).name
        midnight = datetime.combine(self._clock().astimezone(UTC).date(), time(), tzinfo=UTC)
        entries = await self._stores.journal.recent(persona, visibility, 50, since=midnight)
        visible = [e for e in entries if visibility.allows(e.owner, e.scope)]
        if not visible:
            return CommandResult(text="Nothing in my journal today that I can show here.", ephemeral=True)
        lines = [f"**{persona}'s journal, today**", *(f"- {e.text}" for e in visible)]
        return CommandResult(text="\n".join(lines), ephemeral=True)

    async def _kb_search(self, command: Command) -> CommandResult:
        query = command.args.strip()
        if not query:
            return CommandResult(text="Usage: `kb_search <query>`", ephemeral=True)
        message = command.context
        persona = self._persona_for(message)
        entries = await self._stores.kb.select(
            query=query,
            recent_text=query,
            scopes=knowledge_scopes(persona.name, f"room:{message.platform}:{message.room_id}"),
            token_budget=max(persona.memory.kb_budget_tokens, 400),
        )
        if not entries:
            return CommandResult(text=f'Nothing in the knowledgebase about "{query}".', ephemeral=True)
        lines = [f"- **{e.title or e.id}**: {_excerpt(e.text)}" for e in entries]
        return CommandResult(text="\n".join(lines), ephemeral=True)

    async def _kb_add(self, command: Command) -> CommandResult:
        title, _, text = command.args.strip().partition("\n")
        if not title.strip() or not text.strip():
            return CommandResult(
                text="Usage: `kb_add <title>` then the text on the next lines.", ephemeral=True
            )
        digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
        entry = KBEntry(
            id=f"manual:{digest[:16]}",
            title=title.strip(),
            text=text.strip(),
            kind="retrieved",
            scope="global",
            source="manual",
            content_hash=digest,
            created_at=self._clock(),
        )
        added = await self._stores.kb.add([entry])
        return CommandResult(
            text=f"Added **{entry.title}** to the knowledgebase."
            if added
            else "That entry was already there.",
            ephemeral=True,
        )

    async def _link(self, command: Command) -> CommandResult:
        identity = command.context.identity
        code = command.args.strip()
        if not code:
            ttl = self._settings.link_code_ttl_s
            issued = await self._stores.links.issue_code(identity, ttl)
            minutes = max(1, round(ttl / 60))
            text = (
                f"Your link code is `{issued}`. Send `link {issued}` from your other account "
                f"within {minutes} min."
            )
            return CommandResult(text=text, ephemeral=True)
        if await self._stores.links.redeem(identity, code):
            return CommandResult(text="Linked: I now know both accounts are you.", ephemeral=True)
        return CommandResult(text="That code is unknown or expired.", ephemeral=True)

    async def _unlink(self, command: Command) -> CommandResult:
        await self._stores.links.unlink(command.context.identity)
        return CommandResult(text="Unlinked: this account stands on its own again.", ephemeral=True)

    async def _config(self, command: Command) -> CommandResult:
        if command.args.strip():
            return CommandResult(
                text="Changing settings at run time is not supported; set them in `.env` and restart.",
                ephemeral=True,
            )
        shown = json.dumps(self._settings.model_dump(mode="json"), indent=2, sort_keys=True)
        return CommandResult(text=f"Effective engine settings:\n```json\n{shown}\n```", ephemeral=True)


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]  # whole words only
    return f"{cut}…"


def _plain(value: Any) -> Any:
    """Dataclasses, datetimes, tuples and sets as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
