"""Host facts on the real lab: `provision facts`, and a role whose `when:` reads them is
planned per host, in one connection and one remote command per host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def provision(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_facts_show_the_os_memory_and_devices(fresh_hosts: LabSession) -> None:
    host = fresh_hosts.hosts[0]
    result = provision(
        "facts", str(fresh_hosts.inventory), "--limit", host.name, "--format", "json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)["hosts"][host.name]
    facts, ansible = found["facts"], found["ansible"]
    assert facts["os"]["id"] == "rocky" and facts["os"]["major"] == 9
    assert facts["os"]["family"] == "RedHat"
    assert ansible["ansible_distribution"] == "Rocky"
    assert ansible["ansible_distribution_major_version"] == "9"
    total_kb = int(run_on(host, "awk '/^MemTotal:/ {print $2}' /proc/meminfo").stdout)
    assert facts["memory_mb"] == total_kb // 1024 == ansible["ansible_memtotal_mb"]
    assert facts["cpus"] == int(run_on(host, "nproc").stdout)
    assert facts["selinux"]["mode"] == "disabled"  # docs/lab.md: SELinux disabled
    assert isinstance(facts["devices"], list)
    size = run_on(host, "test -b /dev/vdb && blockdev --getsize64 /dev/vdb", check=False)
    if size.returncode == 0:  # the lab's spare disk (docs/lab.md)
        spare = [d for d in facts["devices"] if "/dev/vdb" in (d["path"], *d["aliases"])]
        assert [d["size"] for d in spare] == [int(size.stdout)], facts["devices"]
    assert any(m["mount"] == "/" for m in facts["mounts"])
    assert (found["connections"], found["remote_commands"]) == (1, 1)
    text = provision("facts", str(fresh_hosts.inventory), "--limit", host.name)
    assert text.returncode == 0, text.stderr
    assert "Rocky Linux 9" in text.stdout and "memory_mb" in text.stdout


ROLE_TASKS = """\
- name: only on major 9
  copy: {content: "nine\\n", dest: /etc/provision-facts-test}
  when: ansible_distribution_major_version == "9"
- name: memory line for {{ ansible_distribution }}
  copy: {content: "{{ facts.memory_mb }} MiB\\n", dest: /etc/provision-facts-mem}
"""


def test_a_when_over_facts_is_planned_per_host(fresh_hosts: LabSession, tmp_path: Path) -> None:
    eight = fresh_hosts.hosts[-1]
    run_on(eight, "sed -i 's/^VERSION_ID=.*/VERSION_ID=\"8.10\"/' /etc/os-release")
    try:
        inventory = derived_inventory(fresh_hosts.inventory, tmp_path / "inv.yml")
        role = tmp_path / "roles" / "factrole" / "tasks"
        role.mkdir(parents=True)
        (role / "main.yml").write_text(ROLE_TASKS)
        (tmp_path / "play.yml").write_text("- hosts: all\n  roles: [factrole]\n")
        plan = provision("plan", str(inventory), "-p", "play.yml", "--format", "json", cwd=tmp_path)
        assert plan.returncode == 4, plan.stdout + plan.stderr
        hosts = json.loads(plan.stdout)["hosts"]
        for host in fresh_hosts.hosts:
            tasks = {t["name"]: t for t in hosts[host.name]["tasks"]}
            first = tasks["only on major 9"]
            if host is eight:
                assert first["status"] == "skipped"
                assert "condition false on this host" in first["reason"]
            else:
                assert first["status"] == "pending", first
            assert tasks["memory line for Rocky"]["status"] == "pending"
            assert hosts[host.name]["connections"] == 1
            # the second round: the memory line's destination is known once facts are
            assert hosts[host.name]["remote_commands"] == 2, hosts[host.name]
        for host in fresh_hosts.hosts:
            assert run_on(host, "test -e /etc/provision-facts-test", check=False).returncode == 1
    finally:
        run_on(eight, "sed -i 's/^VERSION_ID=.*/VERSION_ID=\"9.5\"/' /etc/os-release")


def test_a_converged_rerun_is_one_connection_and_one_remote_command(
    fresh_hosts: LabSession,
) -> None:
    first = provision("apply", str(fresh_hosts.inventory), "--format", "json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for command in ("plan", "apply"):
        again = provision(command, str(fresh_hosts.inventory), "--format", "json")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr
        for name, host in json.loads(again.stdout)["hosts"].items():
            assert host["counts"]["changed"] == 0, name
            assert (host["connections"], host["remote_commands"]) == (1, 1), (command, name)
