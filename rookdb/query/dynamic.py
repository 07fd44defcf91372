"""Dynamic queries (``from Products where ...``): answered by the auto-index the query needs; queries
on a named index go to it (``rookdb.query.named``).

The query's fields (``rookdb.query.index_names``) select the auto-index: an existing one covering
them, or a new (possibly merged) one the registry creates. The query then reads one snapshot of it.
Queries that read their collection in order (no filter, or ``id()`` only) need no index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import RookError
from rookdb.indexes.registry import IndexRegistry
from rookdb.inline import refuse_to_wait
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.executor import QueryResult, QuerySource, VectorSearchHook, execute
from rookdb.query.facets import with_setups
from rookdb.query.group_by import refuse_aggregates, run_group_by
from rookdb.query.index_names import auto_index_fields, reads_collection
from rookdb.query.named import answer_from, run_on_index
from rookdb.query.parser import parse_query
from rookdb.query.plain import plain_query, run_plain
from rookdb.query.scoring import fusion_of
from rookdb.query.vector_clauses import vector_only

__all__ = ["run_dynamic"]


def run_dynamic(query: str, parameters: Mapping[str, Any], source: QuerySource, indexes: IndexRegistry | None,
                *, start: int = 0, page_size: int | None = None, wait_for_non_stale: float | None = None,
                vector_search: VectorSearchHook | None = None, order_by_score: bool = True,
                stale: bool = False, deadline: Deadline = NO_DEADLINE) -> QueryResult:
    """Run a query, from its auto-index when it needs one.

    ``wait_for_non_stale`` is how long the client lets the query wait for its index (seconds);
    ``stale`` reports that something else the query used (vector fields) lags behind. Without
    ``indexes`` only queries that read a collection in order, or only search vectors, can run. The query
    stops with ``RequestTimeoutError`` once it runs past ``deadline`` (time spent waiting for the index counts).
    """
    parsed = parse_query(query)
    if parsed.group_by:
        return run_group_by(query, parsed, parameters, source, indexes, start=start, page_size=page_size,
                            wait_for_non_stale=wait_for_non_stale, stale=stale, deadline=deadline)
    refuse_aggregates(parsed, query)
    if parsed.source.kind == "index":
        return run_on_index(query, parsed, parameters, source, indexes, start=start, page_size=page_size,
                            wait_for_non_stale=wait_for_non_stale, vector_search=vector_search,
                            order_by_score=order_by_score, stale=stale, deadline=deadline)
    plain = plain_query(query, parsed) if indexes is not None and wait_for_non_stale is None else None
    if plain is not None and indexes is not None and vector_search is None and not stale:
        answered = run_plain(plain, parameters, source, indexes, start=start, page_size=page_size,
                             order_by_score=order_by_score, deadline=deadline)
        if answered is not None:
            return answered
        # What follows may create the index, wait for it or catch it up: not on the event loop.
        refuse_to_wait("the index is missing or behind")
    # Vector clauses alone read just the documents they score: without indexes they still run.
    scored_by_id = (indexes is None and parsed.where is not None and vector_only(parsed.where)
                    and fusion_of(parameters, query) is None)
    if reads_collection(parsed) or scored_by_id:
        result = execute(query, parameters, source, start=start, page_size=page_size, vector_search=vector_search,
                         order_by_score=order_by_score, deadline=deadline)
        result.is_stale = stale
        return result
    if indexes is None:
        raise RookError("This database was opened without its indexes: only collection reads can run.")
    # Facets from a setup document name their fields there: the auto-index needs them too.
    expanded, expanded_parameters = with_setups(parsed, parameters, source)
    fields, vectors = auto_index_fields(expanded, expanded_parameters)
    collection = parsed.source.name if parsed.source.kind == "collection" else None
    if (vector_search is not None and vectors and not stale and wait_for_non_stale is None and not parsed.facets
            and parsed.where is not None and vector_only(parsed.where) and fusion_of(parameters, query) is None):
        # The current vector index answers vector clauses alone; the auto-index of the same name only lists
        # the query, so it is not held, caught up or read for it. ``ResultEtag`` is then the database's last
        # etag, as a current index gives; a stale answer takes the index's own below.
        listed = indexes.listed_for_query(collection, fields, vectors)
        if listed is not None:
            result = execute(query, parameters, source, start=start, page_size=page_size, vector_search=vector_search,
                             order_by_score=order_by_score, index_name=listed.name, deadline=deadline)
            result.index_timestamp = listed.store.last_indexed
            return result
    with indexes.for_query(collection, fields, vectors, wait=wait_for_non_stale) as chosen:
        return answer_from(chosen, query, parsed, parameters, source, start=start, page_size=page_size,
                           vector_search=vector_search, order_by_score=order_by_score, stale=stale, deadline=deadline)
