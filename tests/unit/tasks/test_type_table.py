"""The lazy task-type table: a type's module is imported when the type is first looked up,
and every answer is the one full discovery (`task_types()`) gives."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from provision.tasks import base
from provision.tasks.base import TaskType, task_type_table, task_types


def fresh(code: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_source_index_names_every_type_where_discovery_finds_it() -> None:
    registry = task_types()
    index = base._type_modules()
    native = {
        n: c.__module__ for n, c in registry.items() if c.__module__.startswith("provision.tasks.")
    }
    assert native, "discovery found no task type"
    assert {n: index.get(n) for n in native} == native


@pytest.mark.parametrize("name", ["package", "assert", "template", "lvm_lv", "compose"])
def test_each_type_alone_imports_its_own_module_only(name: str) -> None:
    got = fresh(
        "import json, sys\n"
        "from provision.tasks.base import task_type_table\n"
        "before = {m for m in sys.modules if m.startswith('provision.tasks.')}\n"
        f"cls = task_type_table()[{name!r}]\n"
        f"present = {name!r} in task_type_table()\n"
        "after = {m for m in sys.modules if m.startswith('provision.tasks.')}\n"
        "print(json.dumps({'name': cls.type_name, 'module': cls.__module__, 'present': present,"
        " 'new': sorted(after - before)}))"
    )
    assert got["name"] == name and got["present"]
    all_modules = set(base._type_modules().values())
    others = [m for m in got["new"] if m in all_modules and m != got["module"]]
    assert len(others) < len(all_modules) - 1, f"{name}: every task module was imported"


def test_a_run_of_few_types_does_not_import_every_task_module() -> None:
    got = fresh(
        "import json, sys\n"
        "from provision.tasks.base import task_type_table\n"
        "t = task_type_table()\n"
        "ok = [n in t for n in ('package', 'service', 'template')]\n"
        "print(json.dumps({'ok': ok, 'loaded': sorted(m for m in sys.modules"
        " if m.startswith('provision.tasks.'))}))"
    )
    assert got["ok"] == [True, True, True]
    assert "provision.tasks.compose" not in got["loaded"]
    assert "provision.tasks.stack" not in got["loaded"]


@pytest.mark.parametrize(
    "name",
    ["", "nope", "ansible.builtin.dnf", "Package", "package ", "package\n", "../package",
     "type_name", "\u2028", "-package", "x" * 10_000],
)  # fmt: skip
def test_an_unknown_name_is_not_there(name: str) -> None:
    table = task_type_table()
    assert name not in table
    assert table.get(name) is None
    with pytest.raises(KeyError):
        table[name]


@pytest.mark.parametrize("name", [None, 1, 1.5, ("package",), b"package"])
def test_a_key_that_is_no_text_is_not_there(name: Any) -> None:
    assert name not in task_type_table()


def test_iterating_gives_what_discovery_gives() -> None:
    table = task_type_table()
    assert sorted(table) == sorted(task_types())
    assert len(table) == len(task_types())
    assert dict(table.items()) == task_types()
    merged = {**table, "extra": TaskType}
    assert set(merged) == set(task_types()) | {"extra"}


def test_a_type_defined_outside_the_package_is_found() -> None:
    class Outside(TaskType):
        """`outside_test_type`: defined by a test."""

        type_name: ClassVar[str] = "outside_test_type_perf5"

    try:
        assert task_type_table()["outside_test_type_perf5"] is Outside
        assert "outside_test_type_perf5" in task_type_table()
    finally:
        base.REGISTRY.pop("outside_test_type_perf5", None)


def test_a_wrong_index_entry_falls_back_to_full_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dict(base._type_modules())
    wrong["package"] = "provision.tasks.names"  # a module that defines no type
    monkeypatch.setattr(base, "_type_modules", lambda: wrong)
    assert task_type_table()["package"].__module__ == "provision.tasks.package"
