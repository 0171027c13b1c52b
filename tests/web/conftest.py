from __future__ import annotations

from tests.support.llm_server import llm_server

__all__ = ["llm_server"]
