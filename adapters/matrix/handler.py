"""One timeline event in, at most one engine call out: translation and trigger decisions.

Each call runs in its own task owned by the adapter; nothing here keeps global state except the
small in-memory sets it is given (the bot's own event ids and the threads it takes part in).
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Any, get_args

from nio import (
    AsyncClient,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    RoomGetEventResponse,
    RoomMessageAudio,
    RoomMessageImage,
    RoomMessageNotice,
    RoomMessageText,
)
from nio.events.room_events import RoomEncryptedAudio, RoomEncryptedImage

from adapters.matrix.media import Transcriber, fetch_attachment
from adapters.matrix.render import message_content, reply_relation
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.sink import MatrixSink
from adapters.matrix.transport import Transport
from adapters.matrix.triggers import (
    is_addressed,
    mentions_user,
    parse_command,
    read_relations,
    strip_reply_fallback,
)
from adapters.matrix.voice import send_voice
from persona.api import Admission, Command, CommandName, Engine
from persona.inbound import normalise
from persona.outbound import ReplyTap, VoiceReplier
from persona.types import IncomingMessage, Reply, TurnOutcome

_log = logging.getLogger(__name__)

PLATFORM = "matrix"
ADMIN_COMMANDS = frozenset({"kb_add", "config"})
_COMMANDS: frozenset[str] = frozenset(get_args(CommandName))
_MEDIA_EVENTS = (RoomMessageImage, RoomMessageAudio, RoomEncryptedImage, RoomEncryptedAudio)
_ANSWERED_TYPES = (RoomMessageText, *_MEDIA_EVENTS)
_REMEMBERED_EVENTS = 5000
UNDECRYPTABLE_NOTICE = (
    "🔒 I couldn't decrypt a message from {sender}: this device ({device}) did not receive its key. "
    "I've asked for it. If this keeps happening, check that your client shares keys with unverified "
    "devices (or verify me), then send the message again."
)


class EventHandler:
    def __init__(
        self,
        *,
        client: AsyncClient,
        transport: Transport,
        settings: MatrixSettings,
        engine: Engine,
        transcriber: Transcriber | None,
        direct_rooms: set[str],
        voice: VoiceReplier | None = None,
    ) -> None:
        self._voice = voice
        self._client = client
        self._transport = transport
        self._settings = settings
        self._engine = engine
        self._transcriber = transcriber
        self._direct_rooms = direct_rooms
        self._own_events: OrderedDict[str, None] = OrderedDict()
        self._bot_threads: set[str] = set()
        self._undecryptable_sessions: set[str] = set()

    @property
    def user_id(self) -> str:
        return str(self._client.user_id)

    def remember_own(self, event_id: str) -> None:
        self._own_events[event_id] = None
        while len(self._own_events) > _REMEMBERED_EVENTS:
            self._own_events.popitem(last=False)

    async def handle(self, room: MatrixRoom, event: Any) -> None:
        if getattr(event, "sender", None) == self.user_id:
            return
        if isinstance(event, MegolmEvent):
            await self._undecryptable(room, event)
        elif isinstance(event, RoomMessageNotice):
            return  # notices are what bots send: answering them is how bot loops start
        elif isinstance(event, _ANSWERED_TYPES):
            await self._message(room, event)

    async def _message(self, room: MatrixRoom, event: Any) -> None:
        content: dict[str, Any] = event.source.get("content", {})
        relations = read_relations(content)
        if relations.replaces is not None:
            return  # an edit of an earlier message is not a new question
        message = await self._translate(room, event, content)
        command = parse_command(message.text) if isinstance(event, RoomMessageText) else None
        if command is not None:
            await self._command(message, *command)
            return
        policy = self._settings.policy_for(room.room_id, is_dm=message.is_dm)
        in_bot_thread = relations.thread_root is not None and (
            relations.thread_root in self._bot_threads
            or await self._is_own_event(room.room_id, relations.thread_root)
        )
        addressed = is_addressed(
            policy=policy,
            is_dm=message.is_dm,
            mentions_bot=message.mentions_bot,
            reply_to_bot=message.reply_to_bot,
            in_bot_thread=in_bot_thread,
        )
        if not addressed:
            if policy.observe:
                await self._engine.observe(message)
            return
        # The engine's gate before the media: a duplicate or rate-limited voice message is
        # never downloaded or transcribed.
        admission = await self._engine.admit(message)
        if not admission.admitted:
            await self._refuse(message, admission, relations.thread_root)
            return
        if isinstance(event, _MEDIA_EVENTS):
            message = await self._with_attachment(message, content)
        await self._submit(message, relations.thread_root)

    async def _refuse(self, message: IncomingMessage, admission: Admission, thread_root: str | None) -> None:
        """A message not admitted gets its line (a limit's, or a resumed event's committed reply)
        or nothing (a duplicate)."""
        _log.debug("matrix: %s not admitted: %s", message.event_id, admission.outcome)
        if admission.reply is None:
            return
        sink = self._sink(message, thread_root)
        try:
            await sink.send(admission.reply)
        finally:
            await sink.close()

    async def _with_attachment(self, message: IncomingMessage, content: dict[str, Any]) -> IncomingMessage:
        """Media is fetched only once the bot is addressed, never for room chatter."""
        attachment = await fetch_attachment(
            content, transport=self._transport, limits=self._settings.media, transcriber=self._transcriber
        )
        return normalise(replace(message, attachments=(attachment,) if attachment is not None else ()))

    async def _translate(self, room: MatrixRoom, event: Any, content: dict[str, Any]) -> IncomingMessage:
        relations = read_relations(content)
        is_dm = self.is_dm(room)
        policy = self._settings.policy_for(room.room_id, is_dm=is_dm)
        body = strip_reply_fallback(str(content.get("body", "")))
        if isinstance(event, _MEDIA_EVENTS):
            body = _caption(content)
        message = IncomingMessage(
            platform=PLATFORM,
            room_id=room.room_id,
            thread_id=relations.thread_root,
            author_id=event.sender,
            author_name=room.user_name(event.sender) or event.sender,
            text=body,
            event_id=event.event_id,
            is_dm=is_dm,
            mentions_bot=mentions_user(
                content, user_id=self.user_id, display_name=room.user_name(self.user_id), body=body
            ),
            reply_to=relations.reply_to,
            reply_to_bot=await self._is_own_event(room.room_id, relations.reply_to),
            persona=policy.persona,
            model=policy.model,
            per_user_session=policy.per_user_session,
        )
        return normalise(message)  # before anything reads it: commands, triggers, the engine

    def is_dm(self, room: MatrixRoom) -> bool:
        return room.room_id in self._direct_rooms or room.member_count <= 2

    async def _is_own_event(self, room_id: str, event_id: str | None) -> bool:
        if event_id is None:
            return False
        if event_id in self._own_events:
            return True
        # Not sent in this run (e.g. before a restart): ask the server who sent it.
        response = await self._client.room_get_event(room_id, event_id)
        return isinstance(response, RoomGetEventResponse) and response.event.sender == self.user_id

    async def _submit(self, message: IncomingMessage, thread_root: str | None) -> None:
        if thread_root is not None:
            self._bot_threads.add(thread_root)
        sink = self._sink(message, thread_root)
        tap = ReplyTap(sink)
        try:
            outcome = await self._engine.submit(message, tap)
            _log.debug("matrix: %s -> %s", message.event_id, outcome.value)
        finally:
            await sink.close()
        if outcome is TurnOutcome.ANSWERED and tap.final is not None:
            await self._speak(message, tap.final, thread_root)

    async def _speak(self, message: IncomingMessage, reply: Reply, thread_root: str | None) -> None:
        """The reply as a voice message too, after its text, when the person asked for that."""
        spoken = await self._voice.speak(message, reply) if self._voice is not None else None
        if spoken is None:
            return
        room = self._client.rooms.get(message.room_id)
        event_id = await send_voice(self._transport, message.room_id, spoken,
                                    encrypt=bool(room is not None and room.encrypted),
                                    reply_to=message.event_id, thread_root=thread_root)  # fmt: skip
        if event_id is not None:
            self.remember_own(event_id)

    def _sink(self, message: IncomingMessage, thread_root: str | None) -> MatrixSink:
        return MatrixSink(
            transport=self._transport,
            settings=self._settings,
            room_id=message.room_id,
            reply_to=message.event_id,
            thread_root=thread_root,
            on_sent=self.remember_own,
        )

    async def _command(self, message: IncomingMessage, name: str, args: str) -> None:
        is_admin = self._settings.is_admin(message.author_id)
        if name not in _COMMANDS:
            name, args = "help", ""
        if name in ADMIN_COMMANDS and not is_admin:
            await self._notice(message, f"`{name.replace('_', ' ')}` is for admins of this bot only.")
            return
        command = Command(name=name, args=args, context=message, is_admin=is_admin)  # type: ignore[arg-type]
        result = await self._engine.command(command)
        if result.ephemeral and not message.is_dm:
            # Matrix has no private replies in a room: private answers only go to DMs.
            await self._notice(message, "That answer is private: ask me in a direct message.")
            return
        await self._notice(message, result.text)
        if result.file_data is not None:
            await self._send_file(message, result.file_name or "familiar.dat", result.file_data)

    async def _notice(self, message: IncomingMessage, text: str) -> None:
        content = message_content(text, msgtype="m.notice")
        content["m.relates_to"] = reply_relation(reply_to=message.event_id, thread_root=message.thread_id)
        content["m.mentions"] = {}
        event_id = await self._transport.send(message.room_id, content)
        if event_id is not None:
            self.remember_own(event_id)

    async def _send_file(self, message: IncomingMessage, filename: str, data: bytes) -> None:
        room = self._client.rooms.get(message.room_id)
        encrypt = bool(room is not None and room.encrypted)
        mimetype = "application/json" if filename.endswith(".json") else "application/octet-stream"
        uploaded = await self._transport.upload(
            data, filename=filename, content_type=mimetype, encrypt=encrypt
        )
        if uploaded is None:
            await self._notice(message, "I couldn't upload the file; please try again later.")
            return
        url, keys = uploaded
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "info": {"size": len(data), "mimetype": mimetype},
            "m.relates_to": reply_relation(reply_to=message.event_id, thread_root=message.thread_id),
        }
        if encrypt and keys is not None:
            content["file"] = {**keys, "url": url}
        else:
            content["url"] = url
        await self._transport.send(message.room_id, content)

    async def _undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """One notice per Megolm session (not per message) plus a key request; never silence."""
        if self._client.olm is not None:  # without a key store there is nobody to ask for
            with contextlib.suppress(LocalProtocolError):  # already requested for this session
                await self._client.request_room_key(event)
        if event.session_id in self._undecryptable_sessions:
            return
        self._undecryptable_sessions.add(event.session_id)
        text = UNDECRYPTABLE_NOTICE.format(sender=event.sender, device=self._client.device_id)
        content = message_content(text, msgtype="m.notice")
        content["m.relates_to"] = reply_relation(reply_to=event.event_id, thread_root=None)
        content["m.mentions"] = {}
        await self._transport.send(room.room_id, content)


def _caption(content: dict[str, Any]) -> str:
    """A media event's body is its file name unless a separate `filename` makes it a caption."""
    filename = content.get("filename")
    body = str(content.get("body", ""))
    return body if filename and filename != body else ""
