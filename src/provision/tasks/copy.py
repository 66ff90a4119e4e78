"""`copy`: a whole file from `content:` or a role's files/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.project.fileformats import is_single_expression
from provision.project.templating import render_template_file
from provision.project.yamlfile import read_bytes, type_name
from provision.tasks.base import arg
from provision.tasks.wholefile import MAX_COPY_BYTES, FileParams, WholeFile, dest_arg


class Copy(WholeFile):
    """`copy`: a whole file from `content:` or `roles/NAME/files/SRC`

    As `template`, with `content` or `src` instead of a template; plus `state: absent` to
    remove the file. A `content` with `{{ }}` is checked for the destination's format like
    a template; a `content` that is exactly one `{{ expr }}` is the whole file and is taken
    as it is; a `src` file is copied byte for byte.
    """

    type_name = "copy"

    @dataclass(kw_only=True)
    class Params(FileParams):
        dest: str = dest_arg()
        content: Any = arg(None, doc="the file's text (or bytes from YAML's `!!binary`)")
        src: str | None = arg(None, doc="a file under the role's `files/`, copied byte for byte")
        state: str = arg("present", choices=("present", "absent"), doc="whether the file exists")

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
