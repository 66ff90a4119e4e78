"""Our inventories are Ansible's format, read unchanged: `ansible-inventory --list` agrees on
every host, every group (its hosts and its children) and every variable of every host."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.project.inventory import Inventory, load_inventory

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
INVENTORIES = sorted((ROOT / "inventories").glob("*.yml"))
OURS_ONLY = ("inventory_hostname", "group_names")
VARS_FILES = "provision_vars_files"

SOURCE_SETS = {
    # an INI file: ranges (numbers, letters, steps), host:port, :children declared before
    # the group, :vars of every kind of value, ungrouped hosts, an empty group
    "ini-ranges-children-vars": ["ini_ranges/hosts.ini"],
    # a folder: INI + YAML + an extension-less INI file in a sub-folder, ignored files
    # (README.md, .hidden, *.bak), group_vars as files and as a folder, host_vars
    "folder-mixed-ini-yaml": ["mixed_dir"],
    # two -i sources, each with its own group_vars: the later one wins
    "multi-i": ["multi/a/hosts.ini", "multi/b/hosts.yml"],
    "multi-i-reversed": ["multi/b/hosts.yml", "multi/a/hosts.ini"],
    "multi-i-file-and-folder": ["ini_ranges/hosts.ini", "mixed_dir"],
    "host-list": ["alpha.example.com,beta:2200,"],
}


def ansible_inventory() -> str:
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    found = shutil.which("ansible-inventory") or str(beside_python)
    if not Path(found).exists():
        pytest.fail("ansible-inventory is not installed (pip install -e '.[dev]')")
    return found


def ansible_list(sources: list[str], tmp_path: Path, cwd: Path) -> dict:
    args = [ansible_inventory()]
    for source in sources:
        args += ["-i", source]
    result = subprocess.run(
        [*args, "--list"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            "ANSIBLE_LOCAL_TEMP": str(tmp_path),
            "HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Unable to parse" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def assert_same(theirs: dict, ours: Inventory) -> None:
    their_hosts = set(theirs.get("_meta", {}).get("hostvars", {}))
    for group, body in theirs.items():
        if group != "_meta":
            their_hosts.update(body.get("hosts", []))
    assert their_hosts == set(ours.hosts)
    for group, body in theirs.items():
        if group == "_meta":
            continue
        assert group in ours.groups, group
        assert body.get("hosts", []) == ours.groups[group].hosts, group
        assert set(body.get("children", [])) == set(ours.groups[group].children), group
    for name, group in ours.groups.items():
        if group.hosts or (group.children and name != "all"):
            assert name in theirs, f"{name} is a group for us, not for Ansible"
    hostvars = theirs["_meta"]["hostvars"]
    for host in ours.hosts:
        our_vars, origins = ours.host_variables(host)
        # `provision_vars_files` is this tool's own extension: Ansible does not read them
        listed = {str((ours.directory / f).resolve()) for f in our_vars.get(VARS_FILES, [])}
        mine = {
            k: v
            for k, v in our_vars.items()
            if k not in OURS_ONLY and str(getattr(origins.get(k), "file", "")) not in listed
        }
        assert mine == hostvars.get(host, {}), host


@pytest.mark.parametrize("path", INVENTORIES, ids=[p.name for p in INVENTORIES])
def test_ansible_reads_the_same_hosts_groups_and_vars(path: Path, tmp_path: Path) -> None:
    theirs = ansible_list([str(path)], tmp_path, tmp_path)
    assert_same(theirs, load_inventory(path))


@pytest.mark.parametrize("name", list(SOURCE_SETS))
def test_fixture_sources_agree_with_ansible(name: str, tmp_path: Path) -> None:
    sources = SOURCE_SETS[name]
    theirs = ansible_list(sources, tmp_path, FIXTURES)
    paths = [FIXTURES / s if "," not in s else Path(s) for s in sources]
    assert_same(theirs, load_inventory(paths))
