"""Key naming and reply decoding shared by the Redis stores."""

from __future__ import annotations

DEFAULT_PREFIX = "familiar:"


def text(value: bytes | str) -> str:
    """Replies are bytes unless the client was built with decode_responses=True; accept both."""
    return value.decode() if isinstance(value, bytes) else value


def millis(seconds: float) -> int:
    """A positive whole number of milliseconds for PX/PEXPIRE (which refuse 0)."""
    return max(1, round(seconds * 1000))


class KeySpace:
    """Builds keys as `<prefix><store>:<part>...`; `prefix` is usually "familiar:"."""

    def __init__(self, prefix: str, store: str) -> None:
        self._base = f"{prefix}{store}:"

    def __call__(self, *parts: str) -> str:
        return self._base + ":".join(parts)
