"""The bad-input corpus: every case folder under cases/ is a broken mini project.

Each is run through the real CLI (`provision plan` and `provision apply`, in-process,
with the case folder as the current directory) and must: exit 2, name the file and line
given in its `expect.yml`, contain the expected words, print no traceback, fit on one
screen, and touch nothing: no connection is opened, no file is created.

expect.yml keys:
  description  one line, for README.md
  contains     substrings the output must contain
  where        `FILE:LINE` the output must name (FILE relative to the case folder);
               just `FILE` with `whole_file: true` for problems of a whole file
               (missing, empty, binary, too large)
  args         CLI arguments after the command (default: [inventory.yml])
  generate     a generator below that writes a file too big to commit
  bug          a known bug: the case is a strict xfail with this reason
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provision.cli import main
from provision.project.yamlfile import MAX_INPUT_BYTES

CASES_DIR = Path(__file__).parent / "cases"
MAX_LINES = 25


def _large_inventory(root: Path) -> None:
    """A valid-looking inventory just over the input limit."""
    head = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n  vars:\n"
    line = "    padding_{:07d}: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    count = MAX_INPUT_BYTES // len(line.format(0)) + 10
    text = head + "".join(line.format(i) for i in range(count))
    (root / "inventory.yml").write_text(text)
    assert (root / "inventory.yml").stat().st_size > MAX_INPUT_BYTES


GENERATORS = {"large-inventory": _large_inventory}


def load_expect(case_dir: Path) -> dict:
    return yaml.safe_load((case_dir / "expect.yml").read_text())


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "expect.yml").is_file())


def _params() -> list:
    params = []
    for name in case_names():
        expect = load_expect(CASES_DIR / name)
        marks = []
        if expect.get("bug"):
            marks.append(pytest.mark.xfail(strict=True, reason=f"BUG: {expect['bug']}"))
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_case(name: str, command: str, tmp_path: Path, monkeypatch) -> tuple:
    """Copy the case to tmp, run the CLI there; (result, expect, case dir, base dir)."""
    case_dir = tmp_path / name
    shutil.copytree(CASES_DIR / name, case_dir)
    (case_dir / "expect.yml").unlink()
    expect = load_expect(CASES_DIR / name)
    if expect.get("generate"):
        GENERATORS[expect["generate"]](case_dir)
    base = tmp_path / "base"  # the hosts' `base:` variable; must stay empty
    base.mkdir()
    monkeypatch.setenv("BADINPUT_BASE", str(base))
    monkeypatch.chdir(case_dir)
    before = _tree(case_dir)
    result = CliRunner().invoke(main, [command, *expect.get("args", ["inventory.yml"])])
    assert _tree(case_dir) == before, "bad input created files in the project"
    assert list(base.iterdir()) == [], "bad input created files on the host"
    return result, expect, case_dir


def names_location(output: str, where: str, case_dir: Path) -> bool:
    """The output names `where` (relative, or absolute under the case folder)."""
    for form in (where, str(case_dir / where), str((case_dir / where).resolve())):
        if re.search(re.escape(form) + r"(?![\w.])", output):
            return True
    return False


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("name", _params())
def test_bad_input(name, command, tmp_path, monkeypatch, no_connections):
    result, expect, case_dir = run_case(name, command, tmp_path, monkeypatch)
    output = result.output
    assert isinstance(result.exception, SystemExit), (result.exception, output)
    assert result.exit_code == 2, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert len(output.splitlines()) <= MAX_LINES, output
    for part in expect["contains"]:
        assert part in output, f"{part!r} not in:\n{output}"
    where = expect["where"]
    if not expect.get("whole_file"):
        assert re.search(r":\d+$", where), f"expect.yml: where {where!r} needs a line"
    assert names_location(output, where, case_dir), f"{where!r} not named in:\n{output}"
    assert no_connections == []


def test_corpus_is_large_enough():
    assert len(case_names()) >= 40


def test_readme_lists_every_case():
    readme = (Path(__file__).parent / "README.md").read_text()
    listed = set(re.findall(r"^\| `([\w.-]+)` \|", readme, re.MULTILINE))
    assert listed == set(case_names())


def test_every_expect_file_is_well_formed():
    allowed = {"description", "contains", "where", "whole_file", "args", "generate", "bug"}
    for name in case_names():
        expect = load_expect(CASES_DIR / name)
        assert set(expect) <= allowed, name
        assert expect["description"] and expect["contains"] and expect["where"], name
        assert expect.get("generate") in (None, *GENERATORS), name
