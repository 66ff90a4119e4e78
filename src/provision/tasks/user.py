"""`user`: a local account and its supplementary groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import GroupFact, UserFact, UserState
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.group import check_account
from provision.tasks.names import login_path_problem


class User(TaskType):
    """`user`: a local account and its supplementary groups

    The groups must exist (or be created by an earlier task). `shell` and `home` are
    used when the account is created; `shell` is also changed on an existing account.
    """

    type_name = "user"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the account's name")
        groups: list[str] | None = arg(None, doc="supplementary groups")
        append: bool = arg(
            True,
            doc="add to `groups`, keep the others; `false`: exactly `groups` besides the"
            " primary group",
        )
        state: str = arg("present", choices=("present", "absent"), doc="whether it exists")
        shell: str | None = arg(None, doc="the login shell (an absolute path)")
        home: str | None = arg(None, doc="the home directory (an absolute path)")
        system: bool = arg(False, doc="a system account (`useradd -r`) when created")
        create_home: bool = arg(True, doc="create the home directory when created")

    params: Params

    def validate(self) -> None:
        check_account(self, self.params.name)
        for group in self.params.groups or []:
            check_account(self, group, "group name")
        for key, what in (("shell", "login shell"), ("home", "home directory")):
            if getattr(self.params, key) is not None:
                problem = login_path_problem(getattr(self.params, key), what)
                if problem:
                    raise self.fail(problem)

    def facts(self) -> list[Fact]:
        return [UserFact(self.params.name)] + [GroupFact(g) for g in self.params.groups or []]

    def plan(self, state: HostState) -> Outcome:
        name, groups = self.params.name, self.params.groups or []
        current: UserState | None = state.get(UserFact(name))
        if self.params.state == "absent":
            if current is None:
                return NoOp(f"user {name} is absent")
            state.set(UserFact(name), None)
            return Change([f"user {name}: present → absent"], [command("userdel", "--", name)])
        missing_groups = [g for g in groups if state.get(GroupFact(g)) is None]
        if missing_groups and not state.after_changes:
            return Failed(f"group(s) {', '.join(missing_groups)} do not exist on this host")
        if current is None:
            words = ["useradd"] + (["-r"] if self.params.system else [])
            words += ["-m"] if self.params.create_home else ["-M"]
            words += ["-s", self.params.shell] if self.params.shell else []
            words += ["-d", self.params.home] if self.params.home else []
            words += ["-G", ",".join(groups)] if groups else []
            state.set(
                UserFact(name),
                UserState(name, -1, self.params.home or "", self.params.shell or "", tuple(groups)),
            )
            summary = f"user {name}: absent → present" + (
                f" (groups {', '.join(groups)})" if groups else ""
            )
            return Change([summary], [command(*words, "--", name)])
        summary, words_list = [], []
        if self.params.append:
            add = [g for g in groups if g not in current.groups]
            if add:
                summary.append(f"user {name}: add to group(s) {', '.join(add)}")
                words_list.append(["usermod", "-a", "-G", ",".join(add), "--", name])
        elif groups and set(groups) != set(current.groups[1:]):
            summary.append(
                f"user {name}: groups {', '.join(current.groups[1:])} → {', '.join(groups)}"
            )
            words_list.append(["usermod", "-G", ",".join(groups), "--", name])
        if self.params.shell and current.shell != self.params.shell:
            summary.append(f"user {name}: shell {current.shell} → {self.params.shell}")
            words_list.append(["usermod", "-s", self.params.shell, "--", name])
        if not words_list:
            return NoOp(f"user {name} exists" + (f", in {', '.join(groups)}" if groups else ""))
        state.set(
            UserFact(name),
            UserState(
                name,
                current.uid,
                current.home,
                self.params.shell or current.shell,
                tuple(dict.fromkeys([*current.groups, *groups]))
                if self.params.append
                else tuple(dict.fromkeys([*current.groups[:1], *groups])),
            ),
        )
        return Change(summary, [command(*w) for w in words_list])

    def assertions(self) -> list[Assertion]:
        expect = {"exists": self.params.state == "present", "groups": self.params.groups or []}
        return [Assertion("user", self.params.name, expect, f"user {self.params.name}")]


@verifies("user")
def check_user(host: Any, name: str, expect: dict) -> str | None:
    user = host.user(name)
    if user.exists != expect["exists"]:
        return f"user {name} {'does not exist' if expect['exists'] else 'exists'}"
    missing = [g for g in expect.get("groups", []) if user.exists and g not in user.groups]
    return f"user {name} is not in group(s) {', '.join(missing)}" if missing else None
