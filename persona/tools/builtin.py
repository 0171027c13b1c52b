"""The built-in memory tools: remember this, forget this, search my memories, search the
knowledgebase. Each acts only on the author's own records, through the same rule as the rest."""

from __future__ import annotations

import re
from typing import Any, cast

from memory.base import Stores
from memory.records import Fact, FactKind, MemoryQuery
from memory.visibility import knowledge_scopes
from persona.forgetting import forget
from persona.learning.facts import fact_id
from persona.learning.prompts import FACT_KINDS
from persona.tools.base import Tool, ToolContext, ToolError, schema, string_argument

_SLUG = re.compile(r"[^a-z0-9]+")
_SEARCH_K = 8


class RememberThis:
    name = "remember_this"
    description = (
        "Remember a fact the person explicitly asked you to remember about themselves. "
        "Their message is kept as its source; it is shown to you in later conversations."
    )
    parameters = schema(
        {
            "fact": {"type": "string", "description": "what to remember, as a short statement"},
            "topic": {"type": "string", "description": "a short key, e.g. 'favourite_tea'"},
            "kind": {"type": "string", "enum": sorted(FACT_KINDS), "description": "the kind of fact"},
        },
        ("fact",),
    )
    available = True

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        value = string_argument(arguments, "fact")
        topic = string_argument(arguments, "topic", required=False) or value[:40]
        attribute = _SLUG.sub("_", topic.lower()).strip("_") or "note"
        kind = string_argument(arguments, "kind", required=False) or "preference"
        if kind not in FACT_KINDS:
            raise ToolError(f"kind must be one of {', '.join(sorted(FACT_KINDS))}")
        origin = context.origin
        fact = Fact(
            id=fact_id(f"tool:{origin.event_id}", context.owner, "user", attribute),
            owner=context.owner,
            scope=origin.scope,
            subject="user",
            attribute=attribute,
            value=value,
            kind=cast("FactKind", kind),
            confidence=1.0,  # said outright, not inferred
            source_ids=(origin.event_id,),
            valid_from=origin.timestamp,
            recorded_at=context.now,
        )
        await self._stores.facts.upsert([fact])
        return f"Remembered ({kind}) {attribute.replace('_', ' ')}: {value}"


class ForgetThis:
    name = "forget_this"
    description = (
        "Forget everything the person said that mentions a phrase (messages, memories, facts, "
        "journal), as /forget does. Only when they ask you to forget something."
    )
    parameters = schema(
        {"phrase": {"type": "string", "description": "the words to forget, as they said them"}}, ("phrase",)
    )
    available = True

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        # A phrase is required: forgetting everything is for the person's own /forget command.
        phrase = string_argument(arguments, "phrase")
        # Dated when the tool ran (after the message): the turn's own words mentioning the phrase
        # are stored afterwards, and the engine's recheck forgets them too.
        counts = await forget(self._stores, context.visibility.owners, phrase, asked_at=context.now)
        done = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "nothing stored matched"
        return f"Forgot what mentions {phrase!r}: {done}"


class SearchMemories:
    name = "search_memories"
    description = "Search what you remember of your conversations with this person."
    parameters = schema({"query": {"type": "string", "description": "what to look for"}}, ("query",))
    available = True

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        query = MemoryQuery(
            text=string_argument(arguments, "query"),
            visibility=context.visibility,
            now=context.now,
            k=_SEARCH_K,
            asker_name=context.origin.author_name,
            persona_name=context.persona.name,
        )
        hits = await self._stores.memory.search(query)
        visibility = context.visibility
        lines = [
            f"- ({hit.item.created_at.date().isoformat()}, "
            f"{'you said' if hit.item.role == 'assistant' else 'they said'}) {hit.item.text}"
            for hit in hits
            if visibility.allows(hit.item.owner, hit.item.scope)  # the store filtered; so do we
        ]
        return "\n".join(lines) or "No memories match."


class SearchKnowledge:
    name = "search_knowledge"
    description = "Search the knowledgebase (notes written for you) for an answer."
    parameters = schema({"query": {"type": "string", "description": "what to look for"}}, ("query",))
    available = True

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        query = string_argument(arguments, "query")
        entries = await self._stores.kb.select(
            query=query,
            recent_text=query,
            scopes=knowledge_scopes(context.persona.name, context.room_scope),
            token_budget=max(context.persona.memory.kb_budget_tokens, 400),
        )
        return "\n\n".join(f"### {e.title}\n{e.text}" if e.title else e.text for e in entries) or (
            "Nothing in the knowledgebase matches."
        )


def memory_tools(stores: Stores) -> list[Tool]:
    return [RememberThis(stores), ForgetThis(stores), SearchMemories(stores), SearchKnowledge(stores)]
