"""What one ``vector.search`` field indexes: a collection's path, its source data, its quantization.

A field is named as RavenDB names it inside auto-index names (``embedding.text(Name)``,
``embedding.f32_i8(Tags)``, ``embedding.text(Name|ai.task('id'))``, or the bare path for float32
data); the collection plus that name identify it, so every query and auto-index that searches the
same field shares one vector index.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, get_args

from rookdb.errors import InvalidQueryError
from rookdb.query import ast
from rookdb.query.index_names import vector_field_name
from rookdb.query.vector.kinds import VectorKind

__all__ = ["SourceType", "VectorFieldSpec"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_FILE_SLUG_LENGTH = 48
_FILE_HASH_BYTES = 6
_KINDS: frozenset[str] = frozenset(get_args(ast.VectorKind))
_NO_PATH = ast.FieldPath(())


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
    kind: ast.VectorKind  # the RQL form: "field", "text", "text_i8", "f32_i1", "i8", ...
    path: tuple[str, ...]
    name: str  # as auto-index names write it
    task: str | None = None

    @classmethod
    def of(
        cls, field: ast.VectorField, collection: str, alias: str | None, parameters: Mapping[str, Any]
    ) -> VectorFieldSpec:
        """The field a ``vector.search`` clause searches in ``collection``."""
        names = tuple(segment.name for segment in field.path.segments)
        if alias is not None and len(names) > 1 and names[0] == alias:
            names = names[1:]
        task: str | None = None
        if field.task is not None:
            if isinstance(field.task, ast.Parameter) and field.task.name not in parameters:
                raise InvalidQueryError(
                    f"Query parameter '${field.task.name}' was used in the query but not supplied in QueryParameters",
                    position=field.task.position)
            value = parameters.get(field.task.name) if isinstance(field.task, ast.Parameter) else field.task.value
            if not isinstance(value, str) or not value:
                raise InvalidQueryError(
                    f"ai.task(...) in {field.to_rql()} needs the identifier of an embeddings generation task "
                    f"(a non-empty string), got {value!r}")
            task = value
        return cls(collection, field.kind, names, vector_field_name(field, alias, parameters), task)

    @property
    def key(self) -> str:
        """Identity of the field: collections are case-insensitive, field names are not."""
        return f"{self.collection.lower()}/{self.name}"

    @property
    def source(self) -> SourceType:
        """Text for ``embedding.text*``, else the numeric format the documents store."""
        return SourceType(ast.VectorField(self.kind, _NO_PATH).source_type)

    @property
    def destination(self) -> VectorKind:
        """The quantization of the index (RavenDB's ``DestinationEmbeddingType``)."""
        return VectorKind(ast.VectorField(self.kind, _NO_PATH).destination_type)

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
