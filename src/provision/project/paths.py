"""Paths a project names stay inside the project: role names, role files and `src:`.

A role is found by its folder name under a `roles/` folder; the folder it resolves to
(symlinks followed) must lie inside that `roles/` folder. Every file a role holds
(tasks, handlers, defaults, meta, vars, templates, files, tests) must resolve inside the
role's own folder, and a task's `src:` inside its role (or, for a play's own tasks,
inside the playbook's folder). A symlink inside the role that points inside the role is
fine; one that points outside, or a symlink loop, is an input error naming the path.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.yamlfile import type_name

MAX_ROLE_NAME = 100
ROLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
MAX_SRC = 1024
MAX_SHOWN = 80


def shown(text: str) -> str:
    """`text` quoted for a message: control characters escaped, long values cut."""
    if len(text) > MAX_SHOWN:
        return repr(text[:MAX_SHOWN]) + f" (cut, {len(text)} characters)"
    return repr(text)


def role_name(name: Any, where: Location | None) -> str:
    """A role name as written in a play or in `dependencies:`: one plain folder name."""
    if not isinstance(name, str):
        raise InputError(f"a role name must be a string, found {type_name(name)}", where)
    problem = ""
    if not name:
        problem = "is empty"
    elif len(name) > MAX_ROLE_NAME:
        problem = f"is longer than {MAX_ROLE_NAME} characters"
    elif "/" in name or "\\" in name or name.startswith((".", "~")):
        problem = "is a path, not a folder name"
    elif not ROLE_NAME.match(name):
        problem = "has characters other than letters, digits, `_`, `.` and `-`"
    if problem:
        raise InputError(
            f"role name {shown(name)} {problem}",
            where,
            hint="a role is named by its folder under roles/ "
            "(letters, digits, `_`, `.`, `-`; no `/`, no leading `.` or `-`)",
        )
    return name


def resolve(path: Path, where: Location | None) -> Path:
    """`path` with every symlink followed; a symlink loop is an input error."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"symlink loop at {path}", where) from None
    except ValueError:  # a NUL byte
        raise InputError(f"path {shown(str(path))} holds a NUL byte", where) from None
    return Path(os.path.realpath(path))  # missing: resolved as far as it exists


def is_inside(path: Path, root: Path) -> bool:
    """Both already resolved."""
    return path == root or root in path.parents


def find_in(folder: Path, name: str, where: Location | None) -> Path | None:
    """`folder/name` when it exists and resolves inside `folder`; None when it is missing."""
    candidate = folder / name
    if not os.path.lexists(candidate):
        return None
    real = resolve(candidate, where)
    root = resolve(folder, where)
    if not is_inside(real, root) or real == root:
        raise InputError(
            f"role {name!r}: {candidate} leads to {real}, outside the roles folder {folder}",
            where,
            hint="a role's folder (or a symlink to it) must stay inside its roles/ folder",
        )
    return candidate


def check_tree(root: Path, what: str, where: Location | None) -> None:
    """Every symlink under `root` must resolve inside `root` (loops are errors too)."""
    real_root = resolve(root, where)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InputError(f"cannot read {folder}: {exc.strerror}", where) from None
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_symlink():
                real = resolve(path, where)
                if not is_inside(real, real_root):
                    raise InputError(
                        f"{path} is a symlink to {real}, outside the {what} folder {root}",
                        where,
                        hint=f"a {what} may only link to files inside its own folder",
                    )
            elif entry.is_dir(follow_symlinks=False):
                stack.append(path)


def contained_file(
    base: Path, relative: str, root: Path, what: str, where: Location | None, root_what: str = ""
) -> Path:
    """`base/relative`, refused when it is absolute or resolves outside `root` (called
    `root_what` in messages, e.g. "the role folder roles/r").

    The path returned is the one written (for messages); it is known to resolve inside
    `root`.
    """
    if "\0" in relative:
        raise InputError(f"{what} {shown(relative)} holds a NUL byte", where)
    if len(relative) > MAX_SRC:
        raise InputError(f"{what} is longer than {MAX_SRC} characters", where)
    if not relative or relative.startswith("/"):
        raise InputError(
            f"{what} {shown(relative)} must be a relative path inside {base}",
            where,
        )
    root_what = root_what or str(root)
    candidate = base / relative
    real = resolve(candidate, where)
    real_root = resolve(root, where)
    if not is_inside(real, real_root):
        raise InputError(
            f"{what} {shown(relative)} leads to {real}, outside {root_what}",
            where,
            hint=f"{what} must stay inside {root_what} (no `..` or symlink leading out)",
        )
    return candidate
