"""What `template` and `copy` share: a whole file with mode, owner, format and backup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.kinds import FileFact
from provision.planning.model import HostState, Outcome
from provision.project.fileformats import FORMATS, format_of
from provision.project.paths import contained_file
from provision.tasks.base import Assertion, TaskType, arg
from provision.tasks.filesupport import plan_absent, plan_file

MAX_COPY_BYTES = 64 * 1024 * 1024  # a files/ source is read whole into memory


# The arguments template and copy share, each a fresh field for each Params.
def dest_arg() -> Any:
    return arg(doc="the file on the host")


def mode_arg() -> Any:
    return arg(None, doc="its mode (default: an existing file's own, else `0644`)")


def owner_arg() -> Any:
    return arg(None, doc="its owner (default: an existing file's own, else `root`)")


def group_arg() -> Any:
    return arg(None, doc="its group (default: an existing file's own, else `root`)")


def validate_arg() -> Any:
    return arg(
        None,
        choices=("json",),
        doc="`json`: the content must parse as JSON, checked before any host is touched",
    )


def backup_arg() -> Any:
    return arg(False, doc="keep the previous content as `DEST.TIMESTAMP.bak`")


def format_arg() -> Any:
    return arg(
        None,
        choices=FORMATS,
        doc="the file's format (default: from `dest`; see [File formats]"
        "(#file-formats-values-in-line-oriented-files))",
    )


class WholeFile(TaskType):
    content: bytes | None = None

    def describe(self) -> str:
        return f"{self.type_name} {self.params.dest}"

    @property
    def format(self) -> str:
        """The destination's format: the `format` argument, else inferred from `dest`."""
        return format_of(self.params.format, self.params.dest)

    def _check_content(self, text: str, origin: str) -> None:
        if self.params.validate == "json" or self.format == "json":
            try:
                json.loads(text)
            except RecursionError:
                raise InputError(
                    f"{self.type_name}: {origin} is nested too deeply to check as JSON",
                    self.context.location,
                )
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{self.type_name}: {origin} is not valid JSON: {exc.msg} "
                    f"(line {exc.lineno}, column {exc.colno})",
                    self.context.location,
                )

    def _role_file(self, folder: str) -> Path:
        """`src` under the role's `templates/` or `files/` (a play's own tasks: beside the
        playbook); it must stay inside the role's (the playbook's) folder."""
        if self.context.role_dir is None:
            root = Path(self.context.location.file).parent
            root_what = f"the playbook's folder {root}"
        else:
            root = self.context.role_dir
            root_what = f"the role folder {root}"
        what = {"templates/": "template", "files/": "file"}[folder]
        src, where = self.params.src, self.context.location
        candidate = contained_file(
            root / folder, src, root, f"{self.type_name}: `src`", where, root_what
        )
        if not candidate.is_file():
            raise self.fail(f"{what} not found: {candidate}")
        return candidate

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.dest)]

    def plan(self, state: HostState) -> Outcome:
        if getattr(self.params, "state", "present") == "absent":
            return plan_absent(state, self.params.dest, self.params.backup)
        assert self.content is not None
        return plan_file(
            state,
            self.params.dest,
            self.content,
            self.params.mode,
            self.params.owner,
            self.params.group,
            self.params.backup,
            self.context.secret,
        )

    def assertions(self) -> list[Assertion]:
        dest = self.params.dest
        if getattr(self.params, "state", "present") == "absent":
            return [Assertion("file", dest, {"exists": False}, f"{dest} is absent")]
        expect: dict[str, object] = {"exists": True}
        if not self.context.secret and self.content is not None:
            try:  # binary content (!!binary) is not compared as text
                expect["content"] = self.content.decode("utf-8")
            except UnicodeDecodeError:
                pass
        for key in ("mode", "owner", "group"):
            if getattr(self.params, key) is not None:
                expect[key] = getattr(self.params, key)
        return [Assertion("file", dest, expect, f"{dest} as declared")]
