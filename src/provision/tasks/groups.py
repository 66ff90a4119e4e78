"""`user` and `group`: local accounts and supplementary groups."""

from __future__ import annotations

from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import GroupFact, GroupState, UserFact, UserState
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Arg, Assertion, TaskType, register, verifies
from provision.tasks.names import account_problem, login_path_problem


def _check_account(task: TaskType, name: str, what: str = "account name") -> None:
    problem = account_problem(name, what)
    if problem:
        raise task.fail(problem)


@register
class Group(TaskType):
    type_name = "group"
    args = (
        Arg("name", "str"),
        Arg("state", "str", "present", ("present", "absent")),
        Arg("gid", "int", None),
        Arg("system", "bool", False),
    )

    def validate(self) -> None:
        _check_account(self, self.p["name"])
        if self.p["gid"] is not None and not 0 <= self.p["gid"] < 2**31:
            raise self.fail(f"`gid` must be between 0 and 2147483647, found {self.p['gid']}")

    def facts(self) -> list[Fact]:
        return [GroupFact(self.p["name"])]

    def plan(self, state: HostState) -> Outcome:
        name, gid = self.p["name"], self.p["gid"]
        current: GroupState | None = state.get(GroupFact(name))
        if self.p["state"] == "absent":
            if current is None:
                return NoOp(f"group {name} is absent")
            state.set(GroupFact(name), None)
            return Change([f"group {name}: present → absent"], [command("groupdel", "--", name)])
        if current is None:
            words = ["groupadd"] + (["-r"] if self.p["system"] else [])
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
                self.p["name"],
                {"exists": self.p["state"] == "present"},
                f"group {self.p['name']}",
            )
        ]


@register
class User(TaskType):
    type_name = "user"
    args = (
        Arg("name", "str"),
        Arg("groups", "strlist", None),
        Arg("append", "bool", True),
        Arg("state", "str", "present", ("present", "absent")),
        Arg("shell", "str", None),
        Arg("home", "str", None),
        Arg("system", "bool", False),
        Arg("create_home", "bool", True),
    )

    def validate(self) -> None:
        _check_account(self, self.p["name"])
        for group in self.p["groups"] or []:
            _check_account(self, group, "group name")
        for key, what in (("shell", "login shell"), ("home", "home directory")):
            if self.p[key] is not None:
                problem = login_path_problem(self.p[key], what)
                if problem:
                    raise self.fail(problem)

    def facts(self) -> list[Fact]:
        return [UserFact(self.p["name"])] + [GroupFact(g) for g in self.p["groups"] or []]

    def plan(self, state: HostState) -> Outcome:
        name, groups = self.p["name"], self.p["groups"] or []
        current: UserState | None = state.get(UserFact(name))
        if self.p["state"] == "absent":
            if current is None:
                return NoOp(f"user {name} is absent")
            state.set(UserFact(name), None)
            return Change([f"user {name}: present → absent"], [command("userdel", "--", name)])
        missing_groups = [g for g in groups if state.get(GroupFact(g)) is None]
        if missing_groups and not state.after_changes:
            return Failed(f"group(s) {', '.join(missing_groups)} do not exist on this host")
        if current is None:
            words = ["useradd"] + (["-r"] if self.p["system"] else [])
            words += ["-m"] if self.p["create_home"] else ["-M"]
            words += ["-s", self.p["shell"]] if self.p["shell"] else []
            words += ["-d", self.p["home"]] if self.p["home"] else []
            words += ["-G", ",".join(groups)] if groups else []
            state.set(
                UserFact(name),
                UserState(name, -1, self.p["home"] or "", self.p["shell"] or "", tuple(groups)),
            )
            summary = f"user {name}: absent → present" + (
                f" (groups {', '.join(groups)})" if groups else ""
            )
            return Change([summary], [command(*words, "--", name)])
        summary, words_list = [], []
        if self.p["append"]:
            add = [g for g in groups if g not in current.groups]
            if add:
                summary.append(f"user {name}: add to group(s) {', '.join(add)}")
                words_list.append(["usermod", "-a", "-G", ",".join(add), "--", name])
        elif groups and set(groups) != set(current.groups[1:]):
            summary.append(
                f"user {name}: groups {', '.join(current.groups[1:])} → {', '.join(groups)}"
            )
            words_list.append(["usermod", "-G", ",".join(groups), "--", name])
        if self.p["shell"] and current.shell != self.p["shell"]:
            summary.append(f"user {name}: shell {current.shell} → {self.p['shell']}")
            words_list.append(["usermod", "-s", self.p["shell"], "--", name])
        if not words_list:
            return NoOp(f"user {name} exists" + (f", in {', '.join(groups)}" if groups else ""))
        state.set(
            UserFact(name),
            UserState(
                name,
                current.uid,
                current.home,
                self.p["shell"] or current.shell,
                tuple(dict.fromkeys([*current.groups, *groups]))
                if self.p["append"]
                else tuple(dict.fromkeys([*current.groups[:1], *groups])),
            ),
        )
        return Change(summary, [command(*w) for w in words_list])

    def assertions(self) -> list[Assertion]:
        expect = {"exists": self.p["state"] == "present", "groups": self.p["groups"] or []}
        return [Assertion("user", self.p["name"], expect, f"user {self.p['name']}")]


@verifies("user")
def check_user(host: Any, name: str, expect: dict) -> str | None:
    user = host.user(name)
    if user.exists != expect["exists"]:
        return f"user {name} {'does not exist' if expect['exists'] else 'exists'}"
    missing = [g for g in expect.get("groups", []) if user.exists and g not in user.groups]
    return f"user {name} is not in group(s) {', '.join(missing)}" if missing else None


@verifies("group")
def check_group(host: Any, name: str, expect: dict) -> str | None:
    exists = host.group(name).exists
    if exists != expect["exists"]:
        return f"group {name} {'does not exist' if expect['exists'] else 'exists'}"
    return None
