"""Personas: one YAML (or TOML) file each, validated at start.

A malformed file fails loudly with the file, the key and what is wrong, so a typo in a persona
never turns into a silent default at run time. Loading reads files synchronously: it happens
once, at start, before any turn (use `load_catalog` from async code, which runs it in a thread).
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from persona.providers.config import ModelRef

_log = logging.getLogger(__name__)

PERSONA_SUFFIXES = (".yaml", ".yml", ".toml")


class ExampleExchange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)


class MemoryKnobs(BaseModel):
    """How much of each kind of memory a turn may bring into the prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    history_turns: int = Field(default=20, ge=0, le=500)
    memories_k: int = Field(default=8, ge=0, le=100)
    kb_budget_tokens: int = Field(default=800, ge=0)
    journal_entries: int = Field(default=3, ge=0, le=50)
    room_shared: bool = False  # in group rooms, also recall what others said in this very room


class PersonaSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    system_prompt: str = Field(min_length=1)
    style: str = ""
    examples: tuple[ExampleExchange, ...] = ()
    provider: str = Field(default="openai", min_length=1)
    model: str = Field(min_length=1)
    fallbacks: tuple[ModelRef, ...] = ()
    vision: bool = False
    context_tokens: int = Field(default=16_000, ge=512)
    reply_max_tokens: int = Field(default=800, ge=16)
    temperature: float | None = Field(default=None, ge=0, le=2)
    memory: MemoryKnobs = Field(default_factory=MemoryKnobs)
    # Tools this persona may call, by name or pattern ("remember_this", "notes__*"); none by
    # default, so a persona answers in one call as ever until its file allows some.
    tools: tuple[str, ...] = ()

    @property
    def model_ref(self) -> ModelRef:
        return ModelRef(provider=self.provider, model=self.model)

    @property
    def prompt_budget(self) -> int:
        """Tokens the prompt may use: the context window minus the room kept for the reply."""
        return max(0, self.context_tokens - self.reply_max_tokens)


class PersonaFileError(ValueError):
    """A persona file that cannot be used; names the file, the key and the problem."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


def builtin_personas_dir() -> Path:
    return Path(__file__).with_name("personas")


def load_persona_file(path: Path) -> PersonaSpec:
    raw = _read_mapping(path)
    try:
        return PersonaSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise PersonaFileError(path, key, first["msg"]) from None


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PersonaFileError(path, "(file)", f"cannot read: {err.strerror}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        raise PersonaFileError(path, "(syntax)", str(err).replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise PersonaFileError(path, "(top level)", "expected a mapping of keys to values")
    return data


class PersonaCatalog:
    """The personas available to the engine, by name, with one default."""

    def __init__(self, personas: Iterable[PersonaSpec], *, default: str = "default") -> None:
        self._by_name: dict[str, PersonaSpec] = {}
        for spec in personas:
            self._by_name[spec.name] = spec
        if not self._by_name:
            raise ValueError("no personas configured")
        if default not in self._by_name:
            raise ValueError(f"default persona {default!r} not found; have {sorted(self._by_name)}")
        self.default = default

    @classmethod
    def from_dirs(cls, dirs: Iterable[Path], *, default: str = "default") -> PersonaCatalog:
        """Load every persona file; later directories override earlier ones by name."""
        specs: dict[str, PersonaSpec] = {}
        for directory in dirs:
            for path in sorted(directory.iterdir()):
                if path.suffix in PERSONA_SUFFIXES and path.is_file():
                    spec = load_persona_file(path)
                    specs[spec.name] = spec
                    _log.debug("persona %s loaded from %s", spec.name, path)
        return cls(specs.values(), default=default)

    def get(self, name: str | None) -> PersonaSpec:
        """The named persona, or the default when the name is unknown or unset."""
        if name and name in self._by_name:
            return self._by_name[name]
        return self._by_name[self.default]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def as_mapping(self) -> Mapping[str, PersonaSpec]:
        return dict(self._by_name)


async def load_catalog(extra_dirs: Iterable[Path] = (), *, default: str = "default") -> PersonaCatalog:
    """The shipped personas plus the user's directories, read off the event loop."""
    dirs = [builtin_personas_dir(), *extra_dirs]
    return await asyncio.to_thread(PersonaCatalog.from_dirs, dirs, default=default)
