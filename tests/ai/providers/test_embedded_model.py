"""The embedded all-MiniLM-L6-v2 model: shape, quality, determinism, batching, error translation."""

from __future__ import annotations

import asyncio
import inspect
import threading
from concurrent.futures import CancelledError
from pathlib import Path

import numpy as np
import pytest
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from rookdb.ai import embedded_model
from rookdb.ai.connection_strings import EmbeddedSettings
from rookdb.ai.embedded_model import (
    EMBEDDED_MODEL_DIMENSIONS,
    EmbeddedModel,
    EmbeddedModelConfig,
    RunCancellation,
    default_thread_count,
    get_embedded_model,
)
from rookdb.ai.providers import create_provider
from rookdb.background import Foreground, requests_in_flight
from rookdb.errors import AiBadRequestError, AiConfigurationError, AiError, AiUnavailableError

PARAPHRASES = [
    ("A man is playing a guitar.", "Someone is strumming an acoustic guitar."),
    ("The cat sleeps on the sofa.", "A kitten is napping on the couch."),
    ("How do I reset my password?", "I forgot my password and need to change it."),
]
UNRELATED = [
    ("A man is playing a guitar.", "Quarterly revenue fell by four percent."),
    ("The cat sleeps on the sofa.", "Compile the kernel with debugging symbols."),
    ("How do I reset my password?", "The volcano erupted last spring."),
]


@pytest.fixture(scope="module")
def model() -> EmbeddedModel:
    return get_embedded_model()


def test_vectors_are_384_dimensional_normalised_float32(model: EmbeddedModel) -> None:
    vectors = model.embed(["hello world", "a second, longer sentence about databases"])
    assert vectors.shape == (2, EMBEDDED_MODEL_DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_score_higher_than_unrelated_pairs(model: EmbeddedModel) -> None:
    def cos(a: str, b: str) -> float:
        va, vb = model.embed([a, b])
        return float(va @ vb)

    lowest_paraphrase = min(cos(a, b) for a, b in PARAPHRASES)
    highest_unrelated = max(cos(a, b) for a, b in UNRELATED)
    assert lowest_paraphrase > 0.5
    assert lowest_paraphrase > highest_unrelated + 0.2


def test_embedding_is_deterministic_and_independent_of_batch_company(model: EmbeddedModel) -> None:
    alone = model.embed(["vector search in rookdb"])[0]
    again = model.embed(["vector search in rookdb"])[0]
    with_others = model.embed(["x", "vector search in rookdb", "a much longer text " * 30])[1]
    np.testing.assert_array_equal(alone, again)
    np.testing.assert_allclose(alone, with_others, atol=1e-5)


def test_token_capped_batches_keep_input_order(model: EmbeddedModel) -> None:
    small = EmbeddedModel(EmbeddedModelConfig(max_batch_tokens=256))  # forces many small batches
    texts = [("word " * (n * 7 % 50 + 1)).strip() for n in range(40)]
    np.testing.assert_allclose(small.embed(texts), model.embed(texts), atol=1e-5)
    for text, vector in zip(texts[:3], small.embed(texts[:3]), strict=True):
        np.testing.assert_allclose(vector, model.embed([text])[0], atol=1e-5)


def test_batches_respect_the_padded_token_cap(model: EmbeddedModel) -> None:
    lengths = [256, 3, 256, 10, 40, 256, 256, 256, 256, 256, 256, 256, 12]
    batches = model._batches(lengths)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= model.config.max_batch_tokens


def test_long_text_is_truncated_to_256_tokens(model: EmbeddedModel) -> None:
    assert model.count_tokens("token " * 1000) == 256
    long = model.embed(["token " * 1000, "token " * 600])
    np.testing.assert_allclose(long[0], long[1], atol=1e-5)


def test_token_embeddings_mean_pool_to_the_sentence_vector(model: EmbeddedModel) -> None:
    tokens = model.token_embeddings(["mean pooling check", "x"])
    assert tokens[0].shape == (model.count_tokens("mean pooling check"), EMBEDDED_MODEL_DIMENSIONS)
    pooled = tokens[0].mean(axis=0)
    np.testing.assert_allclose(pooled / np.linalg.norm(pooled), model.embed(["mean pooling check"])[0],
                               atol=1e-5)


def test_empty_input_and_empty_text(model: EmbeddedModel) -> None:
    assert model.embed([]).shape == (0, EMBEDDED_MODEL_DIMENSIONS)
    assert model.embed([""]).shape == (1, EMBEDDED_MODEL_DIMENSIONS)


def test_non_text_input_is_a_bad_request(model: EmbeddedModel) -> None:
    with pytest.raises(AiBadRequestError, match="input 1 is int"):
        model.embed(["fine", 42])  # type: ignore[list-item]


def test_check_passes() -> None:
    get_embedded_model().check()


def test_singleton_is_loaded_once() -> None:
    assert get_embedded_model() is get_embedded_model(EmbeddedModelConfig(intra_op_threads=2))


def test_every_onnxruntime_exception_is_translated() -> None:
    native = {obj for _, obj in inspect.getmembers(ort_state, inspect.isclass) if issubclass(obj, Exception)}
    assert native, "onnxruntime exposes its exception classes"
    assert native <= set(embedded_model._ONNX_ERRORS)


@pytest.mark.parametrize(("exc", "expected"), [
    (ort_state.InvalidArgument("bad feed"), AiBadRequestError),
    (ort_state.NoSuchFile("gone"), AiConfigurationError),
    (ort_state.RuntimeException("oom"), AiUnavailableError),
    (ValueError("tokenizer"), AiError),
])
def test_translation_picks_the_specific_error(exc: Exception, expected: type[AiError]) -> None:
    translated = embedded_model._translate(exc, "testing")
    assert type(translated) is expected
    assert "testing" in translated.message


def test_unloadable_model_file_raises_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(AiConfigurationError, match=r"loading model\.onnx") as caught:
        EmbeddedModel(model_path=broken)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (4, 2), (8, 2), (16, 4), (64, 6)])
