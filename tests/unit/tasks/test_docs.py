"""docs/tasks.md's task-type reference is generated from the declarations and kept fresh."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from provision.tasks import docgen
from provision.tasks.base import task_types

ROOT = Path(__file__).parents[3]
DOC = ROOT / docgen.DOC


def test_docs_tasks_md_is_up_to_date():
    text = DOC.read_bytes().decode()
    assert docgen.render(text) == text, f"docs/tasks.md is stale: run {docgen.COMMAND}"


@pytest.mark.parametrize("name", sorted(task_types()))
def test_every_type_documents_itself(name: str):
    cls = task_types()[name]
    assert cls.__doc__, f"task type {name}: the class docstring is its docs/tasks.md section"
    assert cls.__doc__.startswith(f"`{name}`: "), "first line: `NAME`: what it manages"
    undocumented = [a.name for a in cls.args if not a.doc.strip()]
    assert not undocumented, f"{name}: arguments without doc: {undocumented}"
    assert dataclasses.is_dataclass(cls.Params)


@pytest.mark.parametrize("name", sorted(task_types()))
def test_every_type_has_its_section_and_every_argument_a_row(name: str):
    section = docgen.type_section(task_types()[name])
    text = DOC.read_text()
    assert section in text
    for arg in task_types()[name].args:
        assert f"| `{arg.name}` |" in section


def test_a_stale_table_is_found():
    text = DOC.read_bytes().decode()
    stale = text.replace("| `dest` | text | required |", "| `dest` | text | optional |", 1)
    assert stale != text
    assert docgen.render(stale) != stale


def test_a_new_type_gets_a_section_without_editing_the_docs(monkeypatch):
    from dataclasses import dataclass

    from provision.tasks.base import REGISTRY, TaskType, arg

    class Demo(TaskType):
        """`zz_demo`: a type made in this test"""

        @dataclass(kw_only=True)
        class Params:
            path: str = arg(doc="where")

    monkeypatch.setitem(REGISTRY, "zz_demo", Demo)
    Demo.type_name = "zz_demo"
    text = DOC.read_bytes().decode()
    fresh = docgen.render(text)
    assert "### `zz_demo`: a type made in this test" in fresh
    assert "| `path` | text | required | where |" in fresh
    assert fresh.index("zz_demo") > fresh.index("### `user`")


def test_check_and_write(tmp_path: Path, capsys):
    copy = tmp_path / "tasks.md"
    text = DOC.read_bytes().decode()
    copy.write_text(text.replace("| `src` |", "| `old` |", 1))
    assert docgen.main(["--check", str(copy)]) == 1
    assert docgen.COMMAND in capsys.readouterr().err
    assert docgen.main(["--write", str(copy)]) == 0
    assert docgen.main(["--check", str(copy)]) == 0
    assert copy.read_text() == text


def test_a_document_without_markers_is_refused():
    with pytest.raises(ValueError, match="no generated part"):
        docgen.render("# Task reference\n")
