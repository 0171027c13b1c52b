"""`MatrixAdapter`: login, a supervised sync loop, and one owned task per event.

The sync loop is ours rather than nio's `sync_forever` so that it can never silently stop: every
sync is bounded by a liveness deadline (a multiple of the long-poll timeout), failures back off
exponentially, and any exception short of cancellation is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from nio import AsyncClient, InviteMemberEvent, JoinResponse, MatrixRoom, RoomMemberEvent, SyncResponse

from adapters.matrix.handler import EventHandler
from adapters.matrix.login import MatrixConfigError, open_client
from adapters.matrix.media import Transcriber
from adapters.matrix.outbound import post_unsolicited
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.state import SessionFile
from adapters.matrix.transport import Transport
from persona.api import Engine
from persona.outbound import OutboundMessage, VoiceReplier

_log = logging.getLogger(__name__)


class MatrixAdapter:
    name = "matrix"
    platform = "matrix"  # as an `Outbound` port

    def __init__(
        self,
        settings: MatrixSettings,
        engine: Engine,
        data_dir: Path,
        *,
        transcriber: Transcriber | None = None,
        voice: VoiceReplier | None = None,
    ) -> None:
        self._voice = voice
        self._settings = settings
        self._engine = engine
        self._store_dir = settings.resolved_store_dir(data_dir)
        self._sessions = SessionFile(self._store_dir)
        self._transcriber = transcriber
        self._client: AsyncClient | None = None
        self._handler: EventHandler | None = None
        self._transport: Transport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._direct_rooms: set[str] = set()
        self._ready = asyncio.Event()
        self._run_task: asyncio.Task[Any] | None = None
        self._closed = False
        self.last_sync_at: float | None = None  # monotonic time of the last successful sync
        self.sync_count = 0

    @property
    def ready(self) -> asyncio.Event:
        """Set once the first sync is done (the backlog skipped): from here on events are answered."""
        return self._ready

    @property
    def device_id(self) -> str | None:
        return None if self._client is None else str(self._client.device_id)

    async def run(self) -> None:
        """Log in (or reuse the saved session) and sync; after a failure the supervisor may call
        it again, which connects afresh from the saved sync token."""
        if self._closed:
            return
        self._run_task = asyncio.current_task()
        try:
            await self._connect()
            await self._sync_forever()
        finally:
            await self._disconnect()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        run_task = self._run_task
        if run_task is not None and run_task is not asyncio.current_task() and not run_task.done():
            run_task.cancel()  # interrupts a long-poll sync in flight
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run_task
        await self._disconnect()

    async def deliver(self, message: OutboundMessage) -> None:
        """`persona.outbound.Outbound`: a reminder or check-in into its room or DM."""
        event_id = await post_unsolicited(self._transport if self._client is not None else None, message)
        if self._handler is not None:
            self._handler.remember_own(event_id)

    async def _disconnect(self) -> None:
        await self._drain_tasks()
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # --- startup -----------------------------------------------------------------------------

    async def _connect(self) -> None:
        delay = self._settings.sync_backoff_initial
        while True:
            try:
                client = await open_client(self._settings, self._store_dir, self._sessions)
                break
            except MatrixConfigError:
                raise
            except (OSError, TimeoutError) as error:  # aiohttp's connection errors are OSErrors
                _log.warning("matrix: homeserver unreachable (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.sync_backoff_max)
        saved = self._sessions.current
        self._direct_rooms = set(saved.direct_rooms) if saved else set()
        self._client = client
        self._transport = Transport(client, send_retries=self._settings.send_retries)
        self._handler = EventHandler(
            client=client,
            transport=self._transport,
            settings=self._settings,
            engine=self._engine,
            transcriber=self._transcriber,
            direct_rooms=self._direct_rooms,
            voice=self._voice,
        )

    # --- sync --------------------------------------------------------------------------------

    async def _sync_forever(self) -> None:
        saved = self._sessions.current
        since = saved.next_batch if saved else None
        # A fresh store answers nothing older than startup: the first sync only catches up.
        catching_up = since is None
        delay = self._settings.sync_backoff_initial
        while not self._closed:
            # The first sync of a run does not long-poll: `ready` should not wait for traffic.
            response = await self._sync_once(since, poll=self._ready.is_set())
            if response is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.sync_backoff_max)
                continue
            delay = self._settings.sync_backoff_initial
            try:
                await self._after_sync(response, dispatch=not catching_up)
                await self._sessions.update(next_batch=response.next_batch)
            except Exception:  # e.g. a full disk: log it loudly, keep syncing
                _log.exception("matrix: handling a sync response failed")
            since = response.next_batch
            catching_up = False
            self._ready.set()

    async def _sync_once(self, since: str | None, *, poll: bool) -> SyncResponse | None:
        """One long-poll under a liveness deadline; None (logged) on any failure."""
        client = self._require_client()
        timeout_ms = self._settings.sync_timeout_ms if poll else 0
        deadline = self._settings.sync_timeout_ms / 1000 * self._settings.sync_liveness_factor
        try:
            async with asyncio.timeout(deadline):
                response = await client.sync(timeout=timeout_ms, since=since, full_state=since is None)
        except TimeoutError:
            _log.warning("matrix: no sync answer within %.0fs; restarting the sync", deadline)
            return None
        except Exception:  # the supervisor's boundary: syncing must never stop
            _log.exception("matrix: sync failed; retrying")
            return None
        if not isinstance(response, SyncResponse):
            if response.status_code == "M_UNKNOWN_TOKEN":
                raise MatrixConfigError(
                    "matrix: the homeserver no longer accepts our access token; delete "
                    f"{self._store_dir / 'session.json'} and check matrix.password/access_token"
                )
            _log.warning("matrix: sync error %s: %s", response.status_code, response.message)
            return None
        self.last_sync_at = time.monotonic()
        self.sync_count += 1
        return response

    async def _after_sync(self, response: SyncResponse, *, dispatch: bool) -> None:
        try:
            await self._require_transport().key_chores()
        except Exception:
            _log.exception("matrix: key upload/query failed; will retry after the next sync")
        for room_id, info in response.rooms.invite.items():
            self._spawn(self._on_invite(room_id, info.invite_state), f"matrix-invite-{room_id}")
        for room_id, info in response.rooms.join.items():
            room = self._require_client().rooms.get(room_id)
            if room is None or not dispatch:
                continue
            for event in self._new_events(info.timeline.events):
                self._spawn(self._on_event(room, event), f"matrix-event-{event.event_id}")

    def _new_events(self, events: list[Any]) -> list[Any]:
        """Events after our own join: history from before the bot joined is not addressed to it."""
        user_id = self._require_client().user_id
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == user_id
                and event.membership == "join"
                and (event.prev_membership or "leave") != "join"
            ):
                return events[index + 1 :]
        return events

    # --- events ------------------------------------------------------------------------------

    async def _on_event(self, room: MatrixRoom, event: Any) -> None:
        handler = self._handler
        if handler is not None:
            await handler.handle(room, event)

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        client = self._require_client()
        invite = next(
            (
                event
                for event in invite_state
                if isinstance(event, InviteMemberEvent)
                and event.state_key == client.user_id
                and event.membership == "invite"
            ),
            None,
        )
        if invite is None:
            return
        if not self._settings.invite_allowed(inviter=invite.sender, room_id=room_id):
            _log.info("matrix: declining invite to %s from %s (not allowlisted)", room_id, invite.sender)
            await client.room_leave(room_id)
            return
        response = await client.join(room_id)
        if not isinstance(response, JoinResponse):
            _log.warning("matrix: joining %s failed: %s", room_id, response.message)
            return
        _log.info("matrix: joined %s (invited by %s)", room_id, invite.sender)
        if invite.content.get("is_direct"):
            self._direct_rooms.add(room_id)
            await self._sessions.update(direct_room=room_id)

    # --- task ownership ----------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        if self._closed:
            work.close()
            return
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], name: str) -> None:
        """The error boundary of one event: log it, never take the adapter down."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("matrix: %s failed", name)

    async def _drain_tasks(self) -> None:
        tasks = set(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._settings.close_drain_timeout)
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)

    def _require_client(self) -> AsyncClient:
        if self._client is None:
            raise RuntimeError("matrix adapter is not connected")
        return self._client

    def _require_transport(self) -> Transport:
        if self._transport is None:
            raise RuntimeError("matrix adapter is not connected")
        return self._transport
