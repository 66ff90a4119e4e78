"""docs/ansible.md's module table is generated from the declarations and kept fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.ansible import docgen
from provision.ansible.modules import MODULES

ROOT = Path(__file__).parents[3]
DOC = ROOT / docgen.DOC


def test_docs_ansible_md_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, "run python -m provision.ansible.docgen --write"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_has_a_row_with_every_argument(name: str):
    module = MODULES[name]
    row = next(line for line in docgen.table().splitlines() if f"`{module.fqcn}`" in line)
    assert row in DOC.read_text(encoding="utf-8")
    for a in module.args:
        assert f"`{a.name}`" in row, a.name


def test_every_refused_argument_says_what_to_write_instead():
    missing = [
        (m.name, a.name)
        for m in MODULES.values()
        for a in m.args
        if a.refused and not a.refuse.strip()
    ]
    assert missing == []
