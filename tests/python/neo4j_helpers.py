"""Helpers for the tests that use the official neo4j driver (5.28.x or 6.x)."""

from __future__ import annotations

import time
import warnings

from neo4j import GraphDatabase
from neo4j.exceptions import DriverError, Neo4jError


def make_driver(server, **config):
    """A driver for `server` with no auth and a short connection timeout, unless overridden."""
    config.setdefault("auth", None)
    config.setdefault("connection_timeout", 10)
    return GraphDatabase.driver(server.uri, **config)


def value(session_or_tx, query, **params):
    """The single value of a single-row, single-column result."""
    return session_or_tx.run(query, params).single(strict=True).value()


def eventually(check, what: str, deadline_s: float = 30.0, interval_s: float = 0.05):
    """Polls `check()` until it returns a truthy value and returns it. A server still starting
    (refused connections) or not ready yet (query errors) counts as not yet."""
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (Neo4jError, DriverError, OSError) as e:
            last = e
        time.sleep(interval_s)
    raise AssertionError(f"{what}: not within {deadline_s}s (last: {last!r})")


def notifications(summary) -> list[dict]:
    """A result summary's notifications as maps (`code`, `title`, ...) with either driver line
    (neo4j 6 deprecates the attribute but still fills it from the server's notifications)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(summary.notifications or [])
