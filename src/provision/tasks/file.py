"""`file`: an existing file's mode and owner, an empty file made when missing, a symlink."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, FileFact, FileState
from provision.planning.model import Change, Command, Failed, HostState, NoOp, Outcome
from provision.project.fileformats import line_problem
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import DEFAULT_FILE_MODE


def link_fact(path: str) -> CommandFact:
    """`L:TARGET` for a symlink, `E` for anything else that exists, `A` for nothing."""
    p = shlex.quote(path)
    return CommandFact(
        f"if [ -L {p} ]; then printf 'L:'; readlink -- {p}; elif [ -e {p} ]; then echo E;"
        " else echo A; fi"
    )


class File(TaskType):
    """`file`: a file's or directory's mode and owner, an empty file, or a symbolic link

    `state: file` (the default) sets the mode, owner and group given on a file that must
    exist (it is never created). `state: touch` creates an empty file when it is missing
    (0644 root:root unless given) and otherwise only sets what is given (times are not
    touched, so a second run changes nothing). `state: link` makes `path` a symbolic link
    to `src`; a link to another target is replaced, anything else at `path` fails the
    task. `state: directory` creates a missing directory with its parents (0755 root:root
    unless given) and sets only what is given on an existing one, as Ansible's `file`
    does (the `directory` type sets its defaults too). Removal: the `directory` type.
    """

    type_name = "file"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the file (an absolute path)")
        state: str = arg(
            "file", choices=("file", "directory", "touch", "link"), doc="what `path` must be"
        )
        src: str | None = arg(None, doc="the link's target (`state: link`), as written")
        mode: Mode | None = arg(None, doc="its mode (not for links)")
        owner: str | None = arg(None, doc="its owner (not for links)")
        group: str | None = arg(None, doc="its group (not for links)")

    params: Params

    def describe(self) -> str:
        return f"{self.params.state} {self.params.path}"

    def validate(self) -> None:
        p = self.params
        if p.state == "link":
            if p.src is None:
                raise self.fail("`state: link` needs `src` (the link's target)")
            problem = line_problem(p.src)
            if problem or not p.src or p.src.startswith("-"):
                raise self.fail(
                    f"`src` must be a path on one line, not starting with '-' {problem or ''}",
                    arg="src",
                )
            given = [k for k in ("mode", "owner", "group") if getattr(p, k) is not None]
            if given:
                raise self.fail(f"`{given[0]}` is not supported with `state: link`")
        elif p.src is not None:
            raise self.fail("`src` goes with `state: link`", arg="src")

    def facts(self) -> list[Fact]:
        if self.params.state == "link":
            return [link_fact(self.params.path)]
        return [FileFact(self.params.path)]

    def plan(self, state: HostState) -> Outcome:
        if self.params.state == "link":
            return self._plan_link(state)
        p = self.params
        fact = FileFact(p.path)
        current: FileState = state.get(fact)
        q = shlex.quote(p.path)
        if not current.exists and p.state == "directory":
            mode = p.mode if p.mode is not None else 0o755
            owner_group = f"{p.owner or 'root'}:{p.group or 'root'}"
            script = (
                f"mkdir -p -m {mode:04o} -- {q} && chown -- {shlex.quote(owner_group)} {q}"
                f" && chmod -- {mode:04o} {q}"
            )
            state.set(
                fact, FileState(True, "directory", mode, p.owner or "root", p.group or "root")
            )
            return Change(
                [f"create directory {p.path} ({mode:04o} {owner_group})"], [Command(script, script)]
            )
        if current.exists and (p.state == "directory") != (current.kind == "directory"):
            wanted = "directory" if p.state == "directory" else "file"
            return Failed(f"{p.path} exists and is a {current.kind}, not a {wanted}")
        if not current.exists:
            if p.state == "file":
                return Failed(f"{p.path} does not exist (state: file never creates it)")
            mode = p.mode if p.mode is not None else DEFAULT_FILE_MODE
            owner_group = f"{p.owner or 'root'}:{p.group or 'root'}"
            script = (
                f"set -e; umask 077; : >> {q}; chown -- {shlex.quote(owner_group)} {q};"
                f" chmod -- {mode:04o} {q}"
            )
            state.set(
                fact,
                FileState(True, "regular file", mode, p.owner or "root", p.group or "root", b""),
            )
            return Change(
                [f"create empty {p.path} ({mode:04o} {owner_group})"],
                [Command(script, f"touch {p.path}")],
            )
        commands, notes = [], []
        owner = p.owner or current.owner
        group = p.group or current.group
        if (owner, group) != (current.owner, current.group):
            commands.append(
                Command(f"chown -- {shlex.quote(f'{owner}:{group}')} {q}", f"chown {p.path}")
            )
            notes.append(f"owner {p.path}: {current.owner}:{current.group} → {owner}:{group}")
        if p.mode is not None and p.mode != current.mode:
            commands.append(Command(f"chmod -- {p.mode:04o} {q}", f"chmod {p.path}"))
            notes.append(f"mode {p.path}: {current.mode:04o} → {p.mode:04o}")
        if not commands:
            return NoOp(f"{p.path} exists as wanted")
        mode = p.mode if p.mode is not None else current.mode
        state.set(
            fact,
            FileState(
                True,
                current.kind,
                mode,
                owner,
                group,
                current.content,
                current.known,
                current.sha256,
            ),
        )
        return Change(notes, commands)

    def _plan_link(self, state: HostState) -> Outcome:
        p = self.params
        assert p.src is not None
        fact = link_fact(p.path)
        answer = state.get(fact).stdout
        if answer == f"L:{p.src}":
            return NoOp(f"{p.path} links to {p.src}")
        if answer == "E":
            return Failed(f"{p.path} exists and is not a symbolic link")
        if answer != "A" and not answer.startswith("L:"):
            return Failed(f"unexpected answer about {p.path}: {answer!r}")
        before = answer[2:] if answer.startswith("L:") else "(none)"
        script = f"ln -sfn -- {shlex.quote(p.src)} {shlex.quote(p.path)}"
        state.set(fact, type(state.get(fact))(0, f"L:{p.src}", ""))
        return Change([f"link {p.path} → {p.src} (was {before})"], [Command(script, script)])

    def assertions(self) -> list[Assertion]:
        p = self.params
        if p.state == "link":
            return []
        expect: dict = {}
        if p.mode is not None:
            expect["mode"] = p.mode
        for key in ("owner", "group"):
            if getattr(p, key) is not None:
                expect[key] = getattr(p, key)
        return [Assertion("file", p.path, expect, f"file {p.path}")]
