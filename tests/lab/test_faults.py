"""Faults on the lab: a host down, a connection cut mid-apply, dnf failing, a reboot.

Each time the other hosts converge, the run says clearly what happened, and a re-run
converges the host that failed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def provision(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def fresh(fresh_hosts: LabSession) -> LabSession:
    return fresh_hosts


def daemon_json_ok(host) -> None:
    text = run_on(host, "cat /etc/docker/daemon.json 2>/dev/null || true").stdout
    if text.strip():
        json.loads(text)  # never truncated or half-written


def test_a_host_that_is_down_is_unreachable_and_the_others_converge(
    fresh: LabSession, tmp_path: Path
) -> None:
    def add_dead_host(data: dict) -> None:
        hosts_of(data)["rocky9"] = {"ansible_host": "10.200.0.19"}

    inventory = derived_inventory(fresh.inventory, tmp_path / "inv.yml", add_dead_host)
    result = provision("apply", str(inventory), "--timeout", "2", "--format", "json")
    assert result.returncode == 3, result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    assert hosts["rocky9"]["status"] == "unreachable"
    assert "10.200.0.19" in hosts["rocky9"]["error"]
    for host in fresh.hosts:
        assert hosts[host.name]["status"] == "changed", hosts[host.name]["error"]


def test_dnf_failure_shows_dnf_lines_and_stops_that_host(fresh: LabSession) -> None:
    host = fresh.hosts[0]
    run_on(host, "dnf -y -q remove docker-buildx-plugin")
    result = provision(
        "apply",
        str(fresh.inventory),
        "--limit",
        host.name,
        "--format",
        "json",
        "-e",
        '{"docker_packages": ["docker-ce", "docker-buildx-plugin", "no-such-package"]}',
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)["hosts"][host.name]
    failed = [t for t in report["tasks"] if t["status"] == "failed"]
    assert len(failed) == 1
    assert "dnf -y install" in failed[0]["message"]
    assert any("no-such-package" in line for line in failed[0]["output"]), failed[0]["output"]
    after = report["tasks"][report["tasks"].index(failed[0]) + 1 :]
    assert after == [], "tasks ran after the failure"
    rerun = provision("apply", str(fresh.inventory), "--limit", "@last-failed")
    assert rerun.returncode == 0, rerun.stdout
    assert f"PLAY Docker hosts (1 host: {host.name})" in rerun.stdout


def test_connection_cut_while_dnf_runs(fresh: LabSession) -> None:
    victim = fresh.hosts[1]
    run_on(victim, "dnf -y -q remove docker-ce docker-ce-cli containerd.io")
    proc = subprocess.Popen(
        [sys.executable, "-m", "provision", "apply", str(fresh.inventory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(victim.name) and "dnf -y install" in line:
            break
    time.sleep(0.3)
    run_on(victim, "pkill -KILL -f '^sshd: rocky' || true")
    out = "".join(seen) + proc.stdout.read()
    proc.wait(timeout=300)
    assert proc.returncode == 1, out
    assert "connection lost" in out or "without an exit status" in out, out
    daemon_json_ok(victim)
    rerun = provision("apply", str(fresh.inventory))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert run_on(victim, "docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"


def test_a_host_rebooting_mid_run_fails_and_a_rerun_converges(fresh: LabSession) -> None:
    victim = fresh.hosts[2]
    run_on(victim, "rm -f /etc/docker/daemon.json; dnf -y -q remove docker-compose-plugin")
    proc = subprocess.Popen(
        [sys.executable, "-m", "provision", "apply", str(fresh.inventory), "--limit", victim.name],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "dnf -y install" in line:
            break
    run_on(victim, "systemctl reboot", check=False)
    out = "".join(seen) + proc.stdout.read()
    proc.wait(timeout=300)
    assert proc.returncode in (1, 3), out
    deadline = time.monotonic() + 60
    while run_on(victim, "true", check=False).returncode != 0:
        assert time.monotonic() < deadline, "host did not come back"
        time.sleep(1)
    rerun = provision("apply", str(fresh.inventory), "--limit", victim.name)
    assert rerun.returncode == 0, rerun.stdout
    daemon_json_ok(victim)


def test_another_dnf_holding_the_lock_is_waited_for_with_a_message(fresh: LabSession) -> None:
    host = fresh.hosts[0]
    run_on(host, "dnf -y -q remove docker-compose-plugin")
    # Another dnf, as far as the lock is concerned: a live process whose pid is in the lock.
    run_on(
        host, "setsid sleep 4 >/dev/null 2>&1 < /dev/null & echo $! > /var/lib/dnf/rpmdb_lock.pid"
    )
    result = provision("apply", str(fresh.inventory), "--limit", host.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for another dnf" in result.stdout
