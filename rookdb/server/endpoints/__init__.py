"""HTTP endpoints, one module per area; each parses, calls one domain function, answers."""
