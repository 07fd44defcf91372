"""Topology, cluster topology and build version: what the client asks before anything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb import __version__
from rookdb.server.requests import catalog_of, query_required
from rookdb.server.responses import json_response

__all__ = ["build_version", "cluster_topology", "database_topology", "live_nodes", "node_url"]

_SOLO_TAG = "A"


def node_url(request: Request) -> str:
    """The URL this client reached us at; the client switches to the URL we return."""
    return f"{request.url.scheme}://{request.url.netloc}"


def live_nodes(request: Request) -> tuple[str, dict[str, str], int]:
    """(this node's tag, every live node's URL by tag, the topology etag). This node is listed at the
    URL the client reached it by; the others at the URL they registered (``Server.PublicUrl``)."""
    membership = catalog_of(request).membership
    if membership is None:
        return _SOLO_TAG, {_SOLO_TAG: node_url(request)}, 1
    urls = {node.tag: node.url for node in membership.nodes}
    urls[membership.tag] = node_url(request)
    return membership.tag, dict(sorted(urls.items())), max(1, membership.etag)


async def database_topology(request: Request) -> Response:
    database = await catalog_of(request).database(query_required(request, "name"))
    _, urls, etag = live_nodes(request)
    return json_response({
        "Etag": etag,
        "Nodes": [{"Url": url, "ClusterTag": tag, "Database": database.name, "ServerRole": "Member"}
                  for tag, url in urls.items()],
    })


async def cluster_topology(request: Request) -> Response:
    tag, urls, etag = live_nodes(request)
    leader = next(iter(urls))
    return json_response({
        "Leader": leader, "NodeTag": tag, "Etag": etag, "Status": {},
        "Topology": {"TopologyId": "rookdb", "AllNodes": urls, "Members": urls, "Promotables": {},
                     "Watchers": {}, "LastNodeId": list(urls)[-1], "Etag": etag},
    })


async def build_version(request: Request) -> Response:
    return json_response({"ProductVersion": __version__, "BuildVersion": 1, "CommitHash": "rookdb",
                          "FullVersion": f"rookdb {__version__}"})
