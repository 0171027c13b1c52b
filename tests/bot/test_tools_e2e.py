"""Tool use through the real App: the wire fake asks for tools in both protocols, the engine runs
them on the real stores (and a real MCP server over stdio and streamable HTTP), and what reaches
each prompt is checked: a remembered fact in the next prompt, a tool's output fenced as data and
only in the prompt of the person whose turn called it, the bound on rounds, secrets nowhere."""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from pydantic import SecretStr

from bot.app import App
from persona.personas import builtin_personas_dir
from persona.tools.fence import TOOL_RULES
from persona.tools.loop import LOOP_LINE
from persona.tools.mcp_config import McpServerConfig
from persona.types import IncomingMessage, TurnOutcome
from tests.bot.support import Chat, Person, ScriptedModel, dm, in_room, is_reply_request, scenario_settings
from tests.support.llm_server import LLMServer, RecordedRequest, reply, tool_call
from tests.support.mcp_notes import INJECTION, TOKEN_VARIABLE, notes_http_server

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-notes-token-4242"
SECRET_VARIABLE = "FAMILIAR_TEST_NOTES_TOKEN"
TOOLS = ["remember_this", "search_memories", "forget_this", "search_knowledge", "notes__*", "web__*"]
_people = itertools.count(1)

# One App for the module (starting one costs ~15 s on a loaded machine): personas "default"
# (OpenAI, tools), "claude" (Anthropic, tools) and "plain" (no tools); MCP servers "notes" (stdio),
# "web" (streamable HTTP on loopback) and "broken" (a command that does not exist).
pytestmark = pytest.mark.asyncio(loop_scope="module")


def person(name: str) -> Person:
    return Person(platform="discord", user_id=str(next(_people) + 5000), name=name)


def _personas(data_dir: Path) -> Path:
    spec = yaml.safe_load((builtin_personas_dir() / "default.yaml").read_text(encoding="utf-8"))
    folder = data_dir / "personas"
    folder.mkdir(parents=True, exist_ok=True)
    for name, provider, tools in (
        ("default", "openai", TOOLS),
        ("claude", "anthropic", TOOLS),
        ("plain", "openai", []),
    ):
        variant = {**spec, "name": name, "provider": provider, "tools": tools}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(variant), encoding="utf-8")
    return folder


def _servers(http_url: str, missing: Path) -> dict[str, McpServerConfig]:
    notes = McpServerConfig(
        transport="stdio",
        command=sys.executable,
        args=("-m", "tests.support.mcp_notes"),
        cwd=str(ROOT),
        env={TOKEN_VARIABLE: SECRET_VARIABLE},
    )
    return {
        "notes": notes,
        "web": McpServerConfig(transport="http", url=http_url),
        "broken": McpServerConfig(transport="stdio", command=str(missing)),
    }


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass(slots=True)
class World:
    chat: Chat
    server: LLMServer
    logged: _Logged
    mark: int = 0

    def begin(self) -> None:
        """A test starts: nothing scripted is left, and only requests from now on are read."""
        self.server.end_script()
        self.mark = len(self.server.requests)

    def replies(self) -> list[RecordedRequest]:
        return [r for r in self.server.requests[self.mark :] if is_reply_request(r)]

    async def send(self, message: IncomingMessage) -> str:
        outcome, sink = await self.chat.send(message)
        assert outcome is TurnOutcome.ANSWERED, sink.replies
        return sink.replies[-1].text


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("tools")
    logged = _Logged()
    root = logging.getLogger()
    root.addHandler(logged)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    os.environ[SECRET_VARIABLE] = SECRET
    server = LLMServer()
    await server.start()
    server.set_responder(ScriptedModel())
    try:
        async with notes_http_server() as url:
            settings = scenario_settings(server, data_dir).model_copy(
                update={
                    "persona_dir": _personas(data_dir),
                    "anthropic_base_url": server.anthropic_base_url,
                    "anthropic_api_key": SecretStr("test-key"),
                    "mcp": _servers(url, data_dir / "no-such-server"),
                }
            )
            async with App(settings) as app:
                yield World(chat=Chat(app=app, server=server), server=server, logged=logged)
    finally:
        await server.close()
        os.environ.pop(SECRET_VARIABLE, None)
        root.removeHandler(logged)
        root.setLevel(previous_level)


