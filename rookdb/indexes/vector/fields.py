"""What one ``vector.search`` field indexes: a collection's path, its source data, its quantization.

A field is named as RavenDB names it inside auto-index names (``embedding.text(Name)``,
``embedding.f32_i8(Tags)``, ``embedding.text(Name|ai.task('id'))``, or the bare path for float32
data); the collection plus that name identify it, so every auto-index that searches the same field
shares one vector index.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeAlias, get_args

from rookdb.indexes.vector.kinds import VectorKind

__all__ = ["FORMS", "FieldForm", "SourceType", "VectorFieldSpec"]

FieldForm: TypeAlias = Literal["field", "text", "text_i8", "text_i1", "f32", "f32_i8", "f32_i1", "i8", "i1"]
"""How RQL writes a vector field: bare (``field``) or ``embedding.<form>(...)``."""

FORMS: dict[str, tuple[str, str]] = {
    "field": ("Single", "Single"),
    "text": ("Text", "Single"),
    "text_i8": ("Text", "Int8"),
    "text_i1": ("Text", "Binary"),
    "f32": ("Single", "Single"),  # written by the Java client
    "f32_i8": ("Single", "Int8"),
    "f32_i1": ("Single", "Binary"),
    "i8": ("Int8", "Int8"),
    "i1": ("Binary", "Binary"),
}
"""Form → (RavenDB's ``SourceEmbeddingType``, ``DestinationEmbeddingType``)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_FILE_SLUG_LENGTH = 48
_FILE_HASH_BYTES = 6
_KINDS: frozenset[str] = frozenset(get_args(FieldForm))


class SourceType(StrEnum):
    """What the documents hold at the path (RavenDB's ``SourceEmbeddingType``)."""

    TEXT = "Text"
    SINGLE = "Single"
    INT8 = "Int8"
    BINARY = "Binary"


@dataclass(frozen=True)
class VectorFieldSpec:
    """One indexed vector field. ``path`` holds the field names without the query alias."""

    collection: str
    kind: FieldForm
    path: tuple[str, ...]
    name: str  # as auto-index names write it
    task: str | None = None

    @property
    def key(self) -> str:
        """Identity of the field: collections are case-insensitive, field names are not."""
        return f"{self.collection.lower()}/{self.name}"

    @property
    def index_field(self) -> str:
        """The field as an auto-index lists it: ``Vector.search(embedding.text(Name))``."""
        return f"Vector.search({self.name})"

    @property
    def source(self) -> SourceType:
        """Text for ``embedding.text*``, else the numeric format the documents store."""
        return SourceType(FORMS[self.kind][0])

    @property
    def destination(self) -> VectorKind:
        """The quantization of the index (RavenDB's ``DestinationEmbeddingType``)."""
        return VectorKind(FORMS[self.kind][1])

    @property
    def file_name(self) -> str:
        """A file-system-safe name, unique per field (a readable slug plus a hash of the key)."""
        slug = _UNSAFE.sub("_", self.key).strip("_.-")[:_FILE_SLUG_LENGTH]
        digest = hashlib.blake2b(self.key.encode(), digest_size=_FILE_HASH_BYTES).hexdigest()
        return f"{slug or 'field'}-{digest}"

    def to_json(self) -> dict[str, Any]:
        return {"Collection": self.collection, "Kind": self.kind, "Path": list(self.path), "Name": self.name,
                "Task": self.task}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VectorFieldSpec:
        kind = data["Kind"]
        if kind not in _KINDS:
            raise ValueError(f"unknown vector field kind {kind!r}")
        return cls(str(data["Collection"]), kind, tuple(str(p) for p in data["Path"]), str(data["Name"]),
                   data.get("Task"))
