"""Helpers of the executor's vector-only path: the ``WholeCollection`` marker and loading scored documents.

A ``where`` made only of vector clauses (combined by ``and``/``or``/``boost``) matches documents by id,
so the executor asks the hook first and reads just the documents it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from rookdb.query import ast

__all__ = ["DocumentSource", "WholeCollection", "load_documents", "load_scored", "projects_ids_only",
           "vector_only"]

Document = dict[str, Any]


class DocumentSource(Protocol):
    """What these helpers read (the executor's ``QuerySource``)."""

    def iter_collection(self, collection: str | None) -> Iterable[dict[str, Any]]: ...

    def get_document(self, doc_id: str) -> dict[str, Any] | None: ...


class WholeCollection(Sequence[str]):
    """``candidate_ids`` when no filter narrows a vector clause: every document of the collection.

    The ids are read from the source only if the hook looks at them (once, then kept).
    """

    def __init__(self, source: DocumentSource, collection: str | None) -> None:
        self._source = source
        self._collection = collection
        self._ids: list[str] | None = None
        self._set: set[str] | None = None

    def _listed(self) -> list[str]:
        if self._ids is None:
            self._ids = [_doc_id(doc).lower() for doc in self._source.iter_collection(self._collection)]
        return self._ids

    def __len__(self) -> int:
        return len(self._listed())

    def __getitem__(self, index: Any) -> Any:
        return self._listed()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._listed())

    def __contains__(self, doc_id: object) -> bool:
        if self._set is None:
            self._set = set(self._listed())
        return doc_id in self._set


def projects_ids_only(select: ast.Select | None) -> bool:
    """True for ``select id()`` (and aliases of it): the ids alone answer the projection."""
    return select is not None and all(isinstance(p.field, ast.IdField) for p in select.projections)


def vector_only(expr: ast.Expr) -> bool:
    """True when only vector clauses (combined by and/or/boost) decide a match."""
    if isinstance(expr, ast.VectorSearch):
        return True
    if isinstance(expr, ast.And | ast.Or):
        return all(vector_only(item) for item in expr.items)
    return isinstance(expr, ast.Boost) and vector_only(expr.expr)


def load_scored(source: DocumentSource, doc_ids: Iterable[str], collection: str | None) -> list[Document]:
    """The documents a vector-only query can match; ids of another collection or deleted ones drop out."""
    wanted = (collection or "").lower()
    return [doc for doc in load_documents(source, list(doc_ids))
            if doc is not None and str((doc.get("@metadata") or {}).get("@collection", "")).lower() == wanted]


def load_documents(source: DocumentSource, doc_ids: Sequence[str]) -> list[Document | None]:
    """Documents by id, aligned with ``doc_ids``: in one read from a source that loads many at once
    (``indexed.BatchSource``; a statement per document cost the vector query a tenth of its time)."""
    many = getattr(source, "get_documents", None)
    return many(doc_ids) if many is not None else [source.get_document(doc_id) for doc_id in doc_ids]


def _doc_id(doc: Document) -> str:
    doc_id = (doc.get("@metadata") or {}).get("@id")
    return doc_id if isinstance(doc_id, str) else ""
