"""Indexes: definitions, their stores (terms, full text), and the service that keeps them current."""
