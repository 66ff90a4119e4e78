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
from dataclasses import dataclass
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
from provision.tasks.base import Assertion, TaskType, arg, verifies
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


class Sysctl(TaskType):
    """`sysctl`: a kernel parameter, live and persisted

    Sets the live value (`sysctl -w`) and the persisted line; either differing is a change.

    `name`: letters, digits and `_ . / - : @ +`, not starting with `-` (it reaches the
    `sysctl` command line), no glob characters, no empty or `..` component;
    `net/ipv4/ip_forward` is the same key as `net.ipv4.ip_forward` (the plan shows the
    dotted form). `value`: no line break of any kind and no other control character (an
    input error names the task's line); runs of spaces and tabs collapse to one space.

    #### Persisted means "the value at the next boot"
    A line in `file` is not enough: systemd-sysctl reads every `*.conf` in `/etc/sysctl.d`,
    `/run/sysctl.d`, `/usr/local/lib/sysctl.d`, `/usr/lib/sysctl.d` and `/lib/sysctl.d` (a
    name in an earlier folder hides the same name in a later one; a link to `/dev/null`
    masks it), in the order of their file names, and then `/etc/sysctl.conf` (as `sysctl
    --system` does; RHEL links it in as `/etc/sysctl.d/99-sysctl.conf`, and then it is read
    there, once). The probe reads all of them in its one remote script; the later assignment
    wins (`-key = v` counts: the `-` only ignores a failure), and an explicit key beats a
    glob.

    So `sysctl` plans a change when the boot value would differ, and its summary names the
    file and line, e.g. `/etc/sysctl.conf:12 sets net.ipv4.ip_forward = 0 after
    /etc/sysctl.d/99-docker.conf at boot: comment it out`. A no-op says
    `net.ipv4.ip_forward = 1, live and in /etc/sysctl.d/99-docker.conf, which sets it at
    boot`.

    - An overriding line in a file under `/etc` is commented out (the diff shows it), as
      `# provision: NAME is set in FILE; was: LINE`; a link such as `99-sysctl.conf` is kept
      and its target is edited.
    - An override in `/run`, `/usr/local/lib`, `/usr/lib` or `/lib`, or by a glob line,
      fails the task with the file and line: a vendor or runtime file is not provision's to
      edit. Remove the line, mask the file with a same-name file in `/etc/sysctl.d`, or
      choose a `file` that sorts after it.
    - A `file` that is never read at boot (not `*.conf` in those folders, or hidden by a
      same-name file in an earlier folder) fails the task.
    - `provision verify` checks the same: live value, the line, and the value at boot.
    """

    type_name = "sysctl"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the kernel parameter, e.g. `net.ipv4.ip_forward`")
        value: str | None = arg(
            None,
            doc="the value wanted, compared as text after normalising whitespace; required"
            " unless `state: absent`",
        )
        file: str = arg(
            "/etc/sysctl.d/99-provision.conf", doc="the file the `name = value` line is kept in"
        )
        state: str = arg(
            "present",
            choices=("present", "absent"),
            doc="`absent` removes the line from `file` (the live value is left as it is)",
        )

    params: Params

    def validate(self) -> None:
        problem = check_name(self.params.name)
        if problem:
            raise self.fail(problem)
        self.params.name = dotted(self.params.name)
        if self.params.state == "present" and self.params.value is None:
            raise self.fail("`value` is required unless `state: absent`")
        if self.params.value is not None:
            if re.search(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]", self.params.value):
                raise self.fail(
                    f"sysctl {self.params.name}: the value holds a line break; it is written"
                    " as one line of a sysctl file",
                    arg="value",
                )
            value = normalise_sysctl(self.params.value)
            if re.search(r"[\x00-\x1f\x7f-\x9f]", value):
                raise self.fail(f"sysctl {self.params.name}: the value has a control character")
            if not value:
                raise self.fail(f"sysctl {self.params.name}: the value is empty")
            self.params.value = value

    def facts(self) -> list[Fact]:
        facts: list[Fact] = [SysctlFact(self.params.name), FileFact(self.params.file)]
        if self.params.state == "present":
            facts.append(SysctlBootFact())
        return facts

    def _pattern(self) -> str:
        return persisted_pattern(self.params.name)

    def plan(self, state: HostState) -> Outcome:
        name, value, path = self.params.name, self.params.value, self.params.file
        live = state.get(SysctlFact(name))
        current: FileState = state.get(FileFact(path))
        before = as_text(current.content) if current.exists else ""
        if self.params.state == "absent":
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
        expect = {"value": self.params.value, "file": self.params.file, "state": self.params.state}
        return [Assertion("sysctl", self.params.name, expect, f"sysctl {self.params.name}")]


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
