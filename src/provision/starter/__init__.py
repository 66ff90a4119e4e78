"""`provision init DIR`: a starter project that uses the roles shipped with provision.

The files are under `files/` beside this module, laid out as they are written (a leading
`dot-` stands for `.`). Nothing is written until every check passed: DIR is a usable
folder name, no starter file is in the way (unless `force`), no folder on the way is a
file. A forced overwrite replaces the file itself (a symlink is replaced, never followed).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from provision.errors import InputError

FILES = (
    "inventories/hosts.yml",
    "inventories/group_vars/all.yml",
    "playbooks/site.yml",
    "roles/README.md",
    ".gitignore",
)
MAX_PATH = 4096
# control characters, line and paragraph separators, invisible format characters
# (bidi overrides, zero-width), and undecodable bytes (surrogates from the command line)
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@dataclass(frozen=True)
class Written:
    path: Path
    replaced: bool


def starter_text(name: str) -> bytes:
    """The content of starter file `name` (one of FILES)."""
    parts = name.split("/")
    parts[-1] = "dot-" + parts[-1][1:] if parts[-1].startswith(".") else parts[-1]
    return resources.files(__name__).joinpath("files", *parts).read_bytes()


def check_directory(text: str) -> Path:
    """DIR as typed: refused when it is empty, huge, starts with `-` or holds characters
    that do not show (control, line breaks, bidi or zero-width marks, undecodable bytes)."""
    problem = ""
    if not text:
        problem = "is empty"
    elif len(text) > MAX_PATH:
        problem = f"is longer than {MAX_PATH} characters"
    else:
        for index, char in enumerate(text):
            if unicodedata.category(char) in REFUSED_CATEGORIES:
                problem = f"holds the character U+{ord(char):04X} at position {index + 1}"
                break
    if not problem and text.startswith("-"):
        problem = "starts with `-`: later commands would read it as an option (write ./-...)"
    if problem:
        shown = repr(text) if len(text) <= 80 else repr(text[:80]) + f" (cut, {len(text)} chars)"
        raise InputError(
            f"project folder {shown} {problem}",
            hint="`provision init DIR` wants a plain folder name or path",
        )
    return Path(text)


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "a symlink" + ("" if path.exists() else " to nothing")
    return "a folder" if path.is_dir() else "a file" if path.is_file() else "not a regular file"


def _check_tree(directory: Path, force: bool) -> list[Path]:
    """Raise InputError unless every starter file can be written; the files in the way."""
    if os.path.lexists(directory) and not directory.is_dir():
        raise InputError(f"{directory} is {_kind(directory)}, not a folder")
    in_the_way: list[Path] = []
    for name in FILES:
        target = directory / name
        for parent in reversed(target.relative_to(directory).parents[:-1]):
            folder = directory / parent
            if os.path.lexists(folder) and not folder.is_dir():
                raise InputError(
                    f"{folder} is {_kind(folder)}: the starter project needs a folder there"
                )
        if not os.path.lexists(target):
            continue
        if target.is_dir() and not target.is_symlink():
            raise InputError(f"{target} is a folder: the starter project writes a file there")
        in_the_way.append(target)
    if in_the_way and not force:
        listed = ", ".join(str(p) for p in in_the_way)
        raise InputError(
            f"{len(in_the_way)} starter file(s) exist already: {listed}",
            hint="nothing was written; `provision init --force DIR` overwrites them",
        )
    return in_the_way


def _write_new(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.provision-init.tmp")
    if os.path.lexists(temporary):
        os.unlink(temporary)
    _write_new(temporary, data)
    os.replace(temporary, path)


def write_starter(directory: Path, force: bool = False) -> list[Written]:
    """Write the starter project into `directory` (created if missing)."""
    in_the_way = set(_check_tree(directory, force))
    contents = {name: starter_text(name) for name in FILES}
    written: list[Written] = []
    for name in FILES:
        target = directory / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target in in_the_way:
                _replace(target, contents[name])
            else:
                _write_new(target, contents[name])
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror or exc}")
        written.append(Written(target, target in in_the_way))
    return written
