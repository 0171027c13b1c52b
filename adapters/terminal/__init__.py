"""Terminal adapter: `familiar chat`."""

from adapters.terminal.console import TerminalAdapter
from adapters.terminal.settings import TerminalSettings

__all__ = ["TerminalAdapter", "TerminalSettings"]
