"""`directory`: a directory with mode and owner."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.names import owner_problem


class Directory(TaskType):
    """`directory`: a directory with mode and owner

    Created with its parents (`mkdir -p`); `state: absent` removes it with everything in
    it, without crossing into another file system.
    """

    type_name = "directory"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the directory (an absolute path)")
        state: str = arg("present", choices=("present", "absent"), doc="whether it exists")
        mode: Mode = arg(Mode(0o755), doc="its mode")
        owner: str = arg("root", doc="its owner: a user name or a numeric id")
        group: str = arg("root", doc="its group: a group name or a numeric id")

    params: Params

    def validate(self) -> None:
        for key in ("owner", "group"):
            problem = owner_problem(getattr(self.params, key), key)
            if problem:
                raise self.fail(problem)

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.path)]

    def plan(self, state: HostState) -> Outcome:
        path, mode = self.params.path, self.params.mode
        owner_group = f"{self.params.owner}:{self.params.group}"
        q = shlex.quote(path)
        current: FileState = state.get(FileFact(path))
        if self.params.state == "absent":
            if not current.exists:
                return NoOp(f"{path} is absent")
            state.set(FileFact(path), FileState(False))
            return Change(
                [f"remove directory {path}"],
                [Command(f"rm -r --one-file-system -- {q}", f"rm -r {path}")],
            )
        wanted = FileState(True, "directory", mode, self.params.owner, self.params.group)
        if not current.exists:
            state.set(FileFact(path), wanted)
            script = (
                f"mkdir -p -m {mode:04o} -- {q} && chown -- {shlex.quote(owner_group)} {q}"
                f" && chmod -- {mode:04o} {q}"
            )
            return Change(
                [f"create directory {path} ({mode:04o} {owner_group})"], [Command(script, script)]
            )
        if current.kind != "directory":
            return Failed(f"{path} exists and is a {current.kind}, not a directory")
        commands, notes = [], []
        if (current.owner, current.group) != (self.params.owner, self.params.group):
            commands.append(Command(f"chown -- {shlex.quote(owner_group)} {q}", f"chown {path}"))
            notes.append(f"owner {path}: {current.owner}:{current.group} → {owner_group}")
        if current.mode != mode:
            commands.append(Command(f"chmod -- {mode:04o} {q}", f"chmod {path}"))
            notes.append(f"mode {path}: {current.mode:04o} → {mode:04o}")
        if not commands:
            return NoOp(f"{path} is a directory, {mode:04o} {owner_group}")
        state.set(FileFact(path), wanted)
        return Change(notes, commands)

    def assertions(self) -> list[Assertion]:
        path = self.params.path
        if self.params.state == "absent":
            return [Assertion("file", path, {"exists": False}, f"{path} is absent")]
        expect = {
            "is_directory": True,
            "mode": self.params.mode,
            "owner": self.params.owner,
            "group": self.params.group,
        }
        return [Assertion("file", path, expect, f"directory {path}")]
