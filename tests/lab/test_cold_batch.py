"""Cold runs in few round trips: the shipped playbook (playbooks/site.yml) on fresh lab hosts
costs at most 5 remote commands per host (the probe and a few batch scripts), and the
converged re-run stays one connection and one remote command per host; the docker_engine
role's consecutive package installs are one dnf transaction. Counts only: no timing is
asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
COLD_LIMIT = 5


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_fresh_host_costs_few_remote_commands_and_rerun_costs_one(
    fresh_hosts: LabSession,
) -> None:
    site = str(ROOT / "playbooks" / "site.yml")
    cold = provision("apply", str(fresh_hosts.inventory), "-p", site, "--format", "json")
    assert cold.returncode == 0, cold.stdout + cold.stderr
    hosts = json.loads(cold.stdout)["hosts"]
    counts = {name: host["remote_commands"] for name, host in hosts.items()}
    print(f"cold remote commands per host: {counts}")
    for task in next(iter(hosts.values()))["tasks"]:
        print(task["status"], task["handler"], task["name"], task.get("reason", ""))
    for name, host in hosts.items():
        assert host["status"] == "changed", (name, host["error"])
        assert host["connections"] == 1
        assert host["remote_commands"] <= COLD_LIMIT, (name, host["remote_commands"])
    # the docker_engine role's two installs (OS packages, Docker CE) were ONE dnf transaction
    for lab_host in fresh_hosts.hosts:
        tids = run_on(
            lab_host, "rpm -q --qf '%{INSTALLTID}\\n' container-selinux docker-ce"
        ).stdout.split()
        transactions = run_on(lab_host, "dnf -q history list | grep -c '^ *[0-9]'").stdout
        print(f"{lab_host.name}: dnf transactions after the cold run: {transactions.strip()}")
        assert len(tids) == 2 and tids[0] == tids[1], (lab_host.name, tids)
    warm = provision("apply", str(fresh_hosts.inventory), "-p", site, "--format", "json")
    assert warm.returncode == 0, warm.stdout + warm.stderr
    for name, host in json.loads(warm.stdout)["hosts"].items():
        assert host["counts"]["changed"] == 0, name
        assert host["connections"] == 1
        assert host["remote_commands"] == 1, (name, host["remote_commands"])
