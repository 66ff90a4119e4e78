"""Class 6 item of issue 10: group and host names never reach outside group_vars/ and
host_vars/ (a group named `..`, a name with `/`, a vars file that is a symlink out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.inventory import load_inventory


def project(tmp_path: Path, inventory: str) -> Path:
    root = tmp_path / "project"
    (root / "group_vars").mkdir(parents=True)
    (root / "host_vars").mkdir()
    (tmp_path / "secret.yml").write_text("stolen: true\n")  # beside the project: ../
    (root / "secret.yml").write_text("stolen: true\n")  # group_vars/../secret.yml
    (root / "inventory.yml").write_text(inventory)
    return root / "inventory.yml"


NAMES = [
    (
        "group-dotdot",
        "all:\n  children:\n    '..':\n      hosts: {h1: }\n",
        "cannot be '.' or '..'",
    ),
    ("group-dot", "all:\n  children:\n    '.':\n      hosts: {h1: }\n", "cannot be '.' or '..'"),
    ("top-group-dotdot", "'..':\n  hosts: {h1: }\n", "cannot be '.' or '..'"),
    ("host-dotdot", "all:\n  hosts:\n    '..':\n", "cannot be '.' or '..'"),
    (
        "group-slash",
        "all:\n  children:\n    '../secret':\n      hosts: {h1: }\n",
        "invalid group name",
    ),
    ("host-slash", "all:\n  hosts:\n    '../secret':\n", "invalid host name"),
    (
        "group-absolute",
        "all:\n  children:\n    /etc/passwd:\n      hosts: {h1: }\n",
        "invalid group name",
    ),
    ("host-backslash", "all:\n  hosts:\n    'a\\b':\n", "invalid host name"),
    (
        "group-newline",
        'all:\n  children:\n    "a\\nb":\n      hosts: {h1: }\n',
        "invalid group name",
    ),
    ("host-nul", 'all:\n  hosts:\n    "a\\0b":\n', "invalid host name"),
]


@pytest.mark.parametrize(
    ("text", "words"), [(t, w) for _, t, w in NAMES], ids=[i for i, *_ in NAMES]
)
def test_names_that_could_leave_the_folder_are_refused(
    tmp_path: Path, text: str, words: str
) -> None:
    inventory = project(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_inventory(inventory)
    assert words in caught.value.message
    assert caught.value.location is not None and caught.value.location.line is not None


@pytest.mark.parametrize("kind", ["group_vars", "host_vars"])
@pytest.mark.parametrize("target", ["../../secret.yml", "/etc/hostname", "../secret.yml"])
def test_a_vars_file_symlinked_outside_is_refused(tmp_path: Path, kind: str, target: str) -> None:
    inventory = project(tmp_path, "all:\n  children:\n    web:\n      hosts: {h1: }\n")
    name = "web" if kind == "group_vars" else "h1"
    (inventory.parent / kind / f"{name}.yml").symlink_to(target)
    with pytest.raises(InputError, match="leads outside"):
        load_inventory(inventory)


def test_a_vars_folder_symlinked_outside_is_refused(tmp_path: Path) -> None:
    inventory = project(tmp_path, "all:\n  children:\n    web:\n      hosts: {h1: }\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.yml").write_text("stolen: true\n")
    (inventory.parent / "group_vars" / "web").symlink_to(outside)
    with pytest.raises(InputError, match="leads outside"):
        load_inventory(inventory)


def test_a_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    inventory = project(tmp_path, "all:\n  children:\n    web:\n      hosts: {h1: }\n")
    folder = inventory.parent / "group_vars"
    (folder / "shared.yml").write_text("shared: 1\n")
    (folder / "web.yml").symlink_to("shared.yml")
    assert load_inventory(inventory).groups["web"].vars == {"shared": 1}


def test_names_with_dots_still_find_their_files(tmp_path: Path) -> None:
    inventory = project(tmp_path, "all:\n  hosts:\n    web.example.com:\n")
    (inventory.parent / "host_vars" / "web.example.com.yml").write_text("a: 1\n")
    (inventory.parent / "host_vars" / "web.example.com").mkdir()
    (inventory.parent / "host_vars" / "web.example.com" / "b.yaml").write_text("b: 2\n")
    # As Ansible (ansible-inventory --list agrees): the first of NAME (file or folder),
    # NAME.yml, NAME.yaml, NAME.json is read, the others are not.
    assert load_inventory(inventory).hosts["web.example.com"].vars == {"b": 2}
