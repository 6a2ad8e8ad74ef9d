"""Audit: the hash-chained event table and the structlog sink."""
