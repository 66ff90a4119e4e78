"""provision_vars_files: variable files an inventory names (the lab's .lab/vars.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.inventory import load_inventory

INVENTORY = (
    "all:\n  vars:\n    a: inline\n    provision_vars_files: {files}\n  hosts:\n    h1: {{}}\n"
)


def _inventory(tmp_path: Path, files: str) -> Path:
    path = tmp_path / "inv" / "lab.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(INVENTORY.format(files=files))
    return path


def test_listed_file_is_read_like_group_vars_all(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "[.lab/vars.yml]")
    (path.parent / ".lab").mkdir()
    (path.parent / ".lab" / "vars.yml").write_text('docker_gpg_fingerprint: "FB93"\na: file\n')
    variables, _ = load_inventory(path).host_variables("h1")
    assert variables["docker_gpg_fingerprint"] == "FB93"
    assert variables["a"] == "file"


def test_missing_file_is_skipped(tmp_path: Path) -> None:
    variables, _ = load_inventory(_inventory(tmp_path, ".lab/vars.yml")).host_variables("h1")
    assert "docker_gpg_fingerprint" not in variables


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ("[../outside.yml]", "leaves the inventory's folder"),
        ("[/etc/passwd]", "must be a path relative to the inventory's folder"),
        ("[3]", "must be a file name or a list of them"),
        ("{a: b}", "must be a file name or a list of them"),
        ('["x\\ny.yml"]', "must be a path relative"),
    ],
)
def test_bad_lists(tmp_path: Path, files: str, message: str) -> None:
    (tmp_path / "outside.yml").write_text("a: 1\n")
    with pytest.raises(InputError, match=message):
        load_inventory(_inventory(tmp_path, files))


def test_symlink_out_of_the_folder_refused(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "[link.yml]")
    (tmp_path / "outside.yml").write_text("a: 1\n")
    (path.parent / "link.yml").symlink_to(tmp_path / "outside.yml")
    with pytest.raises(InputError, match="leaves the inventory's folder"):
        load_inventory(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "must be a mapping"), ("1bad: x\n", "invalid variable name")],
)
def test_bad_file_content(tmp_path: Path, text: str, message: str) -> None:
    path = _inventory(tmp_path, "vars.yml")
    (path.parent / "vars.yml").write_text(text)
    with pytest.raises(InputError, match=message):
        load_inventory(path)
