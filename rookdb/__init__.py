"""rookdb: a document database with built-in AI integration, speaking RavenDB's protocol."""

__version__ = "0.1.0"
