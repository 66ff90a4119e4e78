"""One generated part of a tracked document: the text between two marker lines is made
from code (task types, Ansible modules, audit checks), and a unit test fails when the
committed file differs. Each generator module gives its markers and its body; this module
splices them and gives each the same `--write` / `--check` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def splice(text: str, begin: str, end: str, body: str, doc: Path) -> str:
    """`text` with what lies between the markers `begin` and `end` replaced by `body`."""
    start, stop = text.find(begin), text.find(end)
    if start == -1 or stop < start:
        raise ValueError(f"{doc} has no generated part: put {begin!r} and {end!r} around it")
    return text[: start + len(begin)] + "\n\n" + body + "\n\n" + text[stop:]


def main(
    argv: list[str] | None, prog: str, doc: Path, command: str, render: Callable[[str], str]
) -> int:
    """`python -m PROG [PATH] [--write | --check]`: print the fresh document, rewrite it in
    place, or exit 1 (saying `command`) when the file is stale."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    parser.add_argument("path", nargs="?", type=Path, default=doc)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the file in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    options = parser.parse_args(argv)
    text = options.path.read_bytes().decode("utf-8")
    fresh = render(text)
    if options.write:
        if fresh != text:
            options.path.write_bytes(fresh.encode("utf-8"))
        return 0
    if options.check:
        if fresh != text:
            print(f"{options.path} is stale: run {command}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(fresh)
    return 0
