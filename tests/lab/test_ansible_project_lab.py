"""An Ansible team's project as it is, on the lab: an INI inventory with a host range, found
through ansible.cfg (remote_user, private_key_file, become, forks from there), plan then
apply then a converged re-run (one connection per host)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from provision.lab import lab_paths
from tests.lab.conftest import LabSession
from tests.tools.provisioncli import provision as run_provision

pytestmark = pytest.mark.lab
FIXTURES = Path(__file__).resolve().parents[1] / "integration" / "fixtures"


def provision(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_provision(project, *args, timeout=900)


def test_ini_inventory_and_ansible_cfg_converge(fresh_hosts: LabSession, tmp_path: Path) -> None:
    paths = lab_paths()
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "roles", project / "roles")
    (project / "playbooks").mkdir()
    shutil.copy(FIXTURES / "playbooks_site.yml", project / "playbooks" / "site.yml")
    count = len(fresh_hosts.hosts)
    lines = ["; written as an Ansible team writes it", "[docker_hosts]", f"rocky[1:{count}]"]
    lines += ["", "[addresses]"]
    lines += [f"{h.name} ansible_host={h.address}" for h in fresh_hosts.hosts]
    lines += [
        "",
        "[all:vars]",
        f"provision_known_hosts = {paths.known_hosts.resolve()}",
        "provision_known_hosts_only = true",
        "base = /tmp/provision-ansible-project",
    ]
    (project / "hosts").write_text("\n".join(lines) + "\n")
    (project / "ansible.cfg").write_text(
        "[defaults]\ninventory = hosts\nremote_user = rocky\n"
        f"private_key_file = {paths.key.resolve()}\nforks = 5\n"
        "[ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ControlPersist=60s\n"
        "[privilege_escalation]\nbecome = True\nbecome_user = root\nbecome_method = sudo\n"
    )
    plan = provision(project, "plan")
    assert plan.returncode == 4, plan.stdout + plan.stderr
    applied = provision(project, "apply", "--format", "json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    hosts = json.loads(applied.stdout)["hosts"]
    assert set(hosts) == {h.name for h in fresh_hosts.hosts}
    again = provision(project, "apply", "--format", "json")
    assert again.returncode == 0, again.stderr
    for name, host in json.loads(again.stdout)["hosts"].items():
        assert host["counts"]["changed"] == 0, name
        assert host["connections"] == 1, name
