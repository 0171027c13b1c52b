"""Where an item lives, and which places a Visibility may search.

Vectors are partitioned into small collections, so a search never filters one person out of a
big shared collection (17x slower in Chroma, measured): per owner, DM items and room items apart,
plus one collection per room holding that room's items for room-shared retrieval. The lexical
index uses the same buckets as partition tokens.
"""

from __future__ import annotations

import hashlib

from memory.lexical import partition_token
from memory.records import DM_SCOPE, MemoryItem, Visibility


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:24]


def owner_collection(owner: str, *, dm: bool) -> str:
    return f"ltm-o-{_digest(owner)}-{'dm' if dm else 'rooms'}"


def room_collection(scope: str) -> str:
    return f"ltm-r-{_digest(scope)}"


def item_collections(item: MemoryItem) -> list[str]:
    return collections_of(item.owner, item.scope)


def collections_of(owner: str, scope: str) -> list[str]:
    """The collections holding an item of this owner and scope."""
    is_dm = scope == DM_SCOPE
    names = [owner_collection(owner, dm=is_dm)]
    if not is_dm:
        names.append(room_collection(scope))
    return names


def item_tokens(item: MemoryItem) -> tuple[str, ...]:
    is_dm = item.scope == DM_SCOPE
    tokens = [partition_token("d" if is_dm else "r", item.owner)]
    if not is_dm:
        tokens.append(partition_token("s", item.scope))
    return tuple(tokens)


def visible_collections(visibility: Visibility) -> list[str]:
    in_dm = visibility.scope == DM_SCOPE
    names: list[str] = []
    for owner in sorted(visibility.owners):
        if in_dm:
            names.append(owner_collection(owner, dm=True))
        names.append(owner_collection(owner, dm=False))
    if visibility.room_shared and not in_dm:
        names.append(room_collection(visibility.scope))
    return names


def visible_tokens(visibility: Visibility) -> list[str]:
    in_dm = visibility.scope == DM_SCOPE
    tokens: list[str] = []
    for owner in sorted(visibility.owners):
        if in_dm:
            tokens.append(partition_token("d", owner))
        tokens.append(partition_token("r", owner))
    if visibility.room_shared and not in_dm:
        tokens.append(partition_token("s", visibility.scope))
    return tokens
