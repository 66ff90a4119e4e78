"""What a run found and did, per host and task: the one event stream's payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from provision.planning.model import Diff, Disruption


class Status(StrEnum):
    """A task's or a host's status. Its value is what the JSON output and the console show."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNREACHABLE = "unreachable"
    PENDING = "pending"  # plan: a change that apply would make
    CHECK = "check"  # plan: a check that runs when apply reaches it (after earlier changes)
    NOT_STARTED = "not started"  # a host whose batch the run never reached (rolling batches)


OK, CHANGED, FAILED, SKIPPED = Status.OK, Status.CHANGED, Status.FAILED, Status.SKIPPED
UNREACHABLE, PENDING, CHECK = Status.UNREACHABLE, Status.PENDING, Status.CHECK


@dataclass
class TaskReport:
    name: str
    role: str | None
    type: str
    status: Status
    summary: list[str] = field(default_factory=list)
    diffs: list[Diff] = field(default_factory=list)
    reason: str = ""
    message: str = ""
    output: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    duration: float = 0.0
    handler: bool = False
    location: str = ""
    disruption: Disruption | None = None  # a change's (or its handlers'), see planning.disruption


@dataclass
class HostReport:
    name: str
    tasks: list[TaskReport] = field(default_factory=list)
    status: Status = OK
    error: str = ""
    duration: float = 0.0
    commands_run: int = 0
    connections: int = 0
    probe_seconds: float = 0.0
    disruption: Disruption | None = None  # the most its plan disrupts (None: not planned)
    not_started: list[str] = field(default_factory=list)  # plays a stopped rollout never ran

    def count(self, status: Status) -> int:
        return sum(1 for t in self.tasks if t.status == status)

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def unreachable(self) -> bool:
        return self.status == UNREACHABLE

    @property
    def pending(self) -> int:
        return self.count(PENDING)
