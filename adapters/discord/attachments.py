"""Fetch (or refuse) a message's attachments for the engine.

Images are loaded within a size cap for vision models, text files are inlined within a cap, voice
and audio are marked and transcribed only when a `Transcriber` is configured (without one, or when
it fails, the engine gets a one-line note). Anything refused becomes one clear `note`, never raw bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Protocol

import discord

from adapters.discord.settings import AttachmentLimits
from persona.types import Attachment, AttachmentKind

_log = logging.getLogger(__name__)

_TEXT_SUFFIXES = frozenset(
    {".txt", ".md", ".markdown", ".py", ".json", ".csv", ".log", ".yaml", ".yml", ".toml", ".ini",
     ".js", ".ts", ".html", ".css", ".xml", ".sh", ".rs", ".go", ".java", ".c", ".h", ".cpp", ".sql"}
)  # fmt: skip
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class Transcriber(Protocol):
    """Speech-to-text for voice messages. Optional; the adapter ships no implementation."""

    async def transcribe(self, data: bytes, *, filename: str, content_type: str) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentPlan:
    kind: AttachmentKind
    load: bool  # fetch the bytes
    note: str | None = None  # set when refused


def plan_attachment(
    *, filename: str, content_type: str, size: int, is_voice: bool, limits: AttachmentLimits
) -> AttachmentPlan:
    """Decide what to do with one file from its metadata alone. Pure."""
    kind = classify(filename=filename, content_type=content_type, is_voice=is_voice)
    cap = {"image": limits.image_bytes, "text": limits.text_bytes, "audio": limits.audio_bytes}.get(kind)
    if cap is None:
        return AttachmentPlan(kind=kind, load=False, note=f"[attachment {filename}: unsupported file type]")
    if size > cap:
        note = f"[attachment {filename}: too large ({_kib(size)} > {_kib(cap)} limit), not read]"
        return AttachmentPlan(kind=kind, load=False, note=note)
    return AttachmentPlan(kind=kind, load=True)


def classify(*, filename: str, content_type: str, is_voice: bool) -> AttachmentKind:
    main_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if is_voice or main_type.startswith("audio/"):
        return "audio"
    if main_type in _IMAGE_TYPES:
        return "image"
    if main_type.startswith("text/") or PurePosixPath(filename).suffix.lower() in _TEXT_SUFFIXES:
        return "text"
    return "file"


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB"


def decode_text(data: bytes) -> str | None:
    """File bytes as text, or None when they look binary."""
    if b"\x00" in data:
        return None
    return data.decode("utf-8", errors="replace")


async def load_attachments(
    files: Sequence[discord.Attachment], *, limits: AttachmentLimits, transcriber: Transcriber | None = None
) -> tuple[Attachment, ...]:
    loaded = [await _load_one(f, limits=limits, transcriber=transcriber) for f in files[: limits.max_files]]
    for extra in files[limits.max_files :]:
        loaded.append(
            _refused(extra, "file", f"[attachment {extra.filename}: over {limits.max_files} files]")
        )
    return tuple(loaded)


async def _load_one(
    file: discord.Attachment, *, limits: AttachmentLimits, transcriber: Transcriber | None
) -> Attachment:
    content_type = file.content_type or "application/octet-stream"
    plan = plan_attachment(
        filename=file.filename,
        content_type=content_type,
        size=file.size,
        is_voice=file.is_voice_message(),
        limits=limits,
    )
    if not plan.load:
        return _refused(file, plan.kind, plan.note)
    try:
        data = await file.read()
    except (discord.HTTPException, discord.NotFound) as exc:
        _log.warning("attachment %s could not be downloaded: %s", file.id, exc)
        return _refused(file, plan.kind, f"[attachment {file.filename}: could not be downloaded]")
    return await _finish(file, plan.kind, content_type, data, transcriber)


async def _finish(
    file: discord.Attachment,
    kind: AttachmentKind,
    content_type: str,
    data: bytes,
    transcriber: Transcriber | None,
) -> Attachment:
    base = Attachment(kind=kind, filename=file.filename, content_type=content_type, size=file.size)
    if kind == "text":
        text = decode_text(data)
        if text is None:
            return _refused(file, "file", f"[attachment {file.filename}: binary file, not read]")
        return replace(base, text=text)
    if kind == "audio":
        if transcriber is None:
            return replace(
                base, data=data, note=f"[voice message {file.filename}: no speech-to-text configured]"
            )
        try:
            transcript = await transcriber.transcribe(data, filename=file.filename, content_type=content_type)
        except Exception:  # any speech-to-text failure: the message still goes through, with a note
            _log.warning("transcribing %s failed", file.filename, exc_info=True)
            return replace(base, data=data, note=f"[voice message {file.filename}: could not be transcribed]")
        return replace(base, data=data, text=transcript)
    return replace(base, data=data)


def _refused(file: discord.Attachment, kind: AttachmentKind, note: str | None) -> Attachment:
    return Attachment(
        kind=kind,
        filename=file.filename,
        content_type=file.content_type or "application/octet-stream",
        size=file.size,
        note=note,
    )
