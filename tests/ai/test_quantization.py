import base64
import hashlib
import math
import random
import struct

import numpy as np
import pytest
from ravendb.documents.queries.vector import VectorQuantizer

from rookdb.ai.quantization import (
    VectorEmbeddingType,
    dequantize_int8,
    dequantize_int8_batch,
    encode,
    int8_scale,
    quantize_int1_batch,
    quantize_int8_batch,
    text_hash,
    to_int1,
    to_int8,
    unpack_int1,
    vector_hash,
)
from rookdb.errors import InvalidVectorError


def _random_vectors(count: int) -> list[list[float]]:
    rng = random.Random(7)
    vectors: list[list[float]] = []
    for i in range(count):
        dims = rng.choice([1, 2, 3, 7, 8, 9, 15, 16, 17, 64, 384, 385])
        magnitude = 10.0 ** rng.randint(-30, 30)
        vector = [rng.uniform(-1.0, 1.0) * magnitude for _ in range(dims)]
        if i % 5 == 0:
            vector[rng.randrange(dims)] = 0.0
        if i % 7 == 0:
            vector = [abs(v) for v in vector]
        if i % 11 == 0:
            vector = [-abs(v) for v in vector]
        vectors.append(vector)
    return vectors


EDGE_VECTORS = [
    [0.1, 0.2],
    [0.0],
    [0.0, 0.0, 0.0],
    [-0.0, 0.0, -0.0],
    [1.0],
    [-1.0],
    [-1.0, 1.0],
    [1e-300, -1e-300, 5e-301],
    [1e-38, 2e-38, -3e-38],
    [1e-45, 0.0],
    [3.0e38, -3.4e38, 1.0],
    [127.0, -127.0, 63.5, -63.5, 0.5],
    [0.3333333333333333] * 9,
    [-(2.0**-149), 2.0**-149],
    [float(np.float32(0.1)), float(np.float32(-0.7))],
]


def test_doc_sample_int8() -> None:
    # RavenDB's documented sample: ToInt8([0.1, 0.2]) yields 2 values plus 4 scale bytes.
    assert to_int8([0.1, 0.2]) == [63, 127, -51, -52, 76, 62]
    assert VectorQuantizer.to_int8([0.1, 0.2]) == [63, 127, -51, -52, 76, 62]


@pytest.mark.parametrize("vector", EDGE_VECTORS + _random_vectors(400))
def test_to_int8_equals_client(vector: list[float]) -> None:
    assert to_int8(vector) == VectorQuantizer.to_int8(vector)


@pytest.mark.parametrize("vector", EDGE_VECTORS + _random_vectors(400))
def test_to_int1_equals_client(vector: list[float]) -> None:
    assert to_int1(vector) == VectorQuantizer.to_int1(vector)


def test_empty_vectors_match_client() -> None:
    assert to_int8([]) == VectorQuantizer.to_int8([]) == []
    assert to_int1([]) == VectorQuantizer.to_int1([]) == []


