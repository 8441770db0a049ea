"""Helpers for the tests that use the official neo4j driver (5.28.x or 6.x)."""

from __future__ import annotations

from neo4j import GraphDatabase


def make_driver(server, **config):
    """A driver for `server` with no auth and a short connection timeout, unless overridden."""
    config.setdefault("auth", None)
    config.setdefault("connection_timeout", 10)
    return GraphDatabase.driver(server.uri, **config)


def value(session_or_tx, query, **params):
    """The single value of a single-row, single-column result."""
    return session_or_tx.run(query, params).single(strict=True).value()
