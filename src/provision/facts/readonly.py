"""Read-only facts a playbook registers: a user's read-only command (`command`/`shell`
with `changed_when: false`) and Ansible's `stat`, both read in the one probe.

A read-only command's output is bounded (MAX_OUTPUT_BYTES per stream) and passed back
framed by length, so no byte it prints can break the probe's framing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import CaseFacts, FactError, FactKind, text

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
    local: bool = False  # `delegate_to: localhost`: read on the controller, not the host
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


STAT_FLAGS = {
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
    local: bool = False  # `delegate_to: localhost`: read on the controller, not the host
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
