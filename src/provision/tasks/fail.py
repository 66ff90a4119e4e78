"""`fail`: stop the host with a message (under a `when:`)."""

from __future__ import annotations

from dataclasses import dataclass

from provision.facts.base import Fact
from provision.planning.model import Failed, HostState, Outcome
from provision.tasks.base import TaskType, arg


class Fail(TaskType):
    """`fail`: stop the host with a message

    Reached (its `when:` true, or none), it fails the host at plan time, before anything
    on that host is changed. Meant under a `when:` over variables or facts.
    """

    type_name = "fail"

    @dataclass(kw_only=True)
    class Params:
        msg: str = arg("Failed as requested from task", doc="the message")

    params: Params

    def describe(self) -> str:
        return f"fail: {self.params.msg}"

    def facts(self) -> list[Fact]:
        return []

    def plan(self, state: HostState) -> Outcome:
        return Failed(self.params.msg)
