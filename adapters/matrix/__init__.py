"""Matrix adapter (matrix-nio): rooms, DMs, threads and encrypted rooms."""

from __future__ import annotations

from adapters.matrix.client import MatrixAdapter
from adapters.matrix.doctor import Finding, check_matrix
from adapters.matrix.login import MatrixConfigError
from adapters.matrix.media import Transcriber
from adapters.matrix.settings import MatrixSettings, RoomPolicy

__all__ = [
    "Finding",
    "MatrixAdapter",
    "MatrixConfigError",
    "MatrixSettings",
    "RoomPolicy",
    "Transcriber",
    "check_matrix",
]
