"""Test infrastructure that ships with rookdb: the local embedding server speaking each provider's
protocol (for tests and benchmarks; nothing here runs in production)."""

from rookdb.testing.embedding_server import EmbeddingServer

__all__ = ["EmbeddingServer"]