@pytest.mark.parametrize("dims", [1, 5, 8, 13, 384])
def test_batches_give_the_same_bytes(dims: int) -> None:
    rng = np.random.default_rng(dims)
    batch = rng.normal(size=(50, dims)) * rng.choice([1e-20, 1e-3, 1.0, 1e20], size=(50, 1))
    batch[3] = 0.0
    batch[4] = -np.abs(batch[4])
    int8 = quantize_int8_batch(batch)
    int1 = quantize_int1_batch(batch)
    assert int8.dtype == np.int8 and int8.shape == (50, dims + 4)
    assert int1.dtype == np.uint8 and int1.shape == (50, (dims + 7) // 8)
    for row, q8, q1 in zip(batch, int8, int1, strict=True):
        assert q8.tolist() == VectorQuantizer.to_int8(row.tolist())
        assert np.unpackbits(q1)[:dims].tolist() == VectorQuantizer.to_int1(row.tolist())
        assert unpack_int1(q1.tobytes(), dims) == VectorQuantizer.to_int1(row.tolist())


def test_float32_batches_match_client_on_their_exact_values() -> None:
    batch = np.random.default_rng(3).normal(size=(20, 33)).astype(np.float32)
    for row, q8 in zip(batch, quantize_int8_batch(batch), strict=True):
        assert q8.tolist() == VectorQuantizer.to_int8([float(v) for v in row])


def test_one_dimensional_input_gives_one_row() -> None:
    assert quantize_int8_batch(np.array([0.1, 0.2])).tolist() == [63, 127, -51, -52, 76, 62]
    assert quantize_int1_batch(np.array([1.0, -1.0, 0.0])).tolist() == [0b10100000]


def test_zero_dimension_batches() -> None:
    assert quantize_int8_batch(np.zeros((3, 0))).shape == (3, 0)
    assert quantize_int1_batch(np.zeros((3, 0))).shape == (3, 0)


@pytest.mark.parametrize(
    "vector",
    [[math.nan, 1.0], [1.0, math.nan], [math.inf], [-math.inf, 0.0]],
    ids=["nan0", "nan1", "inf", "-inf"],
)
def test_non_finite_components_are_refused(vector: list[float]) -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        to_int8(vector)
    with pytest.raises(ValueError, match="NaN or infinity"):
        to_int1(vector)


def test_magnitudes_the_client_cannot_pack_are_refused() -> None:
    with pytest.raises(OverflowError):
        VectorQuantizer.to_int8([1e39])
    with pytest.raises(ValueError, match="float32 range"):
        to_int8([1e39])
    with pytest.raises(OverflowError):
        VectorQuantizer.to_int8([1e-320])
    with pytest.raises(ValueError, match="too small"):
        to_int8([1e-320])


def test_binary_packing_is_most_significant_bit_first() -> None:
    vector = [1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.0, -0.5]
    assert quantize_int1_batch(np.array([vector])).tolist() == [[0b10000001, 0b00000000]]
    assert to_int1(vector) == [1, 0, 0, 0, 0, 0, 0, 1, 0]


def test_unpack_int1_checks_length() -> None:
    assert unpack_int1(b"\xf0", 4) == [1, 1, 1, 1]
    with pytest.raises(ValueError):
        unpack_int1(b"\xf0", 9)


@pytest.mark.parametrize("vector", [[0.1, 0.2], [3.0, -4.0, 0.5], [1e-5, 2e-5, -1e-5]])
def test_dequantize_int8_approximates_the_input(vector: list[float]) -> None:
    quantized = to_int8(vector)
    assert int8_scale(quantized) == pytest.approx(max(abs(v) for v in vector), rel=1e-6)
    restored = dequantize_int8(quantized)
    step = max(abs(v) for v in vector) / 127
    for original, value in zip(vector, restored, strict=True):
        assert abs(original - value) <= step * 1.0001
    as_bytes = struct.pack(f"{len(quantized)}b", *quantized)
    assert dequantize_int8(as_bytes) == restored
    batch = dequantize_int8_batch(np.array([quantized], dtype=np.int8))
    assert batch[0].tolist() == pytest.approx(restored)


def test_dequantize_int8_rejects_short_input() -> None:
    with pytest.raises(ValueError):
        dequantize_int8([1, 2, 3])


def test_encode_layouts() -> None:
    vector = [0.1, 0.2, -0.3]
    assert encode(vector, VectorEmbeddingType.SINGLE) == struct.pack("<3f", *vector)
    assert encode(vector, VectorEmbeddingType.INT8) == struct.pack("7b", *to_int8(vector))
    assert encode(vector, VectorEmbeddingType.BINARY) == bytes([0b11000000])
    with pytest.raises(ValueError):
        encode(vector, VectorEmbeddingType.TEXT)
    with pytest.raises(ValueError):
        encode([math.nan], VectorEmbeddingType.SINGLE)


def test_vector_hash_is_base64_blake2b_of_the_content() -> None:
    data = encode([0.1, 0.2], VectorEmbeddingType.SINGLE)
    expected = base64.b64encode(hashlib.blake2b(data, digest_size=32).digest()).decode()
    assert vector_hash(data) == expected
    assert len(vector_hash(b"")) == 44
    assert vector_hash(data) != vector_hash(encode([0.1, 0.3], VectorEmbeddingType.SINGLE))


def test_text_hash_is_id_safe_and_normalised() -> None:
    value = text_hash("keyboard")
    assert value == text_hash("Keyboard ") == text_hash("  KEYBOARD\n")
    assert value != text_hash("keyboards")
    assert len(value) == 43
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    digest = hashlib.blake2b("KEYBOARD".encode("utf-16-le"), digest_size=32).digest()
    assert value == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_text_hash_uses_one_to_one_case_mapping() -> None:
    # "ß".upper() is "SS" in Python; .NET's ToUpperInvariant keeps "ß", so the hashes differ.
    assert text_hash("straße") != text_hash("STRASSE")
    assert text_hash("straße") == text_hash("STRAßE")


@pytest.mark.parametrize(("vector", "kind", "problem"), [
    ([math.nan, 1.0], VectorEmbeddingType.SINGLE, "NaN or infinity"),
    ([math.inf], VectorEmbeddingType.INT8, "NaN or infinity"),
    ([-math.inf, 1.0], VectorEmbeddingType.BINARY, "NaN or infinity"),
    ([1e39, 1.0], VectorEmbeddingType.SINGLE, "float32 range"),
    ([1e39, 1.0], VectorEmbeddingType.INT8, "float32 range"),
    ([1e-320], VectorEmbeddingType.INT8, "too small"),
])
def test_vectors_that_cannot_be_stored_raise_invalid_vector_error(
        vector: list[float], kind: VectorEmbeddingType, problem: str) -> None:
    with pytest.raises(InvalidVectorError, match=problem) as caught:
        encode(vector, kind)
    assert isinstance(caught.value, ValueError) and caught.value.status_code == 400
