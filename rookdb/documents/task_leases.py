"""Which node is responsible for each embeddings task: one lease per task, held by a live node.

Every live node embeds batches of every task (``FeedClaims``); the lease holder is the task's
``ResponsibleNode`` and the one that builds a migrating task's next generation.

A lease (state ``embeddings/<task id>/lease``) names the node and the process (incarnation) that holds
it. A task whose lease is free, or held by a node that left the topology, goes to its preferred node:
the live nodes by tag, the task id picking one, so tasks spread over the nodes and every node agrees
which one takes it. The holder keeps the lease while it lives; a node that joins later does not take
tasks away (a task moves only when its node goes).

Leases are written in a write transaction, which holds the database's one write lock (the head row
on PostgreSQL, for every node), so two nodes never both take a lease. A batch is committed only if,
inside its write transaction, the lease is still this process's (``check``): a node that was
presumed dead and wakes up finds the lease gone and commits nothing, so no batch is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rookdb.ai.embeddings.claims import FeedClaims
from rookdb.documents.membership import NodeMembership
from rookdb.errors import NotResponsibleError
from rookdb.storage.base import ClusterNode, DocumentStorage

__all__ = ["TaskLeases", "lease_key"]

def lease_key(task_id: int) -> str:
    return f"embeddings/{task_id}/lease"


class TaskLeases:
    """Leases of one database's embeddings tasks, seen from this node."""

    def __init__(self, storage: DocumentStorage, membership: NodeMembership) -> None:
        self._storage = storage
        self._membership = membership

    def _mine(self) -> dict[str, Any]:
        return {"Node": self._membership.tag, "Incarnation": self._membership.incarnation}

    def _held_by_me(self, lease: Any) -> bool:
        return bool(lease == self._mine())

    def _alive(self, lease: Any) -> bool:
        return (isinstance(lease, dict) and isinstance(lease.get("Node"), str)
                and self._membership.is_alive(lease["Node"], str(lease.get("Incarnation"))))

    def _preferred(self, task_id: int) -> str:
        nodes = self._membership.nodes
        return nodes[task_id % len(nodes)].tag if nodes else self._membership.tag

    def claim(self, task_ids: Sequence[int]) -> set[int]:
        """Take the free leases this node should have; returns the tasks whose lease this node holds."""
        leases = {task_id: self._storage.get_state(lease_key(task_id)) for task_id in task_ids}
        wanted = [task_id for task_id, lease in leases.items()
                  if not self._held_by_me(lease) and not self._alive(lease)
                  and self._preferred(task_id) == self._membership.tag]
        if wanted:
            with self._storage.write() as tx:
                # Under the write lock the stored leases are the latest: look again before taking one.
                for task_id in wanted:
                    lease = self._storage.get_state(lease_key(task_id))
                    if self._held_by_me(lease) or not self._alive(lease):
                        tx.set_state(lease_key(task_id), self._mine())
                        leases[task_id] = self._mine()
                    else:
                        leases[task_id] = lease
        return {task_id for task_id, lease in leases.items() if self._held_by_me(lease)}

    def check(self, task_id: int) -> None:
        """Raise NotResponsibleError unless this node holds the lease; call inside the write transaction
        that commits the task's work."""
        if not self._held_by_me(self._storage.get_state(lease_key(task_id))):
            raise NotResponsibleError(f"Node {self._membership.tag} no longer runs embeddings task {task_id}.")

    def feed_claims(self, state_key: Callable[[str], str]) -> FeedClaims:
        """Claims on a task's feed for a new worker of this node (``state_key``: the generation's keys)."""
        membership = self._membership
        return FeedClaims(self._storage, state_key, membership.tag, membership.incarnation, membership.is_alive)

    def holder(self, task_id: int) -> ClusterNode | None:
        """The live node running the task, None while nobody does."""
        lease = self._storage.get_state(lease_key(task_id))
        if not self._alive(lease):
            return None
        return self._membership.node(lease["Node"])
