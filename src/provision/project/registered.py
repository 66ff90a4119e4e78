"""Ansible's keyword-like modules that change nothing: a registered read-only `command`,
`shell` or `stat` (a fact, read in the one probe), `debug`, `set_fact`, `meta`.

A read-only command is a fact of the host like any other: its command runs inside the
probe, its output bounded (MAX_OUTPUT_BYTES per stream) and framed by length, so no text
it prints can break the probe. Its registered result has Ansible's shape (`rc`, `stdout`,
`stdout_lines`, `stderr`, `stderr_lines`, `changed`, `failed`, `cmd`; for `stat`,
`stat.exists`, `stat.isdir`, `stat.mode`, ...).

These tasks are built by compile, never written under a type name of this tool's own, so
they are not in the task-type registry (docs/tasks.md lists this tool's own types).
"""

from __future__ import annotations

from typing import Any, ClassVar

from provision.facts.base import Fact, text
from provision.facts.readonly import (
    MAX_OUTPUT_BYTES,
    STAT_FLAGS,
    CommandOutput,
    PackageListFact,
    ReadCommandFact,
    ServiceListFact,
    StatFact,
    StatInfo,
)
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.project.templating import TEXT_ENV
from provision.tasks.base import TaskContext, TaskType


def stat_result(path: str, info: StatInfo) -> dict[str, Any]:
    """Ansible's `stat` result (`register: st` → `st.stat.exists`, `st.stat.isdir`, ...)."""
    if not info.exists:
        return {"changed": False, "failed": False, "stat": {"exists": False}}
    flags = {flag: False for flag in STAT_FLAGS.values()}
    flag = STAT_FLAGS.get(info.kind)
    if flag:
        flags[flag] = True
    stat: dict[str, Any] = {
        "exists": True,
        "path": path,
        "mode": f"{info.mode:04o}",
        "uid": info.uid,
        "gid": info.gid,
        "pw_name": info.owner,
        "gr_name": info.group,
        "size": info.size,
        "mtime": info.mtime,
        **flags,
        "isuid": bool(info.mode & 0o4000),
        "isgid": bool(info.mode & 0o2000),
        "readable": True,
        "executable": bool(info.mode & 0o111),
    }
    if info.kind == "symbolic link":
        stat["lnk_source"] = info.link_target
        stat["lnk_target"] = info.link_target
    return {"changed": False, "failed": False, "stat": stat}


def command_result(cmd: Any, output: CommandOutput) -> dict[str, Any]:
    """Ansible's `command`/`shell` result (trailing line breaks of each stream removed)."""
    out = text(output.stdout).rstrip("\r\n")
    err = text(output.stderr).rstrip("\r\n")
    result: dict[str, Any] = {
        "cmd": cmd,
        "rc": output.rc,
        "stdout": out,
        "stderr": err,
        "stdout_lines": out.splitlines(),
        "stderr_lines": err.splitlines(),
        "changed": True,
        "failed": output.rc != 0,
        "skipped": False,
    }
    if output.rc != 0:
        result["msg"] = "non-zero return code"
    return result


class KeywordTask(TaskType):
    """Base of the tasks compile builds from Ansible's keyword-like modules (no type
    name of this tool's own: they are not in the registry)."""

    shown_as: ClassVar[str] = ""

    def __init__(self, context: TaskContext) -> None:
        self.context = context
        self.type_name = self.shown_as  # type: ignore[misc]

    def facts(self) -> list[Fact]:
        return []

    def result(self, state: HostState) -> dict[str, Any] | None:
        """Its registered result on probed `state` (None: not known before apply)."""
        return {"changed": False, "failed": False, "skipped": False}


class ReadCommand(KeywordTask):
    """A `command`/`shell` that changes nothing, read in the probe."""

    shown_as = "command"
    read_only = True

    def __init__(self, context: TaskContext, fact: ReadCommandFact, cmd: Any) -> None:
        super().__init__(context)
        self.fact = fact
        self.cmd = cmd

    def describe(self) -> str:
        return f"read {self.fact.script}"

    def facts(self) -> list[Fact]:
        return [self.fact]

    def plan(self, state: HostState) -> Outcome:
        if state.after_changes:
            return Deferred(
                f"read at apply, after earlier changes: {self.fact.script}", [self.fact], True
            )
        output: CommandOutput = state.get(self.fact)
        for stream, cut in (("stdout", output.stdout_cut), ("stderr", output.stderr_cut)):
            if cut:
                return Failed(
                    f"`{self.fact.script}` printed more than {MAX_OUTPUT_BYTES} bytes on "
                    f"{stream}; a registered read-only command may print at most that"
                )
        lines = len(text(output.stdout).rstrip("\r\n").splitlines())
        return NoOp(f"read in the probe: rc={output.rc}, {lines} line(s) of output")

    def result(self, state: HostState) -> dict[str, Any] | None:
        if state.after_changes:
            return None
        return command_result(self.cmd, state.get(self.fact))


