"""The `mask_*` bad-input cases: input errors about secret values never quote them.

Each `mask_*` folder is an ordinary corpus case (test_corpus.py checks exit 2, file:line,
words, nothing touched); its `absent.txt` lists, one a line, the pieces of the play's
secrets (a password, each line of a CRLF token and of a private key, each leaf of a
nested list) that must appear nowhere in what `plan` and `apply` print.
"""

from __future__ import annotations

import pytest
from tests.unit.badinput.test_corpus import CASES_DIR, case_names, run_case

MASK_CASES = [n for n in case_names() if n.startswith("mask_")]


def absent(name: str) -> list[str]:
    return [s for s in (CASES_DIR / name / "absent.txt").read_text().splitlines() if s]


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("name", MASK_CASES)
def test_no_secret_in_the_error(name, command, tmp_path, monkeypatch, no_connections):
    result, _expect, _case_dir = run_case(name, command, tmp_path, monkeypatch)
    assert result.exit_code == 2, result.output
    for secret in absent(name):
        assert secret not in result.output, f"{secret!r} shown:\n{result.output}"
    assert no_connections == []


def test_every_mask_case_lists_its_secrets():
    assert len(MASK_CASES) >= 12
    for name in MASK_CASES:
        assert len(absent(name)) >= 5, name
