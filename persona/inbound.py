"""What a person sent, made safe at the adapter edge before anything is stored or counted.

Every adapter passes its `IncomingMessage` through `normalise` (pure, no I/O) as the last step
of translation, so the engine, the stores and the provider only ever see text that:
- is valid Unicode: a lone UTF-16 surrogate (valid JSON, sent by bridges and broken clients, or
  an undecodable byte read from a terminal) becomes U+FFFD, since it cannot be encoded as UTF-8
  and made the token counter, SQLite and the provider SDKs raise;
- has no NUL or other control characters (newlines and tabs stay; CR/LF becomes LF);
- is bounded: text over `max_text_chars` is cut, with a visible note saying how much was left
  out, and attachments are bounded in count and size, the refused ones keeping a one-line note.
The prompt builder makes a merged turn fit the persona's budget; these bounds only stop one
message from being arbitrarily large on its way there.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from persona.types import Attachment, IncomingMessage

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab and newline (CR is folded into LF first), DEL and the C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINES = re.compile("\r\n?")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputLimits:
    """Bounds on one incoming message; the defaults suit every platform we speak."""

    max_text_chars: int = 16_000  # about 4k tokens: a long letter, not a book
    max_name_chars: int = 100
    max_attachments: int = 10
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_attachment_text_chars: int = 32_000


DEFAULT_LIMITS = InputLimits()


def clean_text(text: str) -> str:
    """`text` as valid Unicode without control characters; newlines and tabs kept. Pure."""
    if _SURROGATE.search(text):
        # A UTF-16 round trip joins a pair split into two code points and replaces lone ones.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    return _CONTROL.sub("", text)


def cut_note(left_out: int) -> str:
    return f"[message cut: {left_out:,} characters left out]"


def cut_text(text: str, max_chars: int) -> str:
    """`text` within `max_chars`, note included, keeping its beginning, with a visible note when
    cut (so cutting a cut text changes nothing)."""
    if len(text) <= max_chars:
        return text
    keep = max(0, max_chars - len(cut_note(len(text))) - 1)
    return f"{text[:keep]}\n{cut_note(len(text) - keep)}"


def normalise(message: IncomingMessage, limits: InputLimits = DEFAULT_LIMITS) -> IncomingMessage:
    """The message as the engine may store and answer it (see the module docstring)."""
    kept = message.attachments[: limits.max_attachments]
    attachments = tuple(_attachment(a, limits) for a in kept)
    over = len(message.attachments) - len(kept)
    if over:
        attachments += (_over_count(over, limits.max_attachments),)
    return dataclasses.replace(
        message,
        room_id=clean_text(message.room_id),
        thread_id=None if message.thread_id is None else clean_text(message.thread_id),
        author_id=clean_text(message.author_id),
        author_name=cut_text(clean_text(message.author_name), limits.max_name_chars),
        text=cut_text(clean_text(message.text), limits.max_text_chars),
        event_id=clean_text(message.event_id),
        reply_to=None if message.reply_to is None else clean_text(message.reply_to),
        attachments=attachments,
        persona=None if message.persona is None else clean_text(message.persona),
        model=None if message.model is None else clean_text(message.model),
    )


def _attachment(attachment: Attachment, limits: InputLimits) -> Attachment:
    filename = cut_text(clean_text(attachment.filename), limits.max_name_chars)
    note = None if attachment.note is None else clean_text(attachment.note)
    text = attachment.text
    if text is not None:
        text = cut_text(clean_text(text), limits.max_attachment_text_chars)
    data = attachment.data
    if data is not None and len(data) > limits.max_attachment_bytes:
        note = f"{filename} is too large ({len(data):,} bytes), not read"
        data = None
    return dataclasses.replace(
        attachment,
        filename=filename,
        content_type=clean_text(attachment.content_type)[:200],
        text=text,
        data=data,
        note=note,
    )


def _over_count(over: int, limit: int) -> Attachment:
    return Attachment(
        kind="file",
        filename=f"{over} more files",
        content_type="application/octet-stream",
        size=0,
        note=f"only the first {limit} files of a message are read",
    )
