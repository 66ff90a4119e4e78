"""Each declared task's assertion, checked on a live host through a testinfra Host.

The check of each assertion kind lives with the task type (or the shared file support)
that makes such assertions, registered with `@verifies(KIND)` (provision.tasks.base).
"""

from __future__ import annotations

from typing import Any

from provision.tasks.base import Assertion, checkers


def check(host: Any, assertion: Assertion) -> str | None:
    """None when the host matches the declaration, else what differs."""
    known = checkers()
    if assertion.kind not in known:
        raise LookupError(f"no verify check for assertions of kind {assertion.kind!r}")
    return known[assertion.kind](host, assertion.target, assertion.expect)
