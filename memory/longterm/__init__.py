"""Long-term (episodic) memory: hybrid dense + lexical retrieval, scoped before ranking."""

from memory.longterm.hybrid import HybridMemory
from memory.longterm.tuning import RetrievalTuning

__all__ = ["HybridMemory", "RetrievalTuning"]
