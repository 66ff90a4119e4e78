"""Planning a whole file: shared by template, copy, line, repo and sysctl."""

from __future__ import annotations

import re
import shlex
from typing import Any

from provision.facts.kinds import FileFact, FileState
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Diff,
    Failed,
    HostState,
    NoOp,
    Outcome,
    remove_file,
    write_file,
)
from provision.tasks.base import verifies
from provision.tasks.names import owner_problem

DEFAULT_FILE_MODE = 0o644


def as_text(content: bytes | None) -> str:
    return (content or b"").decode("utf-8", errors="replace")


def plan_file(
    state: HostState,
    path: str,
    content: bytes,
    mode: int | None = None,
    owner: str | None = None,
    group: str | None = None,
    backup: bool = False,
    secret: bool = False,
    summary: str | None = None,
    writer: str = "root",
    where: str = "",
) -> Outcome:
    """Write `content` to `path` if it differs; mode/owner given or kept from the old file.

    `writer`: who the commands run as (a task's `become_user`). Written by another user
    than root, the new content is that user's file unless `owner`/`group` say otherwise
    (as Ansible, whose chown back to the old owner fails for them and is let go): it is
    made by that user, in their login group (`chown USER:`). A change only root may make
    as that user (another owner; the mode or group of a file another user owns) is refused
    at plan (`as_user_problem`), `where` (the task's file:line) first."""
    fact = FileFact(path)
    current: FileState = state.get(fact)
    if current.exists and not current.known:
        return Deferred(f"write {path} (its current content comes from an earlier step)", [fact])
    if current.exists and not current.kind.startswith("regular"):
        return Failed(f"{path} exists and is a {current.kind}, not a regular file")
    want_mode = (
        mode if mode is not None else (current.mode if current.exists else DEFAULT_FILE_MODE)
    )
    want_owner = owner or (current.owner if current.exists else "root")
    want_group = group or (current.group if current.exists else "root")
    login_group = False
    if writer != "root" and (not current.exists or not current.same_content(content)):
        want_owner = owner or writer
        login_group = group is None  # `chown USER:` gives the user's login group
        want_group = group or writer
    for value, what in ((owner, "owner"), (group, "group")):  # the task types check first;
        problem = owner_problem(value, what) if value is not None else ""  # never a chown option
        if problem:
            return Failed(problem)
    new_state = FileState(True, "regular file", want_mode, want_owner, want_group, content)
    if not current.exists or not current.same_content(content):
        # a new file of the writer's own: only giving it to another user needs root
        problem = as_user_problem(writer, path, current, writer, want_owner, None, False, where)
        if problem:
            return Failed(problem)
        state.set(fact, new_state)
        verb = "create" if not current.exists else "update"
        before = as_text(current.content) if current.exists else ""
        return Change(
            [summary or f"{verb} {path}"],
            [
                write_file(
                    path, content, want_mode, want_owner, "" if login_group else want_group, backup
                )
            ],
            [Diff(path, before, as_text(content), secret)],
        )
    commands: list[Command] = []
    notes: list[str] = []
    if (current.owner, current.group) != (want_owner, want_group):
        owner_group = f"{want_owner}:{want_group}"
        commands.append(
            Command(f"chown -- {shlex.quote(owner_group)} {shlex.quote(path)}", f"chown {path}")
        )
        notes.append(f"owner {path}: {current.owner}:{current.group} → {owner_group}")
    if current.mode != want_mode:
        commands.append(
            Command(
                f"chmod -- {want_mode:04o} {shlex.quote(path)}", f"chmod {want_mode:04o} {path}"
            )
        )
        notes.append(f"mode {path}: {current.mode:04o} → {want_mode:04o}")
    if commands:
        problem = as_user_problem(
            writer,
            path,
            current,
            current.owner,
            want_owner,
            want_group if want_group != current.group else None,
            current.mode != want_mode,
            where,
        )
        if problem:
            return Failed(problem)
        state.set(fact, new_state)
        return Change(notes, commands)
    return NoOp(f"{path} is up to date")


def _same_user(a: str, b: str) -> bool:
    """Whether two owners are one user, as far as names tell (an id is never taken as
    another user: nothing is refused on a guess)."""
    return a == b or a.isdigit() or b.isdigit()


def as_user_problem(
    writer: str,
    path: str,
    current: FileState | None,
    owner_now: str,
    new_owner: str,
    new_group: str | None,
    mode_changes: bool,
    where: str = "",
) -> str:
    """'' unless the task's user (`writer`, its `become_user`) may not make the change: on
    a path owned by `owner_now` (the writer's own new file, or the existing one), set the
    owner `new_owner`, the group `new_group` (None: unchanged) and the mode. Only root may
    give a file to another user; only root or the file's owner may change its mode or group
    (a group the owner is not in fails at apply: group membership is not probed)."""
    if writer == "root":
        return ""
    what, target = "", ""
    if not _same_user(new_owner, owner_now):
        what, target = "owner", f" to {new_owner}"
    elif not _same_user(owner_now, writer) and new_group is not None:
        what = "group"
    elif not _same_user(owner_now, writer) and mode_changes:
        what = "mode"
    if not what:
        return ""
    if current is not None and current.exists:
        now = f" (owned by {current.owner})"
    else:
        now = f" (a new file, {writer}'s)"
    who = "only root can" if what == "owner" else "only root or the file's owner can"
    return (
        f"{where + ': ' if where else ''}the task runs as {writer} (become_user), who cannot"
        f" set the {what} of {path}{target}{now}: {who}. Drop `become_user` on this task (it"
        f" then runs as root; `owner: {writer}` makes the file {writer}'s), or drop `{what}`"
    )


