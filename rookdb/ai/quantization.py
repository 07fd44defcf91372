"""Vector quantization (Single, Int8, Binary) and the hashes that name stored vectors and chunks.

``to_int8``/``to_int1`` give exactly the values of the official client's ``VectorQuantizer``, so a
vector quantized by a client and one quantized here compare equal byte for byte. The arithmetic is
done in float64 like the client's; only the stored scale is float32.

Int8 layout: one signed byte per dimension, ``trunc(x * 127 / max|x|)``, then the float32 ``max|x|``
as 4 little-endian bytes. Binary layout: one bit per dimension, 1 when ``x >= 0``, most significant
bit first, padded with zero bits to whole bytes.

A vector holding NaN or infinity, or values that float32 or Int8 cannot hold, raises
`InvalidVectorError` (a ``ValueError``) instead of being stored as garbage.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from rookdb.errors import InvalidVectorError

__all__ = [
    "INT8_SCALE_BYTES",
    "VectorEmbeddingType",
    "dequantize_int8",
    "dequantize_int8_batch",
    "encode",
    "int8_scale",
    "quantize_int1_batch",
    "quantize_int8_batch",
    "text_hash",
    "to_int1",
    "to_int8",
    "unpack_int1",
    "vector_hash",
]

INT8_SCALE_BYTES = 4
_INT8_RANGE = 127.0
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class VectorEmbeddingType(StrEnum):
    """How a vector is stored; the values are RavenDB's wire names."""

    SINGLE = "Single"
    INT8 = "Int8"
    BINARY = "Binary"
    TEXT = "Text"


def _check_finite(values: npt.NDArray[np.float64]) -> None:
    if not np.all(np.isfinite(values)):
        raise InvalidVectorError("cannot quantize a vector containing NaN or infinity")


