"""A task run as a `become_user` (not root) that would set what only root (or the file's
owner) may set is refused at plan, with its file:line and what to write, instead of a
planned chown/chmod that fails at apply with "Operation not permitted". Table: task type,
arguments, the file as probed → refused (the words) or planned as before."""

from __future__ import annotations

from typing import Any

import pytest

from provision.errors import Location
from provision.facts.kinds import CommandResult, FileFact, FileState
from provision.planning.model import Change, Failed, HostState, NoOp
from provision.tasks.base import TaskContext, task_types
from provision.tasks.file import Tree, TreeFact, ids_fact
from provision.tasks.filesupport import as_user_problem

WHERE = Location("roles/app/tasks/main.yml", 12)


def make(type_name: str, user: str, **args: Any) -> Any:
    cls = task_types()[type_name]
    params = cls.coerce(cls.parse(args, WHERE), WHERE)
    return cls(params, TaskContext(WHERE, None, {}, become_user=user))


ROOT_FILE = FileState(True, "regular file", 0o644, "root", "root", b"same\n")
APP_FILE = FileState(True, "regular file", 0o644, "app", "app", b"same\n")
ROOT_DIR = FileState(True, "directory", 0o755, "root", "root")
APP_DIR = FileState(True, "directory", 0o755, "app", "app")
NO_FILE = FileState(False)

# (type, become_user, args, the path's state, refused: the words, or None: planned)
CASES = {
    "file mode, root's file": ("file", "app", {"mode": "0600"}, ROOT_FILE, "set the mode of /p"),
    "file symbolic mode": ("file", "app", {"mode": "go-r"}, ROOT_FILE, "set the mode of /p"),
    "file owner app on root's": ("file", "app", {"owner": "app"}, ROOT_FILE, "owner of /p to app"),
    "file group, root's file": ("file", "app", {"group": "app"}, ROOT_FILE, "set the group of"),
    "file owner other on app's": ("file", "app", {"owner": "bob"}, APP_FILE, "owner of /p to bob"),
    "file mode on app's own": ("file", "app", {"mode": "0600"}, APP_FILE, None),
    "file group on app's own": ("file", "app", {"group": "wheel"}, APP_FILE, None),
    "file as root": ("file", "root", {"mode": "0600", "owner": "bob"}, APP_FILE, None),
    "file nothing to change": ("file", "app", {"mode": "0644"}, ROOT_FILE, None),
    "file numeric owner: no guess": ("file", "app", {"owner": "1000"}, ROOT_FILE, None),
    "directory made for bob": (
        "file",
        "app",
        {"state": "directory", "owner": "bob"},
        NO_FILE,
        "owner of /p to bob (a new file, app's)",
    ),
    "directory made as app": ("file", "app", {"state": "directory", "mode": "0700"}, NO_FILE, None),
    "touch for bob": ("file", "app", {"state": "touch", "owner": "bob"}, NO_FILE, "to bob"),
    "copy same content, mode": (
        "copy",
        "app",
        {"content": "same\n", "mode": "0600"},
        ROOT_FILE,
        "set the mode of /p (owned by root)",
    ),
    "copy same content, owner": (
        "copy",
        "app",
        {"content": "same\n", "owner": "app"},
        ROOT_FILE,
        "owner of /p to app",
    ),
    "copy new content, owner root": (
        "copy",
        "app",
        {"content": "new\n", "owner": "root"},
        ROOT_FILE,
        "owner of /p to root",
    ),
    "copy new content, no owner": ("copy", "app", {"content": "new\n"}, ROOT_FILE, None),
    "copy new content, owner app": (
        "copy",
        "app",
        {"content": "new\n", "owner": "app"},
        ROOT_FILE,
        None,
    ),
    "copy new file": ("copy", "app", {"content": "new\n", "mode": "0600"}, NO_FILE, None),
    "copy new file for bob": ("copy", "app", {"content": "x", "owner": "bob"}, NO_FILE, "to bob"),
    "line, new file for root": (
        "line",
        "app",
        {"line": "more", "owner": "root"},
        NO_FILE,
        "owner of /p to root (a new file, app's)",
    ),
    # the native `line` sets owner only on a file it creates: an existing file is rewritten
    # as a new file of app's (allowed)
    "line, existing file": ("line", "app", {"line": "more", "owner": "root"}, ROOT_FILE, None),
    "line, as is": ("line", "app", {"line": "same"}, APP_FILE, None),
}


def path_arg(type_name: str) -> dict:
    return {"dest": "/p"} if type_name == "copy" else {"path": "/p"}


@pytest.mark.parametrize(
    ("type_name", "user", "args", "now", "words"), CASES.values(), ids=CASES.keys()
)
def test_become_user_ownership(
    type_name: str, user: str, args: dict, now: FileState, words: str | None
) -> None:
    task = make(type_name, user, **path_arg(type_name), **args)
    state = HostState({FileFact("/p"): now, ids_fact("/p"): CommandResult(0, "0:0", "")})
    outcome = task.plan(state)
    if words is None:
        assert isinstance(outcome, Change | NoOp), outcome
        return
    assert isinstance(outcome, Failed), outcome
    message = outcome.message
    assert message.startswith("roles/app/tasks/main.yml:12: ")
    assert f"the task runs as {user} (become_user)" in message
    assert words in message, message
    assert "Drop `become_user`" in message and "\n" not in message


def test_recurse_names_the_entry_it_cannot_change() -> None:
    task = make("file", "app", path="/p", state="directory", recurse=True, mode="0700")
    from provision.tasks.file import Entry

    tree = Tree(
        True,
        (
            Entry("f", 0o700, "1000", "app", "1000", "app", b"mine"),
            Entry("f", 0o644, "0", "root", "0", "root", b"a\nb"),
        ),
    )
    state = HostState(
        {FileFact("/p"): FileState(True, "directory", 0o700, "app", "app"), TreeFact("/p"): tree}
    )
    outcome = task.plan(state)
    assert isinstance(outcome, Failed), outcome
    assert "set the mode of /p/a\\nb (owned by root)" in outcome.message


@pytest.mark.parametrize(
    ("writer", "owner_now", "new_owner", "group", "mode", "refused"),
    [
        ("root", "bob", "alice", "g", True, False),
        ("app", "app", "app", "g", True, False),
        ("app", "app", "bob", None, False, True),
        ("app", "bob", "bob", None, True, True),
        ("app", "bob", "bob", "g", False, True),
        ("app", "bob", "bob", None, False, False),
        ("app", "1001", "1001", None, True, False),  # an id: never refused on a guess
        ("1000", "bob", "bob", None, True, False),
        ("app", "UNKNOWN", "UNKNOWN", None, True, True),  # an id without a name is not app's
    ],
)
def test_as_user_problem_table(
    writer: str, owner_now: str, new_owner: str, group: str | None, mode: bool, refused: bool
) -> None:
    problem = as_user_problem(writer, "/p", ROOT_FILE, owner_now, new_owner, group, mode)
    assert bool(problem) == refused, problem
