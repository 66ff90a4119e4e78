"""`shell`: a command that changes the host every time it runs, unless a path says not."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, HostState, NoOp, Outcome
from provision.project.fileformats import line_problem
from provision.tasks.argv import argv_words
from provision.tasks.base import TaskType, arg


class Shell(TaskType):
    """`shell`: a command run on every run (a change), unless `creates`/`removes` say not

    Exactly one of `cmd` (shell text, run with `sh -c`; each `{{ value }}` lands as one
    quoted word, see [Quoting rules](#quoting-rules)) or `argv` (a list of words, no shell).
    Unlike `command`, no guard is required: without `creates` or `removes` the task is a
    change on every run, and `plan` says so (`runs on every run`). This is what Ansible's
    `command` and `shell` modules do; prefer a guarded `command` or a declarative type.

    `chdir` runs it in that directory; `stdin` is sent on its standard input (with a final
    line break unless `stdin_add_newline: false`).
    """

    type_name = "shell"

    @dataclass(kw_only=True)
    class Params:
        cmd: str | None = arg(None, doc="a shell string, run with `sh -c`")
        argv: Any = arg(None, doc="a list of words: one program and its arguments, no shell")
        creates: str | None = arg(None, doc="a path: skip the command if it exists")
        removes: str | None = arg(None, doc="a path: skip the command if it does not exist")
        chdir: str | None = arg(None, doc="the directory to run it in (an absolute path)")
        stdin: str | None = arg(None, doc="text sent on the command's standard input")
        stdin_add_newline: bool = arg(True, doc="end `stdin` with a line break")

    params: Params
    shell_args = ("cmd",)

    def describe(self) -> str:
        return f"run {self.params.cmd}"

    def validate(self) -> None:
        p = self.params
        if (p.cmd is None) == (p.argv is None):
            raise self.fail(
                "give exactly one of `cmd` (a shell string) or `argv` (a list of words)"
            )
        if p.argv is not None:
            try:
                p.cmd = shlex.join(argv_words(p.argv, "`argv`"))
            except ValueError as exc:
                raise self.fail(str(exc), arg="argv")
        assert p.cmd is not None
        if not p.cmd.strip():
            raise self.fail("`cmd` is empty", arg="cmd")
        if "\x00" in p.cmd:
            raise self.fail("`cmd` holds a NUL character", arg="cmd")
        if p.chdir is not None:
            problem = line_problem(p.chdir)
            if problem or not p.chdir.startswith("/"):
                detail = f": {problem}" if problem else ""
                raise self.fail(
                    f"`chdir` must be an absolute path on one line{detail}", arg="chdir"
                )

    def facts(self) -> list[Fact]:
        return [FileFact(p) for p in (self.params.creates, self.params.removes) if p]

    def script(self) -> str:
        p = self.params
        assert p.cmd is not None
        if p.chdir is None:
            return p.cmd
        return f"cd -- {shlex.quote(p.chdir)} && {{ {p.cmd}\n}}"

    def plan(self, state: HostState) -> Outcome:
        p = self.params
        if p.creates and state.get(FileFact(p.creates)).exists:
            return NoOp(f"{p.creates} exists")
        if p.removes and not state.get(FileFact(p.removes)).exists:
            return NoOp(f"{p.removes} does not exist")
        if p.creates:
            state.set(FileFact(p.creates), FileState(True, known=False))
        if p.removes:
            state.set(FileFact(p.removes), FileState(False))
        stdin = None
        if p.stdin is not None:
            stdin = (p.stdin + ("\n" if p.stdin_add_newline else "")).encode()
        guarded = p.creates or p.removes
        note = "" if guarded else " (runs on every run: no creates/removes)"
        return Change([f"run: {p.cmd}{note}"], [Command(self.script(), p.cmd or "", stdin=stdin)])