class ReadStat(KeywordTask):
    """Ansible's `stat`: read in the probe."""

    shown_as = "stat"
    read_only = True

    def __init__(self, context: TaskContext, fact: StatFact) -> None:
        super().__init__(context)
        self.fact = fact

    def describe(self) -> str:
        return f"stat {self.fact.path}"

    def facts(self) -> list[Fact]:
        return [self.fact]

    def plan(self, state: HostState) -> Outcome:
        if state.after_changes:
            return Deferred(
                f"stat at apply, after earlier changes: {self.fact.path}", [self.fact], True
            )
        info: StatInfo = state.get(self.fact)
        return NoOp(f"{self.fact.path}: {info.kind if info.exists else 'absent'}")

    def result(self, state: HostState) -> dict[str, Any] | None:
        if state.after_changes:
            return None
        return stat_result(self.fact.path, state.get(self.fact))


class Debug(KeywordTask):
    """Ansible's `debug`: shows a message in the plan and the run; changes nothing."""

    shown_as = "debug"

    def __init__(self, context: TaskContext, message: str) -> None:
        super().__init__(context)
        self.message = message

    def describe(self) -> str:
        return "debug"

    def plan(self, state: HostState) -> Outcome:
        return NoOp(self.message)


class SetFact(KeywordTask):
    """Ansible's `set_fact`: the values are variables of the host for the later tasks."""

    shown_as = "set_fact"

    def __init__(self, context: TaskContext, values: dict[str, Any]) -> None:
        super().__init__(context)
        self.values = values

    def describe(self) -> str:
        return "set_fact " + ", ".join(self.values)

    def plan(self, state: HostState) -> Outcome:
        return NoOp("set " + ", ".join(self.values))

    def result(self, state: HostState) -> dict[str, Any] | None:
        return {"changed": False, "failed": False, "skipped": False, "ansible_facts": self.values}


class ReadFacts(KeywordTask):
    """Ansible's `package_facts` / `service_facts`: read in the probe, they set
    `ansible_facts.packages` / `ansible_facts.services` for the later tasks."""

    read_only = True

    def __init__(self, context: TaskContext, key: str) -> None:
        super().__init__(context)
        self.key = key
        self.fact: Fact = PackageListFact() if key == "packages" else ServiceListFact()
        self.type_name = f"{'package' if key == 'packages' else 'service'}_facts"  # type: ignore[misc]

    def describe(self) -> str:
        return str(self.type_name)

    def facts(self) -> list[Fact]:
        return [self.fact]

    def plan(self, state: HostState) -> Outcome:
        if state.after_changes:
            return Deferred(
                f"{self.type_name}: read at apply, after earlier changes", [self.fact], True
            )
        return NoOp(f"read {len(state.get(self.fact))} {self.key} in the probe")

    def result(self, state: HostState) -> dict[str, Any] | None:
        if state.after_changes:
            return None
        value = state.get(self.fact)
        if self.key == "packages":
            packages: dict[str, list[dict[str, Any]]] = {}
            for name, epoch, version, release, arch in value:
                packages.setdefault(name, []).append(
                    {
                        "name": name,
                        "epoch": None
                        if epoch == "(none)"
                        else int(epoch)
                        if epoch.isdigit()
                        else epoch,
                        "version": version,
                        "release": release,
                        "arch": arch,
                        "source": "rpm",
                    }
                )
            facts: Any = packages
        else:
            facts = {
                name: {"name": name, "state": run_state, "status": status, "source": "systemd"}
                for name, (run_state, status) in value.items()
            }
        return {
            "changed": False,
            "failed": False,
            "skipped": False,
            "ansible_facts": {self.key: facts},
        }


def _result_test(key: str, negate: bool = False) -> Any:
    """Ansible's tests over a registered result: `out is changed`, `is failed`, ..."""

    def test(result: Any) -> bool:
        if not isinstance(result, dict):
            name = "succeeded" if negate else key
            raise TypeError(f"the {name!r} test expects a registered result (a mapping)")
        value = bool(result.get(key, False))
        return not value if negate else value

    return test


RESULT_TESTS = {
    "changed": _result_test("changed"),
    "change": _result_test("changed"),
    "failed": _result_test("failed"),
    "failure": _result_test("failed"),
    "skipped": _result_test("skipped"),
    "skip": _result_test("skipped"),
    "succeeded": _result_test("failed", negate=True),
    "success": _result_test("failed", negate=True),
}
for _name, _test in RESULT_TESTS.items():
    TEXT_ENV.tests.setdefault(_name, _test)