def test_default_thread_count_follows_ravendb(cores: int, threads: int) -> None:
    assert default_thread_count(cores) == threads


def test_config_rejects_impossible_values() -> None:
    with pytest.raises(AiConfigurationError):
        EmbeddedModelConfig(intra_op_threads=-1)
    with pytest.raises(AiConfigurationError):
        EmbeddedModelConfig(max_batch_tokens=10)


def test_embedded_provider_is_created_by_the_registry() -> None:
    provider = create_provider(EmbeddedSettings())
    assert (provider.connector, provider.dimensions, provider.detected_protocol) == ("Embedded", 384, "embedded")
    vectors = asyncio.run(provider.embed(["TestValue", "TestValue2"]))
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert isinstance(vectors[0][0], float)
    assert asyncio.run(provider.embed([])) == []


LONG_TEXTS = [f"Document {n}: " + "a long sentence about vector databases and their indexes " * 8 for n in range(256)]


def test_a_cancelled_embed_stops_its_run_and_starts_no_other(model: EmbeddedModel) -> None:
    before = RunCancellation()
    before.cancel()
    with pytest.raises(CancelledError):
        model.embed(["never embedded"], cancellation=before)
    during = RunCancellation()
    timer = threading.Timer(0.05, during.cancel)
    timer.start()
    with pytest.raises(CancelledError):
        model.embed(LONG_TEXTS, cancellation=during)
    timer.join()
    assert model.embed(["still works"]).shape == (1, EMBEDDED_MODEL_DIMENSIONS)


def test_cancelling_the_provider_ends_the_models_work_before_returning(model: EmbeddedModel) -> None:
    provider = create_provider(EmbeddedSettings())

    async def cancel_while_embedding() -> None:
        embedding = asyncio.ensure_future(provider.embed(LONG_TEXTS))
        while not model._run_lock.locked():  # the model is computing
            await asyncio.sleep(0.005)
        embedding.cancel()
        with pytest.raises(asyncio.CancelledError):
            await embedding

    asyncio.run(cancel_while_embedding())
    assert not model._run_lock.locked()  # nothing is still computing for the cancelled call


def test_automatic_threads_use_every_core_only_while_no_request_is_in_flight() -> None:
    serving = [False]
    model = EmbeddedModel(cores=4, busy=lambda: serving[0])
    assert (model.intra_op_threads, model.idle_threads, model.threads_now) == (2, 4, 4)
    idle = model.embed(["a red apple", "the server is idle"])
    serving[0] = True
    assert model.threads_now == 2
    busy = model.embed(["a red apple", "the server is idle"])
    np.testing.assert_allclose(idle, busy, atol=1e-5)


def test_a_fixed_thread_count_never_changes() -> None:
    model = EmbeddedModel(EmbeddedModelConfig(intra_op_threads=1), cores=4, busy=lambda: False)
    assert (model.intra_op_threads, model.idle_threads, model.threads_now) == (1, 1, 1)


def test_any_server_answering_a_request_makes_the_model_yield() -> None:
    foreground = Foreground()
    model = EmbeddedModel(cores=4)
    assert not requests_in_flight() and model.threads_now == 4
    with foreground.serving():
        assert requests_in_flight() and model.threads_now == 2
    assert model.threads_now == 4
