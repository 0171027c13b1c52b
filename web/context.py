"""Everything the web handlers read or act through, handed in by the composition root."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from memory.base import Stores
from memory.directory import Directory
from persona.api import Engine
from persona.bindings import PersonaBindings
from persona.personas import PersonaCatalog
from persona.settings import EngineSettings
from web.auth import AdminAuth
from web.links import MemoryLinkBook
from web.metrics import Metrics
from web.settings import WebSettings

KBIngest = Callable[[str, bytes, str], Awaitable[int]]
"""(file name, content, scope) -> how many knowledgebase entries changed."""


class EngineStatus(Protocol):
    """What the health page and /metrics read of the running engine."""

    stats: Counter[str]

    @property
    def active_sessions(self) -> int: ...

    @property
    def queued_jobs(self) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class WebContext:
    settings: WebSettings
    engine: Engine  # commands: forgetting and export go through the same path as `/forget`
    status: EngineStatus
    engine_settings: EngineSettings
    stores: Stores
    directory: Directory
    catalog: PersonaCatalog
    bindings: PersonaBindings
    ingest: KBIngest
    auth: AdminAuth
    links: MemoryLinkBook
    metrics: Metrics
    adapters: Mapping[str, str]  # adapter name -> "running" / "restarting" / "stopped"
