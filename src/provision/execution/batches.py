"""Rolling batches: how a play's hosts are cut into batches (`serial`) and when a batch's
failures stop the run (`max_fail_percentage`), with Ansible's arithmetic. Pure functions;
`runner.run_all` runs the batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# What became of a batch (BatchRecord.state).
RUNNING = "running"
RAN = "ran"
STOPPED = "stopped"  # it ran, and its failures stopped the run
NOT_STARTED = "not started"
INTERRUPTED = "interrupted"


def batch_size(item: int | str, total: int) -> int:
    """One `serial` entry as a host count: a count as is; a percentage of `total`, rounded
    down, at least 1 (Ansible's `pct_to_int`)."""
    if isinstance(item, str) and item.endswith("%"):
        return int(float(item[:-1]) / 100.0 * total) or 1
    return int(item)


def cut(hosts: Sequence[T], serial: Sequence[int | str]) -> list[list[T]]:
    """The hosts in batches, in order. Each batch takes the next `serial` entry's size (the
    last entry repeats); a size of 0 takes every host left; no `serial`: one batch."""
    left = list(hosts)
    if not left:
        return []
    if not serial:
        return [left]
    batches: list[list[T]] = []
    index = 0
    while left:
        size = batch_size(serial[index], len(hosts))
        if size <= 0:
            batches.append(left)
            break
        batches.append(left[:size])
        left = left[size:]
        index = min(index + 1, len(serial) - 1)
    return batches


def stops_run(failed: int, size: int, max_fail_percentage: float | None) -> bool:
    """Whether a batch of `size` hosts with `failed` of them failed (or unreachable) stops
    the run: every host of it failed, or strictly more than `max_fail_percentage` percent
    of it did (Ansible: "the percentage must be exceeded, not equaled")."""
    if size <= 0 or failed <= 0:
        return False
    if failed >= size:
        return True
    return max_fail_percentage is not None and failed / size > max_fail_percentage / 100.0


def why_stopped(failed: int, size: int, max_fail_percentage: float | None) -> str:
    """The reason `stops_run` gave, in words."""
    share = f"{failed} of {size} host{'s' if size != 1 else ''} failed"
    if failed >= size:
        return f"{share}: every host of the batch"
    percent = f"{100.0 * failed / size:.4g}%"
    return f"{share} ({percent}), more than max_fail_percentage {max_fail_percentage:g}%"


@dataclass
class BatchRecord:
    """One batch of one play: its hosts and what became of it."""

    play: str
    index: int  # 1-based
    count: int  # batches in the play
    hosts: list[str]
    state: str = NOT_STARTED
    failed: list[str] = field(default_factory=list)
    reason: str = ""  # why it stopped the run, or why it was not started

    def label(self) -> str:
        return f"batch {self.index}/{self.count}"
