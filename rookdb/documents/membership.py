"""This node among the nodes that serve one storage: its tag, the live nodes and the topology etag.

With SQLite the node is alone. Over a shared PostgreSQL database every node registers itself
(``StorageBackend.heartbeat``) with the URL clients should use, and says it is alive every
``Cluster.HeartbeatIntervalInSec``; a node silent for ``Cluster.NodeTimeoutInSec`` is dropped by
the next heartbeat of any node. The topology etag grows with every change of the node set: the
clients re-read ``/topology`` when it moved (``Refresh-Topology``). The tag a node got when it first
joined is kept in its data directory, so a restarted node comes back under the same tag.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, DaemonThreadPool, LoopingService
from rookdb.errors import RookError
from rookdb.settings import Settings
from rookdb.storage.base import ClusterNode, Membership, StorageBackend

__all__ = ["NODE_TAG_FILE", "NodeMembership"]

NODE_TAG_FILE = "node.tag"

logger = logging.getLogger("rookdb.cluster")


class NodeMembership:
    """A ``BackgroundService`` owned by the catalog: ``start`` registers the node (raising when the
    storage cannot be reached), then a thread keeps it alive. Readers get the last topology seen."""

    def __init__(self, backend: Callable[[], StorageBackend], data_dir: Path, settings: Settings, url: str) -> None:
        self._backend = backend
        self._tag_file = data_dir / NODE_TAG_FILE
        configured = str(settings["Cluster.NodeTag"]).strip().upper()
        stored = self._tag_file.read_text().strip() if self._tag_file.exists() else ""
        self._wanted_tag: str | None = configured or stored or None
        self._timeout = float(settings["Cluster.NodeTimeoutInSec"])
        self.url = url
        self.incarnation = uuid.uuid4().hex
        self._membership = Membership(self._wanted_tag or "A", (ClusterNode(self._wanted_tag or "A", url,
                                                                            self.incarnation),), 0)
        self._listeners: list[Callable[[], None]] = []
        # Listeners (opening databases, moving tasks) may take seconds; heartbeats must not wait for them.
        self._notifier = DaemonThreadPool(1, "rookdb-topology")
        self._lock = threading.Lock()
        self._loop = LoopingService("rookdb-heartbeat", self._beat, start_idle=True,
                                    idle_interval=float(settings["Cluster.HeartbeatIntervalInSec"]), log=logger)

    @property
    def name(self) -> str:
        return "cluster membership"

    @property
    def tag(self) -> str:
        return self._membership.tag

    @property
    def nodes(self) -> tuple[ClusterNode, ...]:
        """The live nodes by tag (this one included)."""
        return self._membership.nodes

    @property
    def etag(self) -> int:
        return self._membership.etag

    def node(self, tag: str) -> ClusterNode | None:
        return next((node for node in self.nodes if node.tag == tag), None)

    def is_alive(self, tag: str, incarnation: str) -> bool:
        return any(node.tag == tag and node.incarnation == incarnation for node in self.nodes)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on a thread of its own, one call at a time) whenever the node set changed."""
        self._listeners.append(listener)

    def start(self) -> None:
        self.refresh()
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop the heartbeats and leave the topology (the others see it at once, not after the timeout)."""
        stopped = self._loop.stop(drain=drain, timeout=timeout)
        self._notifier.shutdown(wait=False, cancel_futures=True)
        try:
            self._backend().leave(self.tag, self.incarnation)
        except RookError as error:
            logger.warning("Could not leave the topology: %s", error.message)
        return stopped

    def _beat(self) -> bool:
        try:
            self.refresh()
        except RookError as error:  # the storage is unreachable: the last topology stays
            logger.warning("Heartbeat failed: %s", error.message)
        return False

    def refresh(self) -> None:
        """Say this node is alive now and read the topology (the thread does it every interval)."""
        with self._lock:
            membership = self._backend().heartbeat(self._wanted_tag, self.url, self.incarnation, self._timeout)
            changed = membership.etag != self._membership.etag
            self._membership = membership
            if self._wanted_tag is None:
                self._wanted_tag = membership.tag
                self._tag_file.parent.mkdir(parents=True, exist_ok=True)
                self._tag_file.write_text(membership.tag + "\n")
        if changed:
            logger.info("Topology %d: %s", membership.etag, ", ".join(f"{n.tag} {n.url}" for n in membership.nodes))
            self._notifier.submit(self._tell_listeners)

    def _tell_listeners(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except RookError as error:  # the storage is unreachable: the next change tries again
                logger.warning("A topology listener failed: %s", error.message)
            except Exception:
                logger.exception("A topology listener failed")