@pytest.mark.parametrize("persona", ["default", "claude"], ids=["openai", "anthropic"])
async def test_remember_this_round_trip_and_the_fact_is_in_the_next_prompt(
    world: World, persona: str
) -> None:
    world.begin()
    alice = person("Alice")
    world.server.script(
        tool_call("remember_this", {"fact": "takes tea with oat milk", "topic": "tea"}, text="Sure. "),
        reply("I'll remember that."),
    )
    said = await world.send(
        replace(dm(alice, "Please remember: I take my tea with oat milk."), persona=persona)
    )
    assert said == "Sure. \n\nI'll remember that."
    first, second = world.replies()
    assert second.api == ("anthropic" if persona == "claude" else "openai")
    assert "remember_this" in first.tool_names
    assert TOOL_RULES in first.system_text
    assert "Remembered (preference) tea: takes tea with oat milk" in second.tool_results[0]

    await world.send(replace(dm(alice, "How do I like my tea?"), persona=persona))
    assert "takes tea with oat milk" in world.replies()[-1].system_text

    history = (await world.chat.export(dm(alice, "")))["history"]
    assert [turn["kind"] for turn in history][:4] == ["message", "tool_call", "tool_result", "message"]
    assert all(turn["owner"] == alice.identity for turn in history)


async def test_a_model_that_keeps_calling_tools_gets_a_bounded_turn_and_a_reply(world: World) -> None:
    world.begin()
    alice = person("Alice")
    world.server.script(*[tool_call("search_memories", {"query": "tea"}) for _ in range(8)])
    said = await world.send(dm(alice, "What do you know about tea?"))
    calls = world.replies()
    assert said == LOOP_LINE
    assert len(calls) == 5  # four rounds of tools, then one call told to answer in words
    assert calls[-1].json["tool_choice"] == "none"
    history = (await world.chat.export(dm(alice, "")))["history"]
    assert sum(turn["kind"] == "tool_call" for turn in history) == 4


async def test_an_mcp_tool_over_stdio_is_called_fenced_and_kept_to_its_caller(world: World) -> None:
    world.begin()
    alice, bob = person("Alice"), person("Bob")
    world.server.script(
        tool_call("notes__lookup", {"topic": "the blue door"}),
        tool_call("notes__token_check"),
        reply("The code is in your notes."),
    )
    await world.send(in_room(alice, "lounge", "What is the blue door code?"))
    lookup, token = world.replies()[2].tool_results
    assert lookup.startswith('<tool-output tool="notes__lookup" trust="data">')
    assert INJECTION in lookup
    assert lookup.rstrip().endswith("</tool-output>")
    assert f"token present ({len(SECRET)} characters)" in token  # the secret reached the server

    await world.send(in_room(bob, "lounge", "Anything new here?"))
    await world.send(in_room(alice, "lounge", "Thanks!"))
    bob_prompt, alice_later = world.replies()[3:5]
    assert "7788" not in bob_prompt.prompt_text
    assert "Note on" not in bob_prompt.prompt_text
    assert "7788" not in alice_later.prompt_text  # a past turn's tool output is not conversation
    assert all(SECRET not in r.prompt_text for r in world.server.requests)
    assert not [line for line in world.logged.lines if SECRET in line]


async def test_an_mcp_tool_over_streamable_http_on_loopback(world: World) -> None:
    world.begin()
    alice = person("Alice")
    world.server.script(tool_call("web__lookup", {"topic": "lunch"}), reply("Lunch is noted."))
    assert await world.send(replace(dm(alice, "What's for lunch?"), persona="claude")) == "Lunch is noted."
    first, second = world.replies()
    assert "web__lookup" in first.tool_names
    assert "Note on lunch" in second.tool_results[0]


async def test_a_failing_mcp_server_leaves_its_tools_out_and_the_bot_answers(world: World) -> None:
    world.begin()
    alice = person("Alice")
    assert await world.send(dm(alice, "hello")) == "Reply to: hello"
    (only,) = world.replies()  # tools offered but not used: still one call
    offered = only.tool_names
    assert "remember_this" in offered
    assert "notes__lookup" in offered
    assert not any(name.startswith("broken__") for name in offered)


async def test_a_persona_without_tools_answers_in_one_plain_call(world: World) -> None:
    world.begin()
    alice = person("Alice")
    await world.send(replace(dm(alice, "hi there"), persona="plain"))
    (only,) = world.replies()
    assert "tools" not in only.json
    assert TOOL_RULES not in only.system_text


async def test_forget_this_forgets_like_the_command_does(world: World) -> None:
    world.begin()
    alice = person("Alice")
    world.server.script(
        tool_call("remember_this", {"fact": "locker code 4417", "topic": "locker"}), reply("Noted.")
    )
    await world.send(dm(alice, "Remember my locker code 4417."))
    world.server.script(tool_call("forget_this", {"phrase": "4417"}), reply("Forgotten."))
    assert await world.send(dm(alice, "Please forget 4417.")) == "Forgotten."
    assert "forgot" in world.replies()[-1].tool_results[0].lower()

    await world.send(dm(alice, "What is my locker code?"))
    assert "4417" not in world.replies()[-1].prompt_text
    exported = await world.chat.export(dm(alice, ""))
    assert not [f for f in exported["facts"] if "4417" in f["value"]]
    assert not [t for t in exported["history"] if "4417" in t["text"]]
