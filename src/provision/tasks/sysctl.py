"""`sysctl`: a kernel parameter, live and persisted: set in a sysctl.d file AND effective at
boot, across every file systemd-sysctl reads (facts/sysctl_boot.py).

When a file read after ours sets the parameter back, the plan names it: an overriding line
in a file under /etc (/etc/sysctl.conf, /etc/sysctl.d/*.conf) is commented out, with a note
naming our file; an override anywhere else (/run, /usr/lib, a glob...) fails the task with
the file and line, since editing a vendor or runtime file would not last.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState, SysctlFact, normalise_sysctl
from provision.facts.sysctl_boot import (
    Assignment,
    BootFile,
    SysctlBoot,
    SysctlBootFact,
    all_assignments,
    dotted,
    effective,
    read_order,
)
from provision.planning.model import (
    Change,
    Command,
    Diff,
    Failed,
    HostState,
    NoOp,
    Outcome,
    command,
    write_file,
)
from provision.tasks.base import Arg, Assertion, TaskType, register, verifies
from provision.tasks.filesupport import as_text, plan_file
from provision.tasks.line import check_line, edit_lines

#: a sysctl name as the `sysctl` command and /proc/sys take it: no leading `-` (an option),
#: no `=`, no whitespace or control characters, no glob characters, no `..` component
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+\-/]*")
EDITABLE_PREFIX = "/etc/"


def persisted_pattern(name: str) -> str:
    """The regexp of a sysctl.d line that sets `name` (also as `-name`, or with `/`)."""
    forms = {name, name.translate(str.maketrans("./", "/."))}
    alternatives = "|".join(re.escape(f) for f in sorted(forms))
    return r"^\s*-?\s*(?:" + alternatives + r")\s*="


def check_name(name: str) -> str | None:
    """None when `name` is a valid sysctl name, else why not."""
    if not NAME.fullmatch(name):
        return (
            f"invalid sysctl name {name!r}: letters, digits and _ . / - : @ + only,"
            " not starting with `-`"
        )
    if any(part in ("", "..") for part in re.split(r"[./]", name)):
        return f"invalid sysctl name {name!r}: an empty or `..` component"
    return None


def _commented(assignment: Assignment, name: str, own: str) -> str:
    return f"# provision: {name} is set in {own}; was: {assignment.text.strip()}"


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
        problem = check_name(self.p["name"])
        if problem:
            raise self.fail(problem)
        self.p["name"] = dotted(self.p["name"])
        if self.p["state"] == "present" and self.p["value"] is None:
            raise self.fail("`value` is required unless `state: absent`")
        if self.p["value"] is not None:
            value = normalise_sysctl(self.p["value"])
            if re.search(r"[\x00-\x1f\x7f-\x9f]", value):
                raise self.fail(f"sysctl {self.p['name']}: the value has a control character")
            if not value:
                raise self.fail(f"sysctl {self.p['name']}: the value is empty")
            self.p["value"] = value

    def facts(self) -> list[Fact]:
        facts: list[Fact] = [SysctlFact(self.p["name"]), FileFact(self.p["file"])]
        if self.p["state"] == "present":
            facts.append(SysctlBootFact())
        return facts

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
        after = edit_lines(before, f"{name} = {value}", self._pattern(), "present", None)
        boot = _current_boot(state).with_content(path, after)
        order = read_order(boot)
        if all(f.realpath != path for f in order):
            return Failed(
                f"{path} is not read at boot (systemd-sysctl reads *.conf in /etc/sysctl.d,"
                " /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d; a same-name file"
                " in an earlier folder or a link to /dev/null hides it): choose another `file`"
            )
        overrides = _overrides(order, name, value, path)
        fixed: dict[str, str] = {}
        for assignment in overrides:
            where = f"{assignment.path}:{assignment.line}"
            if not assignment.path.startswith(EDITABLE_PREFIX) or assignment.is_glob:
                return Failed(
                    f"{where} sets {assignment.text.strip()!r} after {path} at boot, so"
                    f" {name} would not stay {value} after a reboot; that file is not"
                    " provision's to edit: remove the line, or use a `file` that sorts after"
                    f" {assignment.path.rsplit('/', 1)[-1]}"
                )
            text = fixed.get(assignment.path)
            if text is None:
                other = boot.file(assignment.path)
                text = (other.content or "") if other is not None else ""
            lines = text.split("\n")
            lines[assignment.line - 1] = _commented(assignment, name, path)
            fixed[assignment.path] = "\n".join(lines)
        summary: list[str] = []
        commands: list[Command] = []
        diffs: list[Diff] = []
        if live != value:
            summary.append(f"sysctl {name}: {live} → {value}")
            commands.append(command("sysctl", "-q", "-w", f"{name}={value}"))
            state.set(SysctlFact(name), value)
        if not current.exists or after != before:
            persisted = plan_file(
                state, path, after.encode(), summary=f"persist {name} = {value} in {path}"
            )
            if isinstance(persisted, Failed):
                return persisted
            if isinstance(persisted, Change):
                summary += persisted.summary
                commands += persisted.commands
                diffs += persisted.diffs
        for assignment in overrides:
            summary.append(
                f"{assignment.path}:{assignment.line} sets {name} = {assignment.value} after"
                f" {path} at boot: comment it out"
            )
        for other_path, text in fixed.items():
            other = boot.file(other_path)
            assert other is not None
            before_other = other.content or ""
            commands.append(
                write_file(other_path, text.encode(), other.mode, other.owner, other.group)
            )
            diffs.append(Diff(other_path, before_other, text))
            boot = boot.with_content(other_path, text)
            if state.has(FileFact(other_path)):
                state.set(
                    FileFact(other_path),
                    FileState(
                        True, "regular file", other.mode, other.owner, other.group, text.encode()
                    ),
                )
        state.set(SysctlBootFact(), boot)
        if not commands:
            return NoOp(f"{name} = {value}, live and in {path}, which sets it at boot")
        return Change(summary, commands, diffs)

    def assertions(self) -> list[Assertion]:
        expect = {"value": self.p["value"], "file": self.p["file"], "state": self.p["state"]}
        return [Assertion("sysctl", self.p["name"], expect, f"sysctl {self.p['name']}")]


def _current_boot(state: HostState) -> SysctlBoot:
    """The boot files as probed, with any file an earlier task planned to write."""
    boot: SysctlBoot = state.get(SysctlBootFact())
    for f in boot.files:
        fact = FileFact(f.realpath)
        if state.has(fact):
            current: FileState = state.get(fact)
            if current.exists and current.known and current.content is not None:
                boot = boot.with_content(f.realpath, as_text(current.content))
    return boot


def _overrides(order: list[BootFile], name: str, value: str, own: str) -> list[Assignment]:
    """Explicit assignments of `name` read after our own line that set another value."""
    every = all_assignments(order)
    ours = [
        i
        for i, a in enumerate(every)
        if a.path == own and a.key == name and not a.is_glob and a.value is not None
    ]
    if not ours:
        return []
    now = effective(order, name)
    if now is not None and now.value == value:
        return []
    later = every[ours[-1] + 1 :]
    return [a for a in later if a.key == name and a.value is not None and a.value != value]


@verifies("sysctl")
def check_sysctl(host: Any, name: str, expect: dict) -> str | None:
    """The live value, the value at boot, and the line in the task's file."""
    if expect["state"] == "present":
        live = normalise_sysctl(str(host.run("sysctl -n -- " + shlex.quote(name)).stdout))
        if live != expect["value"]:
            return f"sysctl {name} is {live}, expected {expect['value']}"
        fact = SysctlBootFact()
        result = host.run(fact.command())
        boot = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
        at_boot = effective(read_order(boot), name)
        if at_boot is None or at_boot.value != expect["value"]:
            shown = (
                "unset" if at_boot is None else f"{at_boot.value} ({at_boot.path}:{at_boot.line})"
            )
            return f"sysctl {name} at boot would be {shown}, expected {expect['value']}"
    return check_line(
        host,
        expect["file"],
        {
            "line": f"{name} = {expect['value']}" if expect["state"] == "present" else None,
            "regexp": persisted_pattern(name),
            "state": expect["state"],
            "section": None,
        },
    )
