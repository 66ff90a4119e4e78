"""The run's outcome in one place: which hosts failed, were unreachable, will change, changed
or were already in sync, and why the exit code is what it is. The console's last line and
the JSON's `summary` both come from here, so they cannot disagree."""

from __future__ import annotations

from provision.execution.reports import CHANGED, HostReport, Status

# Most severe first: the first group with a host decides the exit code (see exit_reason).
# `not_started`: hosts whose batch a stopped rollout never reached (the run then has a
# failed host, so it exits 1).
GROUPS = ("failed", "unreachable", "not_started", "pending", "changed", "ok")
WORDS = {
    "failed": "failed",
    "unreachable": "unreachable",
    "not_started": "not started",
    "pending": "to change",  # not "will change": that marks a task line (tests count them)
    "changed": "changed",
    "ok": "in sync",
}
NAMES_SHOWN = 5


def outcome(command: str, reports: list[HostReport]) -> dict[str, list[str]]:
    """Host names by what happened to them; every host in exactly one group."""
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for r in sorted(reports, key=lambda r: r.name):
        if r.failed:
            groups["failed"].append(r.name)
        elif r.unreachable:
            groups["unreachable"].append(r.name)
        elif r.status == Status.NOT_STARTED:
            groups["not_started"].append(r.name)
        elif command == "plan" and r.pending:
            groups["pending"].append(r.name)
        elif r.status == CHANGED:
            groups["changed"].append(r.name)
        else:
            groups["ok"].append(r.name)
    return groups


def exit_reason(command: str, code: int, groups: dict[str, list[str]]) -> str:
    """Why the run exits with `code`, in words; names the outcome that lost, if any."""
    if code == 130:
        return "interrupted"
    if code == 1:
        if groups["not_started"]:
            return "a batch failed beyond its limit: later batches were not started"
        return "a task failed or a host did not converge"
    if code == 3:
        if groups["pending"]:
            return (
                "a host was unreachable; this wins over 4 (changes pending) because the plan "
                "does not cover that host"
            )
        return "a host was unreachable"
    if code == 4:
        return "changes pending"
    if code == 0:
        return "no changes pending" if command == "plan" else "success"
    if code == 5:
        return "refused: the plan is stale (nothing changed on those hosts)"
    return f"exit {code}"


def names(hosts: list[str]) -> str:
    shown = ", ".join(hosts[:NAMES_SHOWN])
    more = len(hosts) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def verdict(command: str, groups: dict[str, list[str]], code: int) -> str:
    """One line: every non-empty group with its hosts, then the exit code and its reason.
    Host names are raw here: the console masks and escapes the whole line."""
    parts = []
    for group in GROUPS:
        hosts = groups[group]
        if hosts:
            noun = "host" if len(hosts) == 1 and not parts else ("hosts" if not parts else "")
            head = f"{len(hosts)} {noun} " if noun else f"{len(hosts)} "
            parts.append(f"{head}{WORDS[group]} ({names(hosts)})")
    if not parts:
        parts.append("no hosts")
    return f"{command}: {', '.join(parts)}; exit {code}: {exit_reason(command, code, groups)}"
