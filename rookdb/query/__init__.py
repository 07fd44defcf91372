"""RQL: the grammar, parser, syntax tree and executor of RavenDB's query language."""

from rookdb.query.ast import Query, VectorField, VectorSearch
from rookdb.query.executor import QueryResult, QuerySource, VectorSearchHook, execute
from rookdb.query.index_names import index_name
from rookdb.query.parser import parse_query

__all__ = [
    "Query",
    "QueryResult",
    "QuerySource",
    "VectorField",
    "VectorSearch",
    "VectorSearchHook",
    "execute",
    "index_name",
    "parse_query",
]
