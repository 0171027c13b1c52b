"""Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Ollama, vLLM, LM Studio…).

Optional: the local ONNX model is the default. The SDK is natively async, so no thread is used.
Vectors are re-normalised here because not every compatible server returns unit vectors.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from openai import AsyncOpenAI

_log = logging.getLogger(__name__)


class OpenAIEmbedder:
    """`dim` is given, or learned by `start()` from one probe request."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        dim: int | None = None,
        batch_size: int = 256,
        timeout_s: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self._model = model
        self._base_url = base_url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._batch_size = batch_size
        self.model_id = f"openai:{model}"
        self.dim = dim or 0
        self._client: AsyncOpenAI | None = None

    def _ensure_client(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout_s,
                max_retries=self._max_retries,
            )
        return self._client

    async def start(self) -> None:
        if self.dim == 0:
            probe = await self._request(["dimension probe"])
            self.dim = len(probe[0])
            _log.info("embedding model %s has dimension %d", self.model_id, self.dim)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._request(list(texts[start : start + self._batch_size])))
        if self.dim == 0:
            self.dim = len(vectors[0])
        for vector in vectors:
            if len(vector) != self.dim:
                raise ValueError(f"{self.model_id} returned {len(vector)} dimensions, expected {self.dim}")
        return vectors

    async def _request(self, texts: list[str]) -> list[list[float]]:
        response = await self._ensure_client().embeddings.create(
            model=self._model, input=texts, encoding_format="float"
        )
        ordered = sorted(response.data, key=lambda d: d.index)
        return [_normalise(list(d.embedding)) for d in ordered]

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
