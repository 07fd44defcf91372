"""``/databases/{db}/queries``: RQL over HTTP, answered in RavenDB's QueryResult shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.ai.timespan import parse_timespan
from rookdb.documents.querying import run_query
from rookdb.errors import BadRequestError, ValidationError
from rookdb.server.requests import database_of, query_bool, read_json
from rookdb.server.responses import json_response
from rookdb.storage.sqlite import format_timestamp

__all__ = ["DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS", "query"]

# The client's default WaitForNonStaleResultsTimeout, used when it asks to wait without a timeout.
DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS = 15.0


def _query_body(request: Request, body: Any) -> tuple[str, dict[str, Any], int, int | None]:
    if request.method == "GET":
        text = request.query_params.get("query")
        parameters: Any = {}
        body = {"Start": request.query_params.get("start"), "PageSize": request.query_params.get("pageSize")}
    else:
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


def _wait_for_non_stale(body: Any) -> float | None:
    """Seconds to wait for the index (``WaitForNonStaleResults`` + ``...Timeout``), or None."""
    if not isinstance(body, dict) or not body.get("WaitForNonStaleResults"):
        return None
    timeout = body.get("WaitForNonStaleResultsTimeout")
    if timeout is None:
        return DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS
    try:
        return max(parse_timespan(timeout, "WaitForNonStaleResultsTimeout").total_seconds(), 0.0)
    except ValidationError as error:
        raise BadRequestError(error.message) from error


async def query(request: Request) -> Response:
    database = database_of(request)
    body = await read_json(request) if request.method == "POST" else None
    text, parameters, start, page_size = _query_body(request, body)
    result = await run_in_threadpool(run_query, database.database, text, parameters, start=start,
                                     page_size=page_size, wait_for_non_stale=_wait_for_non_stale(body),
                                     indexes=database.indexes, vectors=database.vectors)
    now = format_timestamp(datetime.now(UTC))
    etag = result.result_etag if result.result_etag is not None else database.database.storage.last_etag()
    results = result.results
    if query_bool(request, "metadataOnly"):
        results = [{"@metadata": item.get("@metadata", {})} for item in results]
    return json_response({
        "Results": results,
        "Includes": result.includes,
        "IndexName": result.index_name,
        "IsStale": result.is_stale,
        "TotalResults": result.total_results,
        "LongTotalResults": result.total_results,
        "SkippedResults": result.skipped_results,
        "CappedMaxResults": None,
        "DurationInMs": result.duration_ms,
        "IncludedPaths": None,
        "IndexTimestamp": result.index_timestamp or now,
        "LastQueryTime": now,
        "ResultEtag": etag,
        "NodeTag": "A",
    })