def _int8_scales(rows: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Per-row multiplier 127/max|x| (0 for an all-zero row) and the float32 max that is stored."""
    maxima = np.max(np.abs(rows), axis=1) if rows.shape[1] else np.zeros(rows.shape[0])
    with np.errstate(over="ignore", divide="ignore"):
        stored = maxima.astype(np.float32)
        multipliers = np.where(maxima == 0.0, 0.0, _INT8_RANGE / np.where(maxima == 0.0, 1.0, maxima))
    # The client fails on these too (struct overflow, int(inf)); a clear error beats garbage bytes.
    if np.any(np.isinf(stored)):
        raise InvalidVectorError(f"cannot quantize to Int8: a component exceeds the float32 range ({_FLOAT32_MAX:g})")
    if np.any(np.isinf(multipliers)):
        raise InvalidVectorError("cannot quantize to Int8: all components are too small to scale")
    return multipliers, stored


def _as_rows(vectors: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], bool]:
    rows = np.asarray(vectors, dtype=np.float64)
    single = rows.ndim == 1
    if single:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2:
        raise ValueError(f"expected a vector or a 2-D batch of vectors, got {rows.ndim} dimensions")
    _check_finite(rows)
    return rows, single


def quantize_int8_batch(vectors: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Int8-quantize each row: shape ``(n, d)`` → ``(n, d + 4)``, the same bytes as ``to_int8``.

    A 1-D input gives a 1-D result. Rows of zero dimensions give empty rows (no scale), as the client.
    """
    rows, single = _as_rows(vectors)
    if rows.shape[1] == 0:
        out = np.zeros((rows.shape[0], 0), dtype=np.int8)
        return out[0] if single else out
    multipliers, stored = _int8_scales(rows)
    values = np.trunc(rows * multipliers[:, None]).astype(np.int8)
    scale_bytes = stored.astype("<f4").view(np.int8).reshape(-1, INT8_SCALE_BYTES)
    out = np.concatenate([values, scale_bytes], axis=1)
    return out[0] if single else out


def quantize_int1_batch(vectors: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Binary-quantize each row into packed bits: ``(n, d)`` → ``(n, ceil(d / 8))`` bytes.

    These are the bytes the client packs before ``to_int1`` expands them to a list of bits.
    """
    rows, single = _as_rows(vectors)
    out = np.packbits(rows >= 0.0, axis=1, bitorder="big")
    return out[0] if single else out


def to_int8(vector: Sequence[float]) -> list[int]:
    """The client's ``VectorQuantizer.to_int8``: quantized values then the 4 scale bytes, as ints."""
    if len(vector) == 0:
        return []
    return [int(v) for v in quantize_int8_batch(np.asarray([vector], dtype=np.float64))[0]]


def to_int1(vector: Sequence[float]) -> list[int]:
    """The client's ``VectorQuantizer.to_int1``: one 0/1 per dimension (1 when the value is >= 0)."""
    if len(vector) == 0:
        return []
    return unpack_int1(bytes(quantize_int1_batch(np.asarray([vector], dtype=np.float64))[0]), len(vector))


def unpack_int1(data: bytes, dimensions: int) -> list[int]:
    """Packed binary vector → one 0/1 per dimension (padding bits dropped)."""
    if dimensions > len(data) * 8:
        raise ValueError(f"{len(data)} bytes hold at most {len(data) * 8} dimensions, not {dimensions}")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="big")
    return [int(b) for b in bits[:dimensions]]


def _int8_bytes(values: Sequence[int] | bytes) -> bytes:
    raw = bytes(values) if isinstance(values, bytes) else struct.pack(f"{len(values)}b", *values)
    if len(raw) < INT8_SCALE_BYTES:
        raise ValueError(f"an Int8 vector ends with {INT8_SCALE_BYTES} scale bytes; got {len(raw)} bytes")
    return raw


def int8_scale(values: Sequence[int] | bytes) -> float:
    """The float32 ``max|x|`` stored in the last 4 bytes of an Int8 vector."""
    raw = _int8_bytes(values)
    return float(struct.unpack("<f", raw[-INT8_SCALE_BYTES:])[0])


def dequantize_int8(values: Sequence[int] | bytes) -> list[float]:
    """Approximate floats back from an Int8 vector (``q * scale / 127``), for comparisons and tests."""
    raw = _int8_bytes(values)
    scale = int8_scale(raw)
    quantized = struct.unpack(f"{len(raw) - INT8_SCALE_BYTES}b", raw[:-INT8_SCALE_BYTES])
    return [q * scale / _INT8_RANGE for q in quantized]


def dequantize_int8_batch(rows: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """Row-wise ``dequantize_int8``: ``(n, d + 4)`` int8 → ``(n, d)`` float64."""
    if rows.ndim != 2 or rows.shape[1] < INT8_SCALE_BYTES:
        raise ValueError("expected a 2-D batch of Int8 vectors, each ending with 4 scale bytes")
    scales = np.ascontiguousarray(rows[:, -INT8_SCALE_BYTES:]).view("<f4")[:, 0].astype(np.float64)
    quantized: npt.NDArray[np.float64] = rows[:, :-INT8_SCALE_BYTES].astype(np.float64)
    return quantized * (scales / _INT8_RANGE)[:, None]


def encode(vector: Sequence[float] | npt.NDArray[np.floating], kind: VectorEmbeddingType) -> bytes:
    """The stored bytes of a vector: float32 little-endian, Int8 (+ scale) or packed bits."""
    array = np.asarray(vector, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError("encode takes one vector")
    if kind is VectorEmbeddingType.SINGLE:
        _check_finite(array)
        with np.errstate(over="ignore"):
            single = array.astype("<f4")
        if not np.all(np.isfinite(single)):
            raise InvalidVectorError(
                f"cannot store as Single: a component exceeds the float32 range ({_FLOAT32_MAX:g})")
        return single.tobytes()
    if kind is VectorEmbeddingType.INT8:
        return quantize_int8_batch(array).tobytes() if array.size else b""
    if kind is VectorEmbeddingType.BINARY:
        return quantize_int1_batch(array).tobytes()
    raise ValueError(f"vectors cannot be stored as {kind.value}")


def _blake2b(data: bytes) -> bytes:
    # RavenDB hashes attachments with libsodium's generic hash: BLAKE2b with a 32-byte digest.
    return hashlib.blake2b(data, digest_size=32).digest()


def vector_hash(data: bytes) -> str:
    """Base64 BLAKE2b-256 of a stored vector's bytes: the attachment name and hash of an embedding.

    This is the hash RavenDB computes for attachment content, so it also equals the attachment's
    ``Hash``. Standard Base64 (it may contain ``/`` and ``+``), as RavenDB writes it.
    """
    return base64.b64encode(_blake2b(data)).decode("ascii")


def _simple_upper(text: str) -> str:
    # .NET's ToUpperInvariant maps one char to one char ("ß" stays "ß"); str.upper() would give "SS".
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def text_hash(text: str) -> str:
    """Hash of a chunk's text, used in ``embeddings-cache/<connection-string-id>/<hash>`` ids.

    Like RavenDB, the text is trimmed and upper-cased first so that ``"keyboard"`` and
    ``"Keyboard "`` share one cached embedding, and the digest is BLAKE2b-256 of its UTF-16LE
    bytes. Unlike RavenDB it is written in URL-safe Base64 without padding (43 chars of
    ``A-Z a-z 0-9 - _``): standard Base64's ``/`` would add segments to the document id and ``+``
    or ``=`` need escaping in URLs.
    """
    digest = _blake2b(_simple_upper(text.strip()).encode("utf-16-le"))
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
