"""Persona files: the shipped default loads; a malformed file names the file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona.personas import (
    PersonaCatalog,
    PersonaFileError,
    builtin_personas_dir,
    load_catalog,
    load_persona_file,
)

GOOD = """\
name: sailor
system_prompt: You are a sailor.
provider: anthropic
model: claude-haiku
fallbacks:
  - {provider: openai, model: gpt-4o-mini}
memory:
  history_turns: 5
"""


async def test_the_shipped_default_persona_loads_on_openai() -> None:
    catalog = await load_catalog()
    default = catalog.get(None)
    assert default.name == "default"
    assert default.provider == "openai"
    assert default.examples
    assert default.system_prompt


def test_a_good_file_with_fallbacks_and_knobs(tmp_path: Path) -> None:
    (tmp_path / "sailor.yaml").write_text(GOOD)
    catalog = PersonaCatalog.from_dirs([builtin_personas_dir(), tmp_path])
    sailor = catalog.get("sailor")
    assert sailor.fallbacks[0].model == "gpt-4o-mini"
    assert sailor.memory.history_turns == 5
    assert catalog.get("nobody").name == "default"  # unknown names fall back to the default


def test_toml_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "owl.toml"
    path.write_text('name = "owl"\nsystem_prompt = "Hoot."\nmodel = "m"\n')
    assert load_persona_file(path).name == "owl"


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("name: x\nmodel: m\n", "system_prompt", "required"),
        ("name: x\nsystem_prompt: s\nmodel: m\ncontext_tokens: lots\n", "context_tokens", "integer"),
        (
            "name: x\nsystem_prompt: s\nmodel: m\nmemory:\n  history_turns: -1\n",
            "memory.history_turns",
            "greater",
        ),
        ("name: x\nsystem_prompt: s\nmodel: m\ntemprature: 0.5\n", "temprature", "not permitted"),
        (
            "name: x\nsystem_prompt: s\nmodel: m\nfallbacks:\n  - {provider: openai}\n",
            "fallbacks.0.model",
            "required",
        ),
        ("name: [unclosed\n", "(syntax)", ""),
        ("- just\n- a list\n", "(top level)", "mapping"),
    ],
)
def test_a_malformed_file_names_file_key_and_problem(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body)
    with pytest.raises(PersonaFileError) as caught:
        PersonaCatalog.from_dirs([tmp_path], default="x")
    assert caught.value.path == path
    assert caught.value.key == key
    assert problem.lower() in caught.value.problem.lower()
    assert str(path) in str(caught.value)
    assert key in str(caught.value)


def test_a_missing_default_persona_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sailor.yaml").write_text(GOOD)
    with pytest.raises(ValueError, match="default persona"):
        PersonaCatalog.from_dirs([tmp_path])
