"""The one screen shown when no LLM provider is configured yet."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from bot.config import Settings
from bot.wiring import provider_configs, provider_is_configured

SETUP_TEXT = """\
[bold]No LLM provider is configured yet[/], so I can't answer messages. Memory commands still work.

Pick one, put it in a file named [bold].env[/] in this directory (or export it), then restart:

  [cyan]OpenAI[/]                 OPENAI_API_KEY=sk-...
  [cyan]OpenRouter, xAI, Gemini[/] OPENAI_BASE_URL=https://<provider's OpenAI-compatible URL>/v1
                          OPENAI_API_KEY=...   and FAMILIAR_PERSONA_DIR with a persona naming the model
  [cyan]Ollama / LM Studio[/]     OPENAI_BASE_URL=http://localhost:11434/v1   (no key needed)
  [cyan]Anthropic[/]              ANTHROPIC_API_KEY=sk-ant-...   and a persona with provider: anthropic

[dim].env.example lists every setting. `familiar doctor` checks what you configured.[/]"""


def default_provider_missing(settings: Settings, provider_name: str) -> bool:
    for config in provider_configs(settings):
        if config.name == provider_name:
            return not provider_is_configured(config)
    return False  # configured explicitly under another name: doctor will check it


def show_setup_screen(console: Console) -> None:
    console.print(Panel(SETUP_TEXT, title="Familiar: set up a model", border_style="yellow"))
