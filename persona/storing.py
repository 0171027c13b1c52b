"""What a finished turn leaves behind: history turns and long-term memory items (pure)."""

from __future__ import annotations

from memory.records import MemoryItem, Turn
from persona.hooks import CompletedTurn
from persona.types import IncomingMessage


def message_turn(message: IncomingMessage, *, persona: str) -> Turn:
    return Turn(
        event_id=message.event_id,
        session=str(message.session),
        role="user",
        owner=message.identity,
        author_name=message.author_name,
        text=message_text(message),
        created_at=message.timestamp,
        scope=message.scope,
        platform=message.platform,
        room_id=message.room_id,
        thread_id=message.thread_id,
        persona=persona,
    )


def history_turns(turn: CompletedTurn) -> list[Turn]:
    """Every answered user message, then the persona's reply (none when the turn failed)."""
    turns = [message_turn(m, persona=turn.persona) for m in turn.messages]
    turns += tool_turns(turn)
    if turn.reply_text:
        last = turn.messages[-1]
        turns.append(
            Turn(
                event_id=turn.reply_event_id,
                session=turn.session,
                role="assistant",
                owner=last.identity,  # the exchange belongs to the person answered
                author_name=turn.persona,
                text=turn.reply_text,
                created_at=turn.finished_at,
                scope=last.scope,
                platform=last.platform,
                room_id=last.room_id,
                thread_id=last.thread_id,
                persona=turn.persona,
            )
        )
    return turns


def tool_turns(turn: CompletedTurn) -> list[Turn]:
    """Each tool call and its result, as the answered person's own records (ids from the turn
    key, so storing the turn twice changes nothing)."""
    last = turn.messages[-1]
    turns: list[Turn] = []
    for n, record in enumerate(turn.tools):
        for kind, text in (
            ("tool_call", f"{record.name} {record.arguments}"),
            ("tool_result", record.output),
        ):
            turns.append(
                Turn(
                    event_id=f"{turn.key}:tool:{n}:{kind.removeprefix('tool_')}",
                    session=turn.session,
                    role="assistant",
                    owner=last.identity,
                    author_name=turn.persona,
                    text=text,
                    created_at=record.at,
                    scope=last.scope,
                    platform=last.platform,
                    room_id=last.room_id,
                    thread_id=last.thread_id,
                    persona=turn.persona,
                    kind="tool_call" if kind == "tool_call" else "tool_result",
                )
            )
    return turns


def memory_items(turn: CompletedTurn) -> list[MemoryItem]:
    """One memory per user message and, for each person answered, one of the reply.

    In a merged group turn the reply answers several people, and each of them heard it: every one
    keeps it among their own memories (and can forget their copy alone). Ids derive from event
    ids, so storing a turn twice changes nothing.
    """
    items = [
        MemoryItem(
            id=f"{m.platform}:{m.event_id}",
            owner=m.identity,
            scope=m.scope,
            text=message_text(m),
            created_at=m.timestamp,
            source_ids=(m.event_id,),
            role="user",
            platform=m.platform,
            room_id=m.room_id,
            thread_id=m.thread_id,
            persona=turn.persona,
            context=turn.context,
        )
        for m in turn.messages
        if message_text(m).strip()
    ]
    if turn.reply_text:
        last = turn.messages[-1]
        reply_id = f"{last.platform}:{turn.reply_event_id}"
        answered = {m.identity: m for m in reversed(turn.messages)}  # each person's latest message
        for identity, message in answered.items():
            items.append(
                MemoryItem(
                    # the last author's copy keeps the plain id that single-person turns use
                    id=reply_id if identity == last.identity else f"{reply_id}@{identity}",
                    owner=identity,
                    scope=message.scope,
                    text=turn.reply_text,
                    created_at=turn.finished_at,
                    source_ids=(turn.reply_event_id, *(m.event_id for m in turn.messages)),
                    role="assistant",
                    platform=message.platform,
                    room_id=message.room_id,
                    thread_id=message.thread_id,
                    persona=turn.persona,
                    # what this person asked: another's words stay out of their memories
                    context="\n".join(message_text(m) for m in turn.messages if m.identity == identity),
                )
            )
    return items


def message_text(message: IncomingMessage) -> str:
    """The message as remembered: its text plus a mention of each file (not the file's bytes)."""
    files = [f"[{a.kind} {a.filename}]" for a in message.attachments]
    return " ".join([message.text, *files]).strip()
