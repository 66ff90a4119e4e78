"""`template` and `copy`: a whole file with mode and owner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.kinds import FileFact
from provision.planning.model import HostState, Outcome
from provision.project.fileformats import FORMATS, format_of, is_single_expression
from provision.project.paths import contained_file
from provision.project.templating import render_template_file
from provision.project.yamlfile import read_bytes, read_text, type_name
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import plan_absent, plan_file

MAX_COPY_BYTES = 64 * 1024 * 1024  # a files/ source is read whole into memory


# The arguments template and copy share, each a fresh field for each Params.
def _dest() -> Any:
    return arg(doc="the file on the host")


def _mode() -> Any:
    return arg(None, doc="its mode (default: an existing file's own, else `0644`)")


def _owner() -> Any:
    return arg(None, doc="its owner (default: an existing file's own, else `root`)")


def _group() -> Any:
    return arg(None, doc="its group (default: an existing file's own, else `root`)")


def _validate() -> Any:
    return arg(
        None,
        choices=("json",),
        doc="`json`: the content must parse as JSON, checked before any host is touched",
    )


def _backup() -> Any:
    return arg(False, doc="keep the previous content as `DEST.TIMESTAMP.bak`")


def _format() -> Any:
    return arg(
        None,
        choices=FORMATS,
        doc="the file's format (default: from `dest`; see [File formats]"
        "(#file-formats-values-in-line-oriented-files))",
    )


class _WholeFile(TaskType):
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


class Template(_WholeFile):
    """`template`: a whole file from `roles/NAME/templates/SRC`

    Rendered with Jinja2; every value is checked for the destination's format (see
    [File formats](#file-formats-values-in-line-oriented-files)). The file is written
    atomically, only when its content, mode or owner differ.
    """

    type_name = "template"

    @dataclass(kw_only=True)
    class Params:
        src: str = arg(doc="the template, under the role's `templates/`")
        dest: str = _dest()
        mode: Mode | None = _mode()
        owner: str | None = _owner()
        group: str | None = _group()
        validate: str | None = _validate()
        backup: bool = _backup()
        format: str | None = _format()

    params: Params

    def describe(self) -> str:
        return f"template {self.params.dest}"

    def validate(self) -> None:
        path = self._role_file("templates/")
        text = render_template_file(
            read_text(path, "template"), self.context.variables, str(path), fmt=self.format
        )
        self._check_content(text, f"rendered template {path.name}")
        self.content = text.encode()


class Copy(_WholeFile):
    """`copy`: a whole file from `content:` or `roles/NAME/files/SRC`

    As `template`, with `content` or `src` instead of a template; plus `state: absent` to
    remove the file. A `content` with `{{ }}` is checked for the destination's format like
    a template; a `content` that is exactly one `{{ expr }}` is the whole file and is taken
    as it is; a `src` file is copied byte for byte.
    """

    type_name = "copy"

    @dataclass(kw_only=True)
    class Params:
        dest: str = _dest()
        content: Any = arg(None, doc="the file's text (or bytes from YAML's `!!binary`)")
        src: str | None = arg(None, doc="a file under the role's `files/`, copied byte for byte")
        state: str = arg("present", choices=("present", "absent"), doc="whether the file exists")
        mode: Mode | None = _mode()
        owner: str | None = _owner()
        group: str | None = _group()
        validate: str | None = _validate()
        backup: bool = _backup()
        format: str | None = _format()

    params: Params

    def validate(self) -> None:
        if self.params.state == "absent":
            return
        if (self.params.content is None) == (self.params.src is None):
            raise self.fail("give exactly one of `content` or `src`")
        if self.params.src is not None:
            path = self._role_file("files/")
            self.content = read_bytes(path, "copy: source file", MAX_COPY_BYTES)
        else:
            content = self.params.content
            if isinstance(content, str):  # text is rendered for its format; !!binary is not
                content = self._render_content()
            self.content = _content_bytes(content, self)
        if self.params.validate or self.format == "json":
            self._check_content(self.content.decode("utf-8", errors="replace"), "content")

    def _render_content(self) -> str:
        """`content` rendered for the destination's format: each value checked (and escaped)
        where it lands. Content that is one `{{ expr }}` is the whole file, taken as rendered
        (JSON is still parsed); so is content without any `{{ }}`."""
        raw = self.context.raw_args.get("content")
        if self.format == "raw" or not isinstance(raw, str) or "{" not in raw:
            return self.params.content
        if is_single_expression(raw):
            return self.params.content
        text = render_template_file(
            raw,
            self.context.variables,
            self.context.location.file,
            what="copy.content",
            fmt=self.format,
            where=self.context.location,
        )
        self.params.content = text
        return text


def _content_bytes(value: object, task: Copy) -> bytes:
    """`content:` as the bytes to write: `!!binary` bytes as they are, text as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).encode()
    raise task.fail(
        f"argument `content` must be text or !!binary, found {type_name(value)}", arg="content"
    )
