"""`sysctl`: a kernel parameter, live and persisted in a sysctl.d file."""

from __future__ import annotations

import re

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState, SysctlFact, normalise_sysctl
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Arg, Assertion, TaskType, register
from provision.tasks.filesupport import as_text, plan_file
from provision.tasks.line import edit_lines


def persisted_pattern(name: str) -> str:
    """The regexp of a sysctl.d line that sets `name`."""
    return r"^\s*" + re.escape(name) + r"\s*="


@register
class Sysctl(TaskType):
    type_name = "sysctl"
    args = (
        Arg("name", "str"),
        Arg("value", "str", None),
        Arg("file", "str", "/etc/sysctl.d/99-provision.conf"),
        Arg("state", "str", "present", ("present", "absent")),
    )

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-/*]+", self.p["name"]):
            raise self.fail(f"invalid sysctl name {self.p['name']!r}")
        if self.p["state"] == "present" and self.p["value"] is None:
            raise self.fail("`value` is required unless `state: absent`")
        if self.p["value"] is not None:
            self.p["value"] = normalise_sysctl(self.p["value"])

    def facts(self) -> list[Fact]:
        return [SysctlFact(self.p["name"]), FileFact(self.p["file"])]

    def _pattern(self) -> str:
        return persisted_pattern(self.p["name"])

    def plan(self, state: HostState) -> Outcome:
        name, value, path = self.p["name"], self.p["value"], self.p["file"]
        live = state.get(SysctlFact(name))
        current: FileState = state.get(FileFact(path))
        before = as_text(current.content) if current.exists else ""
        if self.p["state"] == "absent":
            after = edit_lines(before, None, self._pattern(), "absent", None)
            if not current.exists or after == before:
                return NoOp(f"{name} not persisted in {path}")
            return plan_file(state, path, after.encode(), summary=f"sysctl {name}: unpersist")
        if live is None:
            return Failed(f"sysctl {name} does not exist on this host's kernel")
        summary, commands, diffs = [], [], []
        if live != value:
            summary.append(f"sysctl {name}: {live} → {value}")
            commands.append(command("sysctl", "-q", "-w", f"{name}={value}"))
            state.set(SysctlFact(name), value)
        after = edit_lines(before, f"{name} = {value}", self._pattern(), "present", None)
        if not current.exists or after != before:
            persisted = plan_file(
                state, path, after.encode(), summary=f"persist {name} = {value} in {path}"
            )
            if isinstance(persisted, Change):
                summary += persisted.summary
                commands += persisted.commands
                diffs += persisted.diffs
        if not commands:
            return NoOp(f"{name} = {value}, live and in {path}")
        return Change(summary, commands, diffs)

    def assertions(self) -> list[Assertion]:
        expect = {"value": self.p["value"], "file": self.p["file"], "state": self.p["state"]}
        return [Assertion("sysctl", self.p["name"], expect, f"sysctl {self.p['name']}")]
