"""``/databases/{db}/queries``: RQL over HTTP, answered in RavenDB's QueryResult shape."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.async_database import AsyncDatabase, QueryAnswer
from rookdb.documents.querying import wait_for_non_stale_seconds
from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, query_bool, read_json
from rookdb.server.responses import RawJsonResponse, json_response

__all__ = ["QUERY_SLOT_WAIT_SECONDS", "QuerySlots", "answer_query", "delete_by_query", "patch_by_query", "query",
           "query_of", "rendered"]

# A query that does not ask to wait for its index waits this long at most for one of the slots, then runs
# anyway: a few slow queries (an index being created) hold up the others no longer than this.
QUERY_SLOT_WAIT_SECONDS = 0.5


class QuerySlots:
    """How many queries run at once: about one per core.

    Every SQLite call on a request thread gives up the GIL and takes it back; with sixteen queries
    runnable on sixteen threads, each take waited for the others' switch interval and for the event
    loop (a convoy): sixteen connections got half the answers per second of one, at a p99 of 75 ms.
    Queries that ask to wait for their index are not counted (they may wait seconds doing nothing).
    """

    def __init__(self, slots: int | None = None, *, wait_seconds: float = QUERY_SLOT_WAIT_SECONDS) -> None:
        self._slots = asyncio.Semaphore(slots or max(2, os.cpu_count() or 2))
        self._wait_seconds = wait_seconds

    async def acquire(self) -> bool:
        """Take a slot, waiting ``wait_seconds`` at most; False when none came free in time."""
        if not self._slots.locked():
            return await self._slots.acquire()  # free: taken at once, without a timer
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_seconds)
        except TimeoutError:
            return False
        return True

    def release(self) -> None:
        self._slots.release()


def query_of(body: Any) -> tuple[str, dict[str, Any], int, int | None]:
    """The RQL, its parameters, ``Start`` and ``PageSize`` of a query's body (a GET's query string as one)."""
    if not isinstance(body, dict):
        raise BadRequestError("The body must be a JSON object with a 'Query'.")
    text = body.get("Query")
    parameters = body.get("QueryParameters") or {}
    if not isinstance(text, str) or not text.strip():
        raise BadRequestError("'Query' must be a non-empty RQL string.")
    if not isinstance(parameters, dict):
        raise BadRequestError("'QueryParameters' must be a JSON object.")
    try:
        start = int(body.get("Start") or 0)
        page_size = None if body.get("PageSize") is None else int(body["PageSize"])
    except (TypeError, ValueError) as error:
        raise BadRequestError("'Start' and 'PageSize' must be integers.") from error
    if start < 0 or (page_size is not None and page_size < 0):
        raise BadRequestError("'Start' and 'PageSize' must not be negative.")
    return text, parameters, start, page_size


async def answer_query(database: AsyncDatabase, slots: QuerySlots, body: Any) -> QueryAnswer:
    """Run the query ``body`` asks for (``query_of``), in one of the ``slots`` unless it waits for its index."""
    text, parameters, start, page_size = query_of(body)
    wait_for_non_stale = wait_for_non_stale_seconds(body)
    slotted = wait_for_non_stale is None and await slots.acquire()
    try:
        return await database.query(text, parameters, start=start, page_size=page_size,
                                    wait_for_non_stale=wait_for_non_stale)
    finally:
        if slotted:
            slots.release()


def rendered(answer: QueryAnswer, if_none_match: str | None, metadata_only: bool) -> tuple[str, bytes | None]:
    """The answer's HTTP ETag and its body in RavenDB's QueryResult shape; no body when ``if_none_match``
    names the current answer (a 304)."""
    result = answer.result
    # Any write may change what the query includes or projects: the HTTP ETag follows the database too.
    # A stale answer is never served from the client's cache, nor stands for a later one: a vector field
    # catches up with embeddings already written, without a write that would change either etag.
    stale_mark = "-stale" if result.is_stale else ""
    http_etag = f'"{answer.result_etag}.{answer.database_etag}{stale_mark}"'
    if if_none_match == http_etag and not result.is_stale:
        return http_etag, None
    results = result.results
    if metadata_only:
        results = [{"@metadata": item.get("@metadata", {})} for item in results]
    return http_etag, orjson.dumps({
        "Results": results,
        "Includes": result.includes,
        **({"CompareExchangeValueIncludes": answer.compare_exchange} if answer.compare_exchange is not None else {}),
        **({"Timings": result.timings} if result.timings is not None else {}),
        **({"Explanations": result.explanations} if result.explanations is not None else {}),
        **({"Highlightings": result.highlightings} if result.highlightings is not None else {}),
        "IndexName": result.index_name,
        "IsStale": result.is_stale,
        "TotalResults": result.total_results,
        "LongTotalResults": result.total_results,
        "SkippedResults": result.skipped_results,
        "CappedMaxResults": None,
        "DurationInMs": result.duration_ms,
        "IncludedPaths": None,
        "IndexTimestamp": answer.index_timestamp,
        "LastQueryTime": answer.query_time,
        "ResultEtag": answer.result_etag,
        "NodeTag": "A",
    }, option=orjson.OPT_NON_STR_KEYS)


async def query(request: Request) -> Response:
    database = await database_of(request)
    if request.method == "POST":
        body = await read_json(request)
    else:
        body = {"Query": request.query_params.get("query"), "Start": request.query_params.get("start"),
                "PageSize": request.query_params.get("pageSize")}
    if request.query_params.get("debug", "").lower() == "explain":
        text, parameters, _, _ = query_of(body)
        index_name, explanations = await database.explain_query(text, parameters)
        return json_response({"IndexName": index_name, "Results": [item.to_json() for item in explanations]})
    answer = await answer_query(database, request.app.state.query_slots, body)
    http_etag, content = rendered(answer, request.headers.get("If-None-Match"), query_bool(request, "metadataOnly"))
    if content is None:
        return Response(status_code=304, headers={"ETag": http_etag})
    return RawJsonResponse(content, headers={"ETag": http_etag})


async def patch_by_query(request: Request) -> Response:
    database = await database_of(request)
    operation = await database.patch_by_query(await read_json(request))
    return json_response({"OperationId": operation.id, "OperationNodeTag": "A"})


async def delete_by_query(request: Request) -> Response:
    database = await database_of(request)
    operation = await database.delete_by_query(await read_json(request))
    return json_response({"OperationId": operation.id, "OperationNodeTag": "A"})
