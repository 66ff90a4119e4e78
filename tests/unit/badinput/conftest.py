"""Shared by the bad-input tests: refuse (and record) every connection to a host."""

from __future__ import annotations

import pytest

import provision.execution.runner as runner


@pytest.fixture
def no_connections(monkeypatch):
    """The names of hosts a connection was attempted to; each attempt also fails."""
    attempts: list[str] = []

    def refuse(config, options):
        attempts.append(config.name)
        raise AssertionError(f"bad input must not connect to {config.name}")

    monkeypatch.setattr(runner, "connect", refuse)
    return attempts
