"""`template`: a whole file rendered from a role's templates/."""

from __future__ import annotations

from dataclasses import dataclass

from provision.project.templating import render_template_file
from provision.project.yamlfile import read_text
from provision.tasks.base import arg
from provision.tasks.wholefile import FileParams, WholeFile, dest_arg


class Template(WholeFile):
    """`template`: a whole file from `roles/NAME/templates/SRC`

    Rendered with Jinja2; every value is checked for the destination's format (see
    [File formats](#file-formats-values-in-line-oriented-files)). The file is written
    atomically, only when its content, mode or owner differ.
    """

    type_name = "template"

    @dataclass(kw_only=True)
    class Params(FileParams):
        src: str = arg(doc="the template, under the role's `templates/`")
        dest: str = dest_arg()

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
