"""Delivery without Discord: safe mentions, throttled streaming, attachment decisions."""

from __future__ import annotations

import discord

from adapters.discord.attachments import plan_attachment
from adapters.discord.settings import AttachmentLimits
from adapters.discord.sink import StreamingSink, safe_mentions
from persona.types import Reply


class RecordingSurface:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.appended: list[str] = []
        self.typed = 0

    async def show(self, text: str) -> None:
        self.shown.append(text)

    async def append(self, text: str) -> None:
        self.appended.append(text)

    async def typing(self) -> None:
        self.typed += 1


def test_safe_mentions_never_allow_everyone_or_roles() -> None:
    author = discord.Object(id=42)
    assert safe_mentions(author).to_dict() == {"parse": [], "users": [42], "replied_user": True}
    assert safe_mentions(None).to_dict() == {"parse": [], "replied_user": True}


async def test_partials_within_the_interval_coalesce_and_the_last_is_flushed() -> None:
    surface = RecordingSurface()
    sink = StreamingSink(surface, edit_interval=3600.0, typing=False)
    for text in ("a", "ab", "abc", "abcd"):
        await sink.partial(text)
    await sink.aclose()  # no final reply came (e.g. the turn failed mid-stream)
    assert surface.shown == ["a", "abcd"]


async def test_the_final_reply_replaces_the_stream_and_adds_parts() -> None:
    surface = RecordingSurface()
    sink = StreamingSink(surface, edit_interval=3600.0)
    await sink.typing()
    await sink.partial("thinking about it")
    await sink.partial("thinking about it more")
    final = ("word " * 300 + "\n\n") * 2
    await sink.send(Reply(text=final, reply_to="1", persona="p"))
    await sink.aclose()
    assert surface.shown[0] == "thinking about it"
    assert surface.shown[-1] + "".join(surface.appended) == final
    assert len(surface.appended) == 1
    assert surface.typed == 1


async def test_an_empty_final_reply_still_sends_something() -> None:
    surface = RecordingSurface()
    sink = StreamingSink(surface, edit_interval=0.0, typing=False)
    await sink.send(Reply(text="  ", reply_to="1", persona="p"))
    assert surface.shown == ["…"]


LIMITS = AttachmentLimits(image_bytes=1000, text_bytes=100, audio_bytes=5000)


def test_attachment_plans() -> None:
    image = plan_attachment(
        filename="cat.png", content_type="image/png", size=500, is_voice=False, limits=LIMITS
    )
    assert (image.kind, image.load, image.note) == ("image", True, None)
    big = plan_attachment(
        filename="cat.png", content_type="image/png", size=5000, is_voice=False, limits=LIMITS
    )
    assert (big.load, big.note) == (False, "[attachment cat.png: too large (5 KiB > 1 KiB limit), not read]")
    code = plan_attachment(filename="a.py", content_type="", size=50, is_voice=False, limits=LIMITS)
    assert (code.kind, code.load) == ("text", True)
    voice = plan_attachment(
        filename="voice-message.ogg", content_type="audio/ogg", size=10, is_voice=True, limits=LIMITS
    )
    assert (voice.kind, voice.load) == ("audio", True)
    exe = plan_attachment(
        filename="x.exe", content_type="application/octet-stream", size=10, is_voice=False, limits=LIMITS
    )
    assert (exe.kind, exe.load, exe.note) == ("file", False, "[attachment x.exe: unsupported file type]")
