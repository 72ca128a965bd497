"""Shared fixtures. The `stack` fixture starts the real servers; if one does not start the
tests that need it ERROR with the part's log tail. They are never skipped."""

from __future__ import annotations

import pytest

from replicator.stack.manager import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    s = Stack.from_env()
    s.up(echo=lambda line: print(line, flush=True))
    return s
