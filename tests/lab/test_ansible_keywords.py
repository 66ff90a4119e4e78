"""An Ansible-shaped role (block/rescue/always, include_tasks, registered read-only
commands, stat, loops, handlers with `listen`) plans and applies on fresh lab hosts, and
its converged re-run is one connection and one remote command per host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
SITE = Path(__file__).parent / "fixtures" / "ansible_keywords" / "site.yml"


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def snapshot(session: LabSession) -> dict[str, str]:
    script = "find /opt/kwapp -printf '%p %s\\n' 2>/dev/null | sort; true"
    return {h.name: run_on(h, script).stdout for h in session.hosts}


@pytest.fixture(scope="module")
def first(fresh_hosts: LabSession) -> dict:
    before = snapshot(fresh_hosts)
    plan = provision("plan", str(fresh_hosts.inventory), "--playbook", str(SITE))
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert "decided at apply" not in plan.stdout, plan.stdout
    assert snapshot(fresh_hosts) == before, "plan changed a host"
    apply = provision(
        "apply", str(fresh_hosts.inventory), "--playbook", str(SITE), "--format", "json"
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    return json.loads(apply.stdout)


def test_first_apply_converges(fresh_hosts: LabSession, first: dict) -> None:
    for name, host in first["hosts"].items():
        assert host["status"] == "changed", (name, host["error"])
        assert host["connections"] == 1
    for host in fresh_hosts.hosts:
        files = run_on(host, "cat /opt/kwapp/os /opt/kwapp/stamp /opt/kwapp/always").stdout
        assert files == "rocky\nconfig applied\nalways\n", (host.name, files)
        assert run_on(host, "test -e /opt/kwapp/rescued", check=False).returncode == 1


def test_converged_rerun_is_one_command_per_host(fresh_hosts: LabSession, first: dict) -> None:
    plan = provision("plan", str(fresh_hosts.inventory), "--playbook", str(SITE))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    again = provision(
        "apply", str(fresh_hosts.inventory), "--playbook", str(SITE), "--format", "json"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    for name, host in json.loads(again.stdout)["hosts"].items():
        assert host["counts"]["changed"] == 0, name
        assert host["connections"] == 1, name
        assert host["remote_commands"] == 1, (name, host["remote_commands"])


def test_a_failing_check_is_rescued(fresh_hosts: LabSession, first: dict) -> None:
    run = provision(
        "apply",
        str(fresh_hosts.inventory),
        "--playbook",
        str(SITE),
        "-e",
        "kw_fail=true",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for host in fresh_hosts.hosts:
        assert run_on(host, "cat /opt/kwapp/rescued").stdout == "rescued\n"
