"""`group`: a local group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import GroupFact, GroupState
from provision.planning.model import Change, HostState, NoOp, Outcome, command
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.names import account_problem


def check_account(task: TaskType, name: str, what: str = "account name") -> None:
    problem = account_problem(name, what)
    if problem:
        raise task.fail(problem)


class Group(TaskType):
    """`group`: a local group"""

    type_name = "group"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the group's name")
        state: str = arg("present", choices=("present", "absent"), doc="whether it exists")
        gid: int | None = arg(None, doc="its numeric id (changed with `groupmod` if it differs)")
        system: bool = arg(False, doc="a system group (`groupadd -r`) when created")

    params: Params

    def validate(self) -> None:
        check_account(self, self.params.name)
        if self.params.gid is not None and not 0 <= self.params.gid < 2**31:
            raise self.fail(f"`gid` must be between 0 and 2147483647, found {self.params.gid}")

    def facts(self) -> list[Fact]:
        return [GroupFact(self.params.name)]

    def plan(self, state: HostState) -> Outcome:
        name, gid = self.params.name, self.params.gid
        current: GroupState | None = state.get(GroupFact(name))
        if self.params.state == "absent":
            if current is None:
                return NoOp(f"group {name} is absent")
            state.set(GroupFact(name), None)
            return Change([f"group {name}: present → absent"], [command("groupdel", "--", name)])
        if current is None:
            words = ["groupadd"] + (["-r"] if self.params.system else [])
            words += ["-g", str(gid)] if gid is not None else []
            state.set(GroupFact(name), GroupState(name, gid or -1, ()))
            return Change([f"group {name}: absent → present"], [command(*words, "--", name)])
        if gid is not None and current.gid != gid:
            state.set(GroupFact(name), GroupState(name, gid, current.members))
            return Change(
                [f"group {name}: gid {current.gid} → {gid}"],
                [command("groupmod", "-g", str(gid), "--", name)],
            )
        return NoOp(f"group {name} exists (gid {current.gid})")

    def assertions(self) -> list[Assertion]:
        return [
            Assertion(
                "group",
                self.params.name,
                {"exists": self.params.state == "present"},
                f"group {self.params.name}",
            )
        ]


@verifies("group")
def check_group(host: Any, name: str, expect: dict) -> str | None:
    exists = host.group(name).exists
    if exists != expect["exists"]:
        return f"group {name} {'does not exist' if expect['exists'] else 'exists'}"
    return None
