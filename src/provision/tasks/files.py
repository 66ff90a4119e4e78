"""`template` and `copy`: a whole file with mode and owner."""

from __future__ import annotations

import json
from pathlib import Path

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.kinds import FileFact
from provision.planning.model import HostState, Outcome
from provision.spec.templating import render_template_file
from provision.spec.yamlfile import read_bytes, read_text, type_name
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
)


class _WholeFile(TaskType):
    content: bytes | None = None

    def describe(self) -> str:
        return f"{self.type_name} {self.p['dest']}"

    def _check_content(self, text: str, origin: str) -> None:
        if self.p["validate"] == "json":
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
        src = self.p["src"]
        if self.context.role_dir is None:
            base = self.context.location.file
            candidate = Path(base).parent / folder / src
        else:
            candidate = self.context.role_dir / folder / src
        if not candidate.is_file():
            what = {"templates/": "template", "files/": "file"}[folder]
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
        text = render_template_file(read_text(path, "template"), self.context.variables, str(path))
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
            self.content = _content_bytes(self.p["content"], self)
        if self.p["validate"]:
            self._check_content(self.content.decode("utf-8", errors="replace"), "content")


def _content_bytes(value: object, task: Copy) -> bytes:
    """`content:` as the bytes to write: `!!binary` bytes as they are, text as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).encode()
    raise task.fail(f"argument `content` must be text or !!binary, found {type_name(value)}")
