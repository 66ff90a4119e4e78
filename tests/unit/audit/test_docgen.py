"""docs/audit.md's table of checks is generated from the audit's table and must be
current; the generator's modes (--check, --write) and its refusal of a file without
markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.audit import docgen
from provision.audit.checks import CHECKS

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "audit.md"


def test_docs_audit_md_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, f"docs/audit.md is stale: run {docgen.COMMAND}"


def test_every_check_has_one_row_with_its_remedy() -> None:
    text = DOC.read_text(encoding="utf-8")
    for check in CHECKS:
        rows = [ln for ln in text.splitlines() if ln.startswith(f"| **{check.id}** |")]
        assert len(rows) == 1, check.id
        assert docgen._cell(check.remedy) in rows[0]
        assert docgen._cell(check.variable) in rows[0]


def test_cells_escape_pipes_and_line_breaks() -> None:
    assert docgen._cell("a|b\nc") == "a\\|b c"


def test_check_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "audit.md"
    stale.write_text(f"intro\n\n{docgen.BEGIN}\nold table\n{docgen.END}\nafter\n")
    assert docgen.main([str(stale), "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert docgen.main([str(stale), "--write"]) == 0
    text = stale.read_text()
    assert text.startswith("intro\n\n") and text.endswith(f"{docgen.END}\nafter\n")
    assert "old table" not in text and "| **2.14** |" in text
    assert docgen.main([str(stale), "--check"]) == 0


def test_file_without_markers(tmp_path: Path) -> None:
    bare = tmp_path / "audit.md"
    bare.write_text("no markers\n")
    with pytest.raises(ValueError, match="no generated part"):
        docgen.main([str(bare), "--check"])
