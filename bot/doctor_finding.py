"""One line of `familiar doctor`'s report: what was checked, whether it is fine, what to fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""
