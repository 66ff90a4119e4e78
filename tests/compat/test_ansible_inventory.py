"""Our inventories are Ansible's format, read unchanged: `ansible-inventory --list` agrees."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.project.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = sorted((ROOT / "inventories").glob("*.yml"))


def ansible_inventory() -> str:
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    found = shutil.which("ansible-inventory") or str(beside_python)
    if not Path(found).exists():
        pytest.fail("ansible-inventory is not installed (pip install -e '.[dev]')")
    return found


@pytest.mark.parametrize("path", INVENTORIES, ids=[p.name for p in INVENTORIES])
def test_ansible_reads_the_same_hosts_groups_and_vars(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [ansible_inventory(), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        env={"ANSIBLE_LOCAL_TEMP": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)
    ours = load_inventory(path)
    their_hosts = set(theirs.get("_meta", {}).get("hostvars", {}))
    for group, body in theirs.items():
        if group != "_meta":
            their_hosts.update(body.get("hosts", []))
    assert their_hosts == set(ours.hosts)
    for group, body in theirs.items():
        if group in ("_meta", "all"):
            continue
        assert group in ours.groups, group
        assert set(body.get("hosts", [])) <= set(ours.match(group))
    for host, their_vars in theirs["_meta"]["hostvars"].items():
        our_vars, _ = ours.host_variables(host)
        for key, value in their_vars.items():
            assert our_vars.get(key) == value, (host, key)
