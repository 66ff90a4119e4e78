"""docs/tasks.md's task-type reference, generated from the task types' declarations.

Between the markers, one section per type (by name): the heading and prose are the type
class's docstring (first line: `` `name`: what it manages``), the argument table comes
from its `Params` (name, kind, default, allowed values, the one-line `doc` of each
`arg(...)`). Everything outside the markers is hand-written and left as it is.

    python -m provision.tasks.docgen --write docs/tasks.md   # regenerate in place
    python -m provision.tasks.docgen --check docs/tasks.md   # exit 1 when it is stale
    python -m provision.tasks.docgen docs/tasks.md           # print the regenerated file
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from provision import docsection
from provision.tasks.base import REQUIRED, Arg, TaskType, task_types

DOC = Path("docs/tasks.md")
COMMAND = f"python -m provision.tasks.docgen --write {DOC}"
BEGIN = (
    "<!-- generated from the task types (docstrings, Params): do not edit here;"
    f" edit src/provision/tasks/*.py, then run `{COMMAND}` -->"
)
END = "<!-- end of generated task types -->"
KIND_WORDS = {
    "str": "text",
    "bool": "true/false",
    "int": "number",
    "mode": "file mode",
    "strlist": "text or list",
    "dict": "mapping",
    "any": "any",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(a: Arg) -> str:
    if a.default is REQUIRED:
        return "required"
    if a.default is None:
        return "—"
    if isinstance(a.default, bool):
        return f"`{str(a.default).lower()}`"
    if a.kind == "mode":
        return f"`{a.default:04o}`"
    if a.default == "":
        return '`""`'
    return f"`{a.default}`"


def _kind(a: Arg) -> str:
    if a.choices:
        return ", ".join(f"`{c}`" for c in a.choices)
    return KIND_WORDS[a.kind]


def args_table(cls: type[TaskType]) -> str:
    rows = ["| arg | kind | default | meaning |", "|---|---|---|---|"]
    for a in cls.args:
        rows.append(f"| `{a.name}` | {_kind(a)} | {_default(a)} | {_cell(a.doc)} |")
    return "\n".join(rows)


def type_section(cls: type[TaskType]) -> str:
    doc = inspect.cleandoc(cls.__doc__ or f"`{cls.type_name}`")
    heading, _, prose = doc.partition("\n")
    parts = [f"### {heading.strip()}", args_table(cls)]
    if prose.strip():
        parts.append(prose.strip())
    return "\n\n".join(parts)


def generated() -> str:
    """The text between the markers."""
    types = task_types()
    return "\n\n".join(type_section(types[name]) for name in sorted(types))


def render(text: str) -> str:
    """The document with its generated part brought up to date."""
    return docsection.splice(text, BEGIN, END, generated(), DOC)


def main(argv: list[str] | None = None) -> int:
    return docsection.main(argv, "provision.tasks.docgen", DOC, COMMAND, render)


if __name__ == "__main__":
    sys.exit(main())
