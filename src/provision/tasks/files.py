"""`template` and `copy`: a whole file with mode and owner."""

from __future__ import annotations

import json
from pathlib import Path

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.kinds import FileFact
from provision.planning.model import HostState, Outcome
from provision.project.fileformats import FORMATS, format_of, is_single_expression
from provision.project.paths import contained_file
from provision.project.templating import render_template_file
from provision.project.yamlfile import read_bytes, read_text, type_name
from provision.tasks.base import Arg, Assertion, TaskType, register
from provision.tasks.filesupport import plan_absent, plan_file

MAX_COPY_BYTES = 64 * 1024 * 1024  # a files/ source is read whole into memory

_COMMON = (
    Arg("dest", "str"),
    Arg("mode", "mode", None),
    Arg("owner", "str", None),
    Arg("group", "str", None),
    Arg("validate", "str", None, ("json",)),
    Arg("backup", "bool", False),
    Arg("format", "str", None, FORMATS),
)


class _WholeFile(TaskType):
    content: bytes | None = None

    def describe(self) -> str:
        return f"{self.type_name} {self.p['dest']}"

    @property
    def format(self) -> str:
        """The destination's format: the `format` argument, else inferred from `dest`."""
        return format_of(self.p["format"], self.p["dest"])

    def _check_content(self, text: str, origin: str) -> None:
        if self.p["validate"] == "json" or self.format == "json":
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
        src, where = self.p["src"], self.context.location
        candidate = contained_file(
            root / folder, src, root, f"{self.type_name}: `src`", where, root_what
        )
        if not candidate.is_file():
            raise self.fail(f"{what} not found: {candidate}")
        return candidate

    def facts(self) -> list[Fact]:
        return [FileFact(self.p["dest"])]

    def plan(self, state: HostState) -> Outcome:
        if self.p.get("state") == "absent":
            return plan_absent(state, self.p["dest"], self.p["backup"])
        assert self.content is not None
        return plan_file(
            state,
            self.p["dest"],
            self.content,
            self.p["mode"],
            self.p["owner"],
            self.p["group"],
            self.p["backup"],
            self.context.secret,
        )

    def assertions(self) -> list[Assertion]:
        dest = self.p["dest"]
        if self.p.get("state") == "absent":
            return [Assertion("file", dest, {"exists": False}, f"{dest} is absent")]
        expect: dict[str, object] = {"exists": True}
        if not self.context.secret and self.content is not None:
            try:  # binary content (!!binary) is not compared as text
                expect["content"] = self.content.decode("utf-8")
            except UnicodeDecodeError:
                pass
        for key in ("mode", "owner", "group"):
            if self.p[key] is not None:
                expect[key] = self.p[key]
        return [Assertion("file", dest, expect, f"{dest} as declared")]


@register
class Template(_WholeFile):
    type_name = "template"
    args = (Arg("src", "str"), *_COMMON)

    def describe(self) -> str:
        return f"template {self.p['dest']}"

    def validate(self) -> None:
        path = self._role_file("templates/")
        text = render_template_file(
            read_text(path, "template"), self.context.variables, str(path), fmt=self.format
        )
        self._check_content(text, f"rendered template {path.name}")
        self.content = text.encode()


@register
class Copy(_WholeFile):
    type_name = "copy"
    args = (
        Arg("dest", "str"),
        Arg("content", "any", None),  # text, or bytes from YAML's !!binary
        Arg("src", "str", None),
        Arg("state", "str", "present", ("present", "absent")),
        *_COMMON[1:],
    )

    def validate(self) -> None:
        if self.p["state"] == "absent":
            return
        if (self.p["content"] is None) == (self.p["src"] is None):
            raise self.fail("give exactly one of `content` or `src`")
        if self.p["src"] is not None:
            path = self._role_file("files/")
            self.content = read_bytes(path, "copy: source file", MAX_COPY_BYTES)
        else:
            content = self.p["content"]
            if isinstance(content, str):  # text is rendered for its format; !!binary is not
                content = self._render_content()
            self.content = _content_bytes(content, self)
        if self.p["validate"] or self.format == "json":
            self._check_content(self.content.decode("utf-8", errors="replace"), "content")

    def _render_content(self) -> str:
        """`content` rendered for the destination's format: each value checked (and escaped)
        where it lands. Content that is one `{{ expr }}` is the whole file, taken as rendered
        (JSON is still parsed); so is content without any `{{ }}`."""
        raw = self.context.raw_args.get("content")
        if self.format == "raw" or not isinstance(raw, str) or "{" not in raw:
            return self.p["content"]
        if is_single_expression(raw):
            return self.p["content"]
        text = render_template_file(
            raw,
            self.context.variables,
            self.context.location.file,
            what="copy.content",
            fmt=self.format,
            where=self.context.location,
        )
        self.p["content"] = text
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
