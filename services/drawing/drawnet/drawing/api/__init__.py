"""The REST API under /api/v1: one module per domain, each a list of route handlers."""
