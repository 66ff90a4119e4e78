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

import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, text
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import TaskContext, TaskType

MAX_OUTPUT_BYTES = 64 * 1024  # per stream of a registered read-only command


def env_prefix(environment: tuple[tuple[str, str], ...]) -> str:
    """`export NAME=value; ...` for a task's `environment:` (names checked by compile,
    values quoted here)."""
    return "".join(f"export {name}={shlex.quote(value)}; " for name, value in environment)


@dataclass(frozen=True)
class CommandOutput:
    """A read-only command's answer: exit code and its (bounded) output streams."""

    rc: int
    stdout: bytes
    stderr: bytes
    stdout_cut: bool = False
    stderr_cut: bool = False


@dataclass(frozen=True)
class ReadCommandFact(FactKind):
    """A registered read-only command of the user's, run in the probe; its output is
    bounded and passed back framed by length (any byte may appear in it)."""

    kind = "read_command"
    verbatim = True
    script: str  # shell text: run with sh (`shell`) or argv joined with quotes (`command`)
    chdir: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    slow: bool = True

    def command(self) -> str:
        limit = MAX_OUTPUT_BYTES + 1
        cd = f"cd -- {shlex.quote(self.chdir)} 2>/dev/null || exit 96" if self.chdir else ":"
        return "\n".join(
            [
                cd,
                "t=$(mktemp -d) || exit 97",
                "trap 'rm -rf \"$t\"' EXIT",
                'mkfifo "$t/f" || exit 97',
                f'head -c {limit} <"$t/f" >"$t/e" &',
                f"{{ ( {env_prefix(self.environment)}{self.script}",
                f') </dev/null 2>"$t/f"; echo $? >"$t/r"; }} | head -c {limit} >"$t/o"',
                "wait",
                'printf "%s %s %s\\n" "$(cat "$t/r")" "$(wc -c <"$t/o")" "$(wc -c <"$t/e")"',
                'cat "$t/o" "$t/e"',
            ]
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> CommandOutput:
        if rc in (96, 97):
            reason = "its chdir does not exist" if rc == 96 else "no temporary folder"
            raise FactError(f"{self.describe()}: cannot run ({reason}): {text(stderr)[-200:]}")
        head, newline, rest = stdout.partition(b"\n")
        fields = head.split()
        if not newline or len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise FactError(f"{self.describe()}: its answer could not be read")
        code, out_len, err_len = (int(f) for f in fields)
        if out_len + err_len != len(rest):
            raise FactError(f"{self.describe()}: its answer is cut short")
        out, err = rest[:out_len], rest[out_len:]
        return CommandOutput(
            code,
            out[:MAX_OUTPUT_BYTES],
            err[:MAX_OUTPUT_BYTES],
            out_len > MAX_OUTPUT_BYTES,
            err_len > MAX_OUTPUT_BYTES,
        )

    def describe(self) -> str:
        return f"read-only command {self.script}"

    def case_value(self, case: CaseFacts) -> CommandOutput:
        """`commands: {SCRIPT: {rc, stdout, stderr}}`."""
        spec: dict[str, Any] = case.section("commands").get(self.script) or {}
        return CommandOutput(
            int(spec.get("rc", 0)),
            str(spec.get("stdout", "")).encode(),
            str(spec.get("stderr", "")).encode(),
        )


@dataclass(frozen=True)
class StatInfo:
    exists: bool
    kind: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    owner: str = ""
    group: str = ""
    size: int = 0
    mtime: int = 0
    link_target: str = ""


_KINDS = {
    "regular file": "isreg",
    "regular empty file": "isreg",
    "directory": "isdir",
    "symbolic link": "islnk",
    "character special file": "ischr",
    "block special file": "isblk",
    "fifo": "isfifo",
    "socket": "issock",
}


@dataclass(frozen=True)
class StatFact(FactKind):
    """`stat` of one path (lstat unless `follow`), as Ansible's stat module reads it."""

    kind = "stat"
    path: str
    follow: bool = False
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.path)
        flag = "-L " if self.follow else ""
        return (
            f"if [ -e {p} ] || [ -L {p} ]; then "
            f"stat {flag}-c '%F|%a|%u|%g|%U|%G|%s|%Y' -- {p} || exit 3; "
            f"if [ -L {p} ]; then readlink -- {p} | head -c 4096; fi; else echo ABSENT; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> StatInfo:
        if rc != 0:
            raise FactError(f"cannot stat {self.path}: {text(stderr)[-200:]}")
        first, _, rest = text(stdout).partition("\n")
        if first.strip() == "ABSENT":
            return StatInfo(False)
        parts = first.split("|")
        if len(parts) != 8 or not all(parts[i].isdigit() for i in (2, 3, 6, 7)):
            raise FactError(f"unexpected stat output for {self.path}: {first!r}")
        try:
            mode = int(parts[1], 8)
        except ValueError:
            raise FactError(f"unexpected stat mode for {self.path}: {parts[1]!r}")
        return StatInfo(
            True,
            parts[0],
            mode,
            int(parts[2]),
            int(parts[3]),
            parts[4],
            parts[5],
            int(parts[6]),
            int(parts[7]),
            rest.rstrip("\n"),
        )

    def describe(self) -> str:
        return f"stat {self.path}"

    def case_value(self, case: CaseFacts) -> StatInfo:
        spec = case.section("stats").get(self.path)
        if not spec:
            return StatInfo(False)
        return StatInfo(
            True, spec.get("kind", "regular file"), int(str(spec.get("mode", "644")), 8)
        )


def stat_result(path: str, info: StatInfo) -> dict[str, Any]:
    """Ansible's `stat` result (`register: st` → `st.stat.exists`, `st.stat.isdir`, ...)."""
    if not info.exists:
        return {"changed": False, "failed": False, "stat": {"exists": False}}
    flags = {flag: False for flag in _KINDS.values()}
    flag = _KINDS.get(info.kind)
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
