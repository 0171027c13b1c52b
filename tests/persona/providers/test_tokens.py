"""Token counts: exact for OpenAI encodings, never an underestimate where estimated."""

from __future__ import annotations

import pytest

from persona.providers.tokens import TokenCounter, encoding_for_model, estimate_tokens

SAMPLES = [
    "Hello, world! How are you doing today?",
    "Remember that I'm allergic to peanuts and my sister's name is Maria.",
    "日本語のテキストです。よろしくお願いします。",
    "Ünïcödé façade naïve café — crème brûlée",
    "def f(x):\n    return {k: v for k, v in x.items() if v}\n",
    "emoji 😀😃🎉 and symbols ∑∫√ and numbers 1234567890",
    "Привет, как дела? Всё хорошо.",
    "   lots   of   spaces\n\n\n\ttabs",
    "<|endoftext|> looks special but is plain text here",
]


def test_exact_counts_match_known_o200k_ids() -> None:
    counter = TokenCounter(encoding="o200k_base")
    assert counter.count("hello world") == 2
    assert counter.count("") == 0


@pytest.mark.parametrize("text", SAMPLES)
def test_estimates_never_undercount(text: str) -> None:
    exact = TokenCounter(encoding="o200k_base").count(text)
    cl100k = TokenCounter(encoding="cl100k_base").count(text)
    assert estimate_tokens(text) >= max(exact, cl100k)
    assert TokenCounter(encoding="o200k_base", exact=False).count(text) > exact


def test_model_names_pick_their_encoding() -> None:
    assert encoding_for_model("gpt-4o-mini") == ("o200k_base", True)
    assert encoding_for_model("openai/gpt-4.1") == ("o200k_base", True)
    assert encoding_for_model("gpt-4-turbo") == ("cl100k_base", True)
    assert encoding_for_model("claude-sonnet-4") == ("o200k_base", False)
    assert encoding_for_model("llama3.1:8b") == ("o200k_base", False)


async def test_load_runs_off_the_loop_and_is_idempotent() -> None:
    counter = TokenCounter(encoding="cl100k_base")
    await counter.load()
    await counter.load()
    assert counter.count("hello world") == 2
