"""`familiar chat` as a user runs it: a real process, real stores, a provider on loopback.

The provider is a local server speaking the OpenAI wire protocol; the process finds it through
OPENAI_BASE_URL exactly as a user's Ollama or vLLM would be found.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

from tests.support.llm_server import LLMServer, RecordedRequest, llm_server

__all__ = ["llm_server"]

FAMILIAR = [sys.executable, "-m", "bot"]
ROOT = Path(__file__).resolve().parents[2]


def _responder(request: RecordedRequest) -> str:
    if "long-term memory" in request.system_text:  # the fact extraction call
        facts = [
            {
                "subject": "user",
                "attribute": "sister_name",
                "value": "Wilhelmina",
                "kind": "relationship",
                "confidence": 0.95,
            }
        ]
        return json.dumps({"facts": facts, "dossier": "Has a sister called Wilhelmina."})
    if "journal" in request.system_text.lower() and not request.stream:
        return "A quiet talk about family."
    return f"Reply to: {request.last_user_text}"


async def _familiar(
    command: str, cwd: Path, env: dict[str, str], stdin: str | Path = ""
) -> tuple[int, str, str]:
    """Run `familiar COMMAND` as a user would; the developer's own provider variables never leak in.

    `stdin` is piped text, or a path the input is redirected from (`familiar chat < FILE`).
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    with contextlib.ExitStack() as files:
        source: BinaryIO | None = None
        piped: bytes | None = None
        if isinstance(stdin, Path):
            source, piped = files.enter_context(open(stdin, "rb")), None  # noqa: ASYNC230 - a local file
        else:
            piped = bytes(stdin, "utf-8")
        proc = await asyncio.create_subprocess_exec(
            *FAMILIAR,
            *command.split(),
            cwd=cwd,
            env={**base, "PYTHONPATH": str(ROOT), "FAMILIAR_DATA_DIR": str(cwd / "data"), **env},
            stdin=asyncio.subprocess.PIPE if source is None else source,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(piped), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def _chat(server: LLMServer, data_dir: Path, cwd: Path, *lines: str) -> tuple[int, str, str]:
    env = {
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_KEY": "test-key",
        "FAMILIAR_DATA_DIR": str(data_dir),
    }
    return await _familiar("chat", cwd, env, "".join(f"{line}\n" for line in lines))


async def test_a_fact_told_before_a_restart_reaches_the_prompt_after_it(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_responder)
    data = tmp_path / "data"

    code, out, err = await _chat(llm_server, data, tmp_path, "My sister is called Wilhelmina.")
    assert code == 0, err
    assert out.strip() == "Reply to: My sister is called Wilhelmina."

    llm_server.requests.clear()
    code, out, err = await _chat(llm_server, data, tmp_path, "What is my sister called?")
    assert code == 0, err
    assert out.strip() == "Reply to: What is my sister called?"
    replies = [r for r in llm_server.chat_requests if r.last_user_text == "What is my sister called?"]
    assert len(replies) == 1
    system = replies[0].system_text
    known = system.split("## What you know about", 1)
    assert len(known) == 2, system
    assert "Wilhelmina" in known[1]


async def test_scripted_chat_answers_each_line_in_order(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(_responder)
    code, out, err = await _chat(llm_server, tmp_path / "data", tmp_path, "one", "", "two", "three")
    assert code == 0, err
    assert out.splitlines() == ["Reply to: one", "Reply to: two", "Reply to: three"], err


async def test_chat_reads_redirected_input_and_ends_on_an_empty_one(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # `familiar chat < FILE`, and /dev/null as a service manager gives it: neither can be polled
    llm_server.set_responder(_responder)
    script = tmp_path / "lines.txt"
    await asyncio.to_thread(script.write_text, "one\ntwo\n")
    env = {"OPENAI_BASE_URL": llm_server.openai_base_url, "OPENAI_API_KEY": "test-key"}
    code, out, err = await _familiar("chat", tmp_path, env, script)
    assert code == 0, err
    assert out.splitlines() == ["Reply to: one", "Reply to: two"], err
    code, out, err = await _familiar("chat", tmp_path, env, Path(os.devnull))
    assert code == 0, err
    assert out == ""


async def test_sigterm_stops_chat_cleanly(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(_responder)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env = {"OPENAI_BASE_URL": llm_server.openai_base_url, "OPENAI_API_KEY": "test-key"}
    proc = await asyncio.create_subprocess_exec(
        *FAMILIAR,
        "chat",
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(ROOT), "FAMILIAR_DATA_DIR": str(tmp_path / "data"), **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(b"hello\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.stdout.readline(), timeout=120) == b"Reply to: hello\n"
    proc.terminate()  # the user's input is still open: only the signal ends it
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 143, err.decode()
    assert b"Traceback" not in err, err.decode()


async def test_a_malformed_setting_names_the_key(tmp_path: Path) -> None:
    code, _, err = await _familiar("chat", tmp_path, {"FAMILIAR_ENGINE__RATE_LIMIT_PER_MINUTE": "lots"})
    assert code == 2
    assert "engine.rate_limit_per_minute" in err


async def _doctor(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    code, out, err = await _familiar("doctor", cwd, env)
    return code, out + err


async def test_doctor_passes_when_the_provider_answers_and_serves_the_model(tmp_path: Path) -> None:
    async with LLMServer(models=("gpt-4o-mini",)) as server:
        code, out = await _doctor(
            {"OPENAI_BASE_URL": server.openai_base_url, "OPENAI_API_KEY": "k"}, tmp_path
        )
    assert code == 0, out
    assert "provider openai / model gpt-4o-mini" in out
    assert "All good." in out


async def test_doctor_says_what_to_fix_without_a_key(tmp_path: Path) -> None:
    code, out = await _doctor({}, tmp_path)
    assert code == 1
    assert "FAIL" in out
    assert "OPENAI_API_KEY" in out


async def test_a_new_embedding_model_is_refused_until_memory_is_reindexed(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_responder)
    data = tmp_path / "data"
    code, _, err = await _chat(llm_server, data, tmp_path, "My sister is called Wilhelmina.")
    assert code == 0, err  # remembered with the bundled local model

    # The operator switches to an embeddings API: its vectors are not comparable with the stored ones.
    api = {
        "OPENAI_BASE_URL": llm_server.openai_base_url,
        "OPENAI_API_KEY": "test-key",
        "FAMILIAR_DATA_DIR": str(data),
        "FAMILIAR_EMBEDDING__BACKEND": "openai",
        "FAMILIAR_EMBEDDING__BASE_URL": llm_server.openai_base_url,
        "FAMILIAR_EMBEDDING__API_KEY": "test-key",
    }
    code, out, err = await _familiar("chat", tmp_path, api, "hello\n")
    assert code == 2
    assert "familiar memory reindex" in err
    assert "Traceback" not in err
    assert "Reply to" not in out

    code, out, err = await _familiar("memory reindex", tmp_path, api)
    assert code == 0, err
    assert "Re-embedded 3 memories" in out  # the message, the reply and the fact learned from them

    code, out, err = await _familiar("chat", tmp_path, api, "Who is Wilhelmina?\n")
    assert code == 0, err  # the re-embedded store opens with the new model and answers
    assert out.strip() == "Reply to: Who is Wilhelmina?"


async def test_hostile_input_is_answered_and_stored_cleaned(llm_server: LLMServer, tmp_path: Path) -> None:
    # NUL and control characters, bytes that are not UTF-8 (a CESU-encoded lone surrogate),
    # and a 100,000-character line, redirected from a file as `familiar chat < FILE` reads it.
    llm_server.set_responder(_responder)
    script = tmp_path / "hostile.txt"
    raw = b"nul\x00 bell\x07 here\n" + b"bad \xed\xa0\x80 bytes\n" + b"word " * 20_000 + b"\n"
    await asyncio.to_thread(script.write_bytes, raw)
    env = {"OPENAI_BASE_URL": llm_server.openai_base_url, "OPENAI_API_KEY": "test-key"}
    code, out, err = await _familiar("chat", tmp_path, env, script)
    assert code == 0, err
    replies = out.splitlines()
    assert replies[:2] == ["Reply to: nul bell here", "Reply to: bad \ufffd\ufffd\ufffd bytes"], err
    assert replies[2].startswith("Reply to: word word")

    code, out, err = await _familiar("chat", tmp_path, env, "/memory export\n")
    assert code == 0, err
    [exported] = (tmp_path / "data" / "exports").glob("*.json")
    history = json.loads(await asyncio.to_thread(exported.read_text))["history"]
    said = [t["text"] for t in history if t["role"] == "user"]
    assert said[:2] == ["nul bell here", "bad \ufffd\ufffd\ufffd bytes"]
    assert said[2].startswith("word word")
    assert "[message cut: " in said[2]
    assert len(said[2]) <= 16_000


async def test_the_learning_model_setting_picks_the_model_of_learning_calls(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_responder)
    env = {
        "OPENAI_BASE_URL": llm_server.openai_base_url,
        "OPENAI_API_KEY": "test-key",
        "FAMILIAR_LEARNING__MODEL": "small-learner",
    }
    code, _, err = await _familiar("chat", tmp_path, env, "My sister is called Wilhelmina.\n")
    assert code == 0, err
    learning = [r for r in llm_server.chat_requests if "long-term memory" in r.system_text]
    replies = [r for r in llm_server.chat_requests if r.stream]
    assert [r.model for r in learning] == ["small-learner"]
    assert [r.model for r in replies] != ["small-learner"]
    assert len(replies) == 1
