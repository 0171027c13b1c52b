"""Forgetting, written once: what `/forget` does, and what post-turn work redoes when a forget
came while it was queued or running.

A forget first records a tombstone in the outbox (so queued and resumed work for those words is
dropped, and work already running re-applies the forget when it ends), then removes from every
store. Shared journal entries (a room conversation with several people) have no single owner:
they are found through the person's event ids, collected before the stores forget them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from memory.base import Stores

_log = logging.getLogger(__name__)


async def forget(
    stores: Stores, owners: frozenset[str], phrase: str | None, *, asked_at: datetime
) -> dict[str, int]:
    """The tombstone first, then every store; returns what went, by kind.

    The tombstone is dated when the person asked (the command's own timestamp, on the same clock
    as their messages'), so words sent before the forget go, and words sent after it stay even
    when the forget itself ran late.
    """
    at = asked_at.timestamp()
    dropped = await stores.outbox.forget(owners, phrase, at)
    counts = await forget_stored(stores, owners, phrase)
    await stores.outbox.mark_applied(owners, at)  # a kill before this: applied again at start
    if dropped:
        _log.info("forget dropped %d queued post-turn jobs", dropped)
    return counts


async def forget_stored(stores: Stores, owners: frozenset[str], phrase: str | None) -> dict[str, int]:
    """Remove the owners' words (all, or those mentioning `phrase`) from every store."""
    # Long-term memory holds every message; history may keep only the recent ones.
    sources = frozenset(t.event_id for t in await stores.history.export(owners) if t.role == "user") | {
        source
        for item in await stores.memory.export(owners)
        if item.role == "user"
        for source in item.source_ids
    }
    journal = await stores.journal.forget(owners, phrase, sources=sources)
    return {
        "messages": await stores.history.forget(owners, phrase),
        "memories": await stores.memory.forget(owners, phrase),
        "facts": await stores.facts.forget(owners, phrase),
        "journal entries": journal,
    }
