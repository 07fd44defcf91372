"""Topology, cluster topology and build version: what the client asks before anything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb import __version__
from rookdb.server.requests import catalog_of, query_required
from rookdb.server.responses import json_response

__all__ = ["build_version", "cluster_topology", "database_topology", "node_url"]

_TOPOLOGY_ETAG = 1


def node_url(request: Request) -> str:
    """The URL this client reached us at; the client switches to the URL we return."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def database_topology(request: Request) -> Response:
    database = await catalog_of(request).database(query_required(request, "name"))
    return json_response({
        "Etag": _TOPOLOGY_ETAG,
        "Nodes": [{"Url": node_url(request), "ClusterTag": "A", "Database": database.name,
                   "ServerRole": "Member"}],
    })


async def cluster_topology(request: Request) -> Response:
    url = node_url(request)
    return json_response({
        "Leader": "A", "NodeTag": "A", "Etag": _TOPOLOGY_ETAG, "Status": {},
        "Topology": {"TopologyId": "rookdb", "Members": {"A": url}, "Promotables": {}, "Watchers": {},
                     "LastNodeId": "A", "Etag": _TOPOLOGY_ETAG},
    })


async def build_version(request: Request) -> Response:
    return json_response({"ProductVersion": __version__, "BuildVersion": 1, "CommitHash": "rookdb",
                          "FullVersion": f"rookdb {__version__}"})
