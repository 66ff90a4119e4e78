"""The run's verdict: every host in one group, the groups named with their hosts, and the
exit code's reason (the console's last line and the JSON's summary come from here)."""

from __future__ import annotations

import pytest

from provision.execution.reports import (
    CHANGED,
    FAILED,
    OK,
    PENDING,
    UNREACHABLE,
    HostReport,
    TaskReport,
)
from provision.reporting.summary import exit_reason, names, outcome, verdict


def host(name: str, status: str = OK, pending: int = 0) -> HostReport:
    tasks = [TaskReport(f"t{i}", None, "copy", PENDING) for i in range(pending)]
    return HostReport(name, tasks, status=status)


@pytest.mark.parametrize(
    ("command", "reports", "code", "line"),
    [
        ("plan", [host("a")], 0, "plan: 1 host in sync (a); exit 0: no changes pending"),
        ("apply", [host("a")], 0, "apply: 1 host in sync (a); exit 0: success"),
        (
            "plan",
            [host("b", pending=2), host("a", pending=1), host("c")],
            4,
            "plan: 2 hosts to change (a, b), 1 in sync (c); exit 4: changes pending",
        ),
        (
            "apply",
            [host("a", CHANGED), host("b", FAILED), host("c", UNREACHABLE)],
            1,
            "apply: 1 host failed (b), 1 unreachable (c), 1 changed (a); "
            "exit 1: a task failed or a host did not converge",
        ),
        (
            "plan",
            [host("c", UNREACHABLE), host("d", UNREACHABLE), host("a", pending=3)],
            3,
            "plan: 2 hosts unreachable (c, d), 1 to change (a); exit 3: a host was "
            "unreachable; this wins over 4 (changes pending) because the plan does not cover "
            "that host",
        ),
        (
            "plan",
            [host("c", UNREACHABLE), host("a")],
            3,
            "plan: 1 host unreachable (c), 1 in sync (a); exit 3: a host was unreachable",
        ),
        ("apply", [host("a", FAILED)], 130, "apply: 1 host failed (a); exit 130: interrupted"),
        ("plan", [], 0, "plan: no hosts; exit 0: no changes pending"),
    ],
)
def test_verdict(command: str, reports: list[HostReport], code: int, line: str) -> None:
    assert verdict(command, outcome(command, reports), code) == line


def test_pending_counts_only_in_plan() -> None:
    # apply never leaves a task pending; a host with one would be "ok" there, not "pending"
    assert outcome("apply", [host("a", pending=1)])["pending"] == []
    assert outcome("plan", [host("a", pending=1)])["pending"] == ["a"]


def test_every_host_in_exactly_one_group() -> None:
    reports = [host(f"h{i}", s) for i, s in enumerate([OK, CHANGED, FAILED, UNREACHABLE] * 3)]
    groups = outcome("apply", reports)
    everyone = [n for hosts in groups.values() for n in hosts]
    assert sorted(everyone) == sorted(r.name for r in reports)


def test_many_hosts_are_shortened() -> None:
    assert names([f"h{i}" for i in range(8)]) == "h0, h1, h2, h3, h4 and 3 more"
    assert names(["a", "b"]) == "a, b"


def test_unknown_code_is_named() -> None:
    assert exit_reason("plan", 9, outcome("plan", [])) == "exit 9"
