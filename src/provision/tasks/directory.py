"""`directory`: a directory with mode and owner."""

from __future__ import annotations

import shlex

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Arg, Assertion, TaskType, register
from provision.tasks.names import owner_problem


@register
class Directory(TaskType):
    type_name = "directory"
    args = (
        Arg("path", "str"),
        Arg("state", "str", "present", ("present", "absent")),
        Arg("mode", "mode", 0o755),
        Arg("owner", "str", "root"),
        Arg("group", "str", "root"),
    )

    def validate(self) -> None:
        for key in ("owner", "group"):
            problem = owner_problem(self.p[key], key)
            if problem:
                raise self.fail(problem)

    def facts(self) -> list[Fact]:
        return [FileFact(self.p["path"])]

    def plan(self, state: HostState) -> Outcome:
        path, mode = self.p["path"], self.p["mode"]
        owner_group = f"{self.p['owner']}:{self.p['group']}"
        q = shlex.quote(path)
        current: FileState = state.get(FileFact(path))
        if self.p["state"] == "absent":
            if not current.exists:
                return NoOp(f"{path} is absent")
            state.set(FileFact(path), FileState(False))
            return Change(
                [f"remove directory {path}"],
                [Command(f"rm -r --one-file-system -- {q}", f"rm -r {path}")],
            )
        wanted = FileState(True, "directory", mode, self.p["owner"], self.p["group"])
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
        if (current.owner, current.group) != (self.p["owner"], self.p["group"]):
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
        path = self.p["path"]
        if self.p["state"] == "absent":
            return [Assertion("file", path, {"exists": False}, f"{path} is absent")]
        expect = {
            "is_directory": True,
            "mode": self.p["mode"],
            "owner": self.p["owner"],
            "group": self.p["group"],
        }
        return [Assertion("file", path, expect, f"directory {path}")]
