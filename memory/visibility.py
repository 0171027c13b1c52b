"""Who may see what: the one rule deciding which records may enter a prompt or a listing.

Every store and gathering ask this module; nothing else restates the rule. It is written twice
here on purpose, side by side, as a Python predicate (`Visibility.allows`) and as SQL
(`Visibility.sql`), so a store filters *before* its LIMIT and ranking, and
tests/memory/test_visibility_contract.py holds every store to the predicate.

The rule, for an asker (their linked identities) in a place (`dm`, or a room's scope):
1. the asker's own records: all of them in a DM; in a room every one except DM-scoped ones;
2. records of this very room, anyone's or no one's, only when the room policy shares them;
3. nothing else: never another person's DM record, never another place's record of someone else.

Each kind of record reads through one of three views of that rule:
- as the room policy says (`Visibility` itself): long-term memories, the journal;
- `conversation()`: a session's recent history. Everyone in the room saw it on screen, so the
  room's own lines count as shared whatever the policy; DM lines still never leave the DM;
- `personal()`: facts and dossiers, which describe the person being answered, so never anyone
  else's, even in a room that shares.

The knowledgebase holds authored entries, not anybody's records: `knowledge_scopes` says which
of its scopes a place sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

DM_SCOPE = "dm"
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Visibility:
    """Who is asking (`owners`, their linked identities) and where (`scope`), under which policy."""

    owners: frozenset[str]
    scope: str  # scope of the place the turn happens in
    room_shared: bool = False  # the room policy shares this room's records with everyone in it

    @property
    def in_dm(self) -> bool:
        return self.scope == DM_SCOPE

    @property
    def shares_room(self) -> bool:
        """Whether clause 2 applies: a DM is nobody's room to share."""
        return self.room_shared and not self.in_dm

    def allows(self, owner: str | None, scope: str) -> bool:
        """Whether a record of `owner` (None: no single person's), scoped `scope`, may be shown."""
        if owner is not None and owner in self.owners and (self.in_dm or scope != DM_SCOPE):
            return True
        return self.shares_room and scope == self.scope

    def sql(self, *, owner: str = "owner", scope: str = "scope") -> tuple[str, list[object]]:
        """`allows` as a parenthesised WHERE condition over the given columns, and its parameters.

        A NULL owner matches no identity, as None does in `allows`.
        """
        for column in (owner, scope):
            if not _COLUMN.fullmatch(column):
                raise ValueError(f"not a column name: {column!r}")
        owners = sorted(self.owners)
        own = f"{owner} IN ({', '.join('?' * len(owners))})" if owners else "1 = 0"
        params: list[object] = list(owners)
        if not self.in_dm:
            own = f"({own} AND {scope} != ?)"
            params.append(DM_SCOPE)
        if not self.shares_room:
            return f"({own})", params
        return f"({own} OR {scope} = ?)", [*params, self.scope]

    def conversation(self) -> Visibility:
        """The view of a session's recent history: the room's own lines were on everyone's screen."""
        return replace(self, room_shared=True)

    def personal(self) -> Visibility:
        """The view of what describes the asker (facts, dossiers): their own records only."""
        return replace(self, room_shared=False)


def knowledge_scopes(persona: str, room_scope: str) -> tuple[str, ...]:
    """The knowledgebase scopes a turn sees: global, its persona's, and its room's (even in a DM,
    whose room is the DM channel itself)."""
    return ("global", f"persona:{persona}", room_scope)