def plan_absent(state: HostState, path: str, backup: bool = False) -> Outcome:
    fact = FileFact(path)
    current: FileState = state.get(fact)
    if not current.exists:
        return NoOp(f"{path} is absent")
    state.set(fact, FileState(False))
    before = as_text(current.content) if current.known else "(unknown content)"
    return Change([f"remove {path}"], [remove_file(path, backup)], [Diff(path, before, "")])


@verifies("file")
def check_file(host: Any, path: str, expect: dict) -> str | None:
    """A file or directory as declared (directory, template, copy, repo)."""
    file = host.file(path)
    if not expect.get("exists", True):
        return f"{path} exists" if file.exists else None
    if not file.exists:
        return f"{path} does not exist"
    if expect.get("is_directory") and not file.is_directory:
        return f"{path} is not a directory"
    if "mode" in expect and file.mode != expect["mode"]:
        return f"{path} has mode {file.mode:04o}, expected {expect['mode']:04o}"
    if "mode_spec" in expect:  # symbolic: as wanted when applying it changes nothing
        want = symbolic_mode(expect["mode_spec"], file.mode, file.is_directory)
        if want != file.mode:
            return f"{path} has mode {file.mode:04o}, expected {want:04o} ({expect['mode_spec']})"
    for key, name, number in (("owner", "user", "uid"), ("group", "group", "gid")):
        if key not in expect:
            continue
        want = str(expect[key])
        # a numeric owner or group is the id (as chown reads it), not a name
        have = str(getattr(file, number)) if want.isdigit() else getattr(file, name)
        if have != want and not (want.isdigit() and int(have) == int(want)):
            return f"{path} {key} is not {want} (it is {have})"
    if "content" in expect and file.content_string != expect["content"]:
        return f"{path} content differs from the declared content"
    if "contains" in expect and expect["contains"] not in file.content_string:
        return f"{path} does not contain {expect['contains']!r}"
    return None


_WHO = {"u": (0o4700, 6), "g": (0o2070, 3), "o": (0o1007, 0)}  # `=` mask, shift of rwx
_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=][rwxXstugo]*)+)")


def mode_spec_problem(spec: str) -> str:
    """'' when `spec` is a symbolic mode this tool applies as Ansible does (`u=rwX,g=rX`,
    `a+x`, `go-w`, `u=g`), else what is wrong. A clause without who (`+x`) is refused:
    Ansible applies the host's umask to it, which the plan cannot know."""
    if not spec:
        return "is empty"
    for clause in spec.split(","):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            return (
                f"has a clause {clause!r} that is not WHO[+-=]PERMS (WHO: u g o a; PERMS:"
                " r w x X s t, or one of u g o)"
            )
        if "a" in match.group(1) and match.group(1) != "a":
            return f"has a clause {clause!r} that mixes `a` with u, g or o"
        if not match.group(1):
            return (
                f"has a clause {clause!r} without u, g, o or a: Ansible would apply the"
                " host's umask to it; write the users (`a+x`, `u+x`)"
            )
    return ""


def symbolic_mode(spec: str, current: int, is_dir: bool) -> int:
    """The mode `spec` (checked by `mode_spec_problem`) makes of a file whose mode is
    `current` (a directory when `is_dir`): chmod's symbolic modes as Ansible computes them
    (`X` is x when the entry is a directory or, as the clauses so far leave it, has an x
    bit for someone). Pure."""
    mode = current & 0o7777
    for clause in spec.split(","):
        match = _CLAUSE.fullmatch(clause)
        assert match is not None, clause
        users = match.group(1).replace("a", "ugo") or "ugo"
        for op_perms in re.findall(r"[-+=][rwxXstugo]*", match.group(2)):
            op, perms = op_perms[0], op_perms[1:]
            for user in users:
                mask, shift = _WHO[user]
                apply = 0
                for perm in perms:
                    apply |= _perm_bits(perm, user, shift, mode, is_dir)
                if op == "=":
                    mode = (mode & ~mask & 0o7777) | apply
                elif op == "+":
                    mode |= apply
                else:
                    mode &= ~apply & 0o7777
    return mode


def _perm_bits(perm: str, user: str, shift: int, mode: int, is_dir: bool) -> int:
    if perm in "rwx":
        return {"r": 4, "w": 2, "x": 1}[perm] << shift
    if perm == "X":
        return (1 << shift) if is_dir or mode & 0o111 else 0
    if perm == "s":
        return {"u": 0o4000, "g": 0o2000, "o": 0}[user]
    if perm == "t":
        return 0o1000 if user == "o" else 0
    source = {"u": 6, "g": 3, "o": 0}[perm]  # copy another class's rwx
    return ((mode >> source) & 0o7) << shift


def wanted_mode(mode: int | str | None, current: int, is_dir: bool) -> int | None:
    """An octal mode as is, a symbolic one applied to `current`, None: no mode given."""
    if mode is None or isinstance(mode, int):
        return mode
    return symbolic_mode(mode, current, is_dir)
