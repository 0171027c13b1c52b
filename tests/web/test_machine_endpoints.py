"""/healthz, /readyz and /metrics of the real App, read the way Prometheus reads them; and the
dashboard closed to a client without a login."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from persona.types import TurnOutcome
from tests.bot.support import Person, RecordingSink, ScriptedModel, dm
from tests.support.llm_server import LLMServer, unauthorized
from tests.web.support import web_app

ALICE = Person(platform="discord", user_id="1001", name="Alice")


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_what_a_few_turns_did(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(ScriptedModel())  # replies, and learning that finds no facts
    async with web_app(llm_server, tmp_path) as (chat, server), aiohttp.ClientSession() as http:
        for text in ("hello there", "how are you?", "tell me a joke"):
            await chat.say(dm(ALICE, text))
        llm_server.script(unauthorized())  # a bad key: not retried, one friendly line
        outcome = await chat.engine.submit(dm(ALICE, "are you still there?"), RecordingSink())
        assert outcome is TurnOutcome.FAILED
        await chat.settle()

        async with http.get(f"{server.url}/metrics") as response:
            assert response.status == 200
            samples = _samples(await response.text())
        assert samples[("familiar_turns_total", frozenset({("outcome", "answered")}))] == 3
        assert samples[("familiar_turns_total", frozenset({("outcome", "failed")}))] == 1
        assert samples[("familiar_provider_errors_total", frozenset({("kind", "auth")}))] == 1
        assert samples[("familiar_turn_seconds_count", frozenset())] == 4
        assert samples[("familiar_gather_seconds_count", frozenset())] == 4
        assert samples[("familiar_first_token_seconds_count", frozenset())] == 3  # the failed one had none
        # Three answered turns kept both sides; the failed one kept the person's words.
        exported = await chat.export(dm(ALICE, ""))
        assert samples[("familiar_memory_items", frozenset())] == len(exported["memories"]) == 7
        assert samples[("familiar_queue_depth", frozenset())] == 0
        assert samples[("familiar_active_sessions", frozenset())] == 0

        async with http.get(f"{server.url}/healthz") as alive:
            assert alive.status == 200
        async with http.get(f"{server.url}/readyz") as ready:
            assert ready.status == 200, await ready.text()

        # The same server keeps its pages to the operator and each person (one App: they cost seconds).
        for path in ("/", "/people", "/people/discord:1001", "/kb", "/usage", "/journal", "/personas"):
            async with http.get(server.url + path, allow_redirects=False) as response:
                assert response.status == 303, path
                assert response.headers["Location"] == "/login"
        async with http.get(f"{server.url}/me", allow_redirects=False) as page:
            assert page.status == 410  # no page session: nothing of anyone
