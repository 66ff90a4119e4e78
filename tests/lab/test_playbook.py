"""The Docker-host playbook on 3 fresh lab hosts, through the real CLI over real SSH."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provision.lab import lab_paths
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
WATCHED_FILES = "/etc/dnf/dnf.conf /etc/yum.repos.d /etc/sysctl.d /etc/docker /etc/systemd/system"


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def host_snapshot(session: LabSession) -> dict[str, str]:
    script = (
        f"rpm -qa | sort; find {WATCHED_FILES} -type f 2>/dev/null | sort | xargs md5sum;"
        " sysctl -n net.ipv4.ip_forward"
    )
    return {h.name: run_on(h, script).stdout for h in session.hosts}


@pytest.fixture(scope="module")
def fresh(fresh_hosts: LabSession) -> LabSession:
    """Hosts with fresh disks (conftest resets them for each module)."""
    return fresh_hosts


@pytest.fixture(scope="module")
def converged(fresh: LabSession) -> dict:
    """Plan on fresh hosts (checked to touch nothing), then the first apply's JSON."""
    before = host_snapshot(fresh)
    plan = provision("plan", str(fresh.inventory))
    assert plan.returncode == 4, plan.stdout + plan.stderr
    for expected in (
        "+baseurl=http://10.200.0.1:8080/docker-ce/linux/centos/9/$basearch/stable",
        "package docker-ce: absent → present",
        "package containerd.io: absent → present",
        "package podman-docker: installed → absent",
        "sysctl net.ipv4.ip_forward: 0 → 1",
        '+  "storage-driver": "overlay2"',
        "+proxy=http://",
        "service docker.service: inactive → active",
    ):
        assert expected in plan.stdout, expected
    assert host_snapshot(fresh) == before, "plan changed a host"
    apply = provision("apply", str(fresh.inventory), "--format", "json")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    return json.loads(apply.stdout)


def test_first_apply_converges_all_hosts(fresh: LabSession, converged: dict) -> None:
    assert set(converged["hosts"]) == {h.name for h in fresh.hosts}
    for name, host in converged["hosts"].items():
        assert host["status"] == "changed", (name, host["error"])
        assert host["connections"] == 1


def test_second_apply_changes_nothing_and_plan_is_clean(fresh: LabSession, converged: dict) -> None:
    again = provision("apply", str(fresh.inventory), "--format", "json")
    assert again.returncode == 0, again.stderr
    for name, host in json.loads(again.stdout)["hosts"].items():
        assert host["counts"]["changed"] == 0, name
        assert host["connections"] == 1
        assert host["remote_commands"] <= 2, (name, host["remote_commands"])
    plan = provision("plan", str(fresh.inventory))
    assert plan.returncode == 0, plan.stdout


def test_engine_runs_with_overlay2_and_the_runc_trap_is_avoided(
    fresh: LabSession, converged: dict
) -> None:
    for host in fresh.hosts:
        assert run_on(host, "docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"
        assert run_on(host, "systemctl is-enabled docker").stdout.strip() == "enabled"
        packages = run_on(host, "rpm -q docker-ce containerd.io", check=False)
        assert packages.returncode == 0, packages.stdout
        for gone in ("podman", "podman-docker"):
            assert run_on(host, f"rpm -q {gone}", check=False).returncode != 0
    third = provision("apply", str(fresh.inventory), "--format", "json")
    for host in json.loads(third.stdout)["hosts"].values():
        removals = [t for t in host["tasks"] if t["status"] == "changed"]
        assert removals == []
    for host in fresh.hosts:
        assert run_on(host, "rpm -q docker-ce containerd.io", check=False).returncode == 0


def test_dnf_went_through_the_lab_proxy(fresh: LabSession, converged: dict) -> None:
    log = lab_paths().proxy_log.read_text()
    for host in fresh.hosts:
        assert host.address in log, f"no proxied request from {host.name}"


def test_drift_is_planned_exactly_and_repaired_with_one_restart(
    fresh: LabSession, converged: dict
) -> None:
    host = fresh.hosts[0]
    run_on(host, "sed -i 's/overlay2/vfs/' /etc/docker/daemon.json")
    plan = provision("plan", str(fresh.inventory), "--limit", host.name)
    assert plan.returncode == 4
    assert '-  "storage-driver": "vfs"' in plan.stdout
    assert '+  "storage-driver": "overlay2"' in plan.stdout
    assert plan.stdout.count("will change") == 2, plan.stdout  # the file and its handler
    apply = provision("apply", str(fresh.inventory), "--limit", host.name, "--format", "json")
    assert apply.returncode == 0, apply.stderr
    tasks = json.loads(apply.stdout)["hosts"][host.name]["tasks"]
    restarts = [t for t in tasks if t["handler"] and t["status"] == "changed"]
    assert len(restarts) == 1
    assert run_on(host, "docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"


def test_verify_passes_on_converged_hosts_and_writes_junit(
    fresh: LabSession, converged: dict, tmp_path: Path
) -> None:
    junit = tmp_path / "verify.xml"
    result = provision("verify", str(fresh.inventory), "--junit-xml", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFY" in result.stdout
    for host in fresh.hosts:
        assert f"{host.name}" in result.stdout
    assert "<testsuite" in junit.read_text()


def test_verify_fails_on_a_host_that_drifted(fresh: LabSession, converged: dict) -> None:
    host = fresh.hosts[1]
    run_on(host, "sysctl -q -w net.ipv4.ip_forward=0; systemctl stop docker")
    try:
        result = provision("verify", str(fresh.inventory), "--limit", host.name)
        assert result.returncode == 1, result.stdout
        assert "net.ipv4.ip_forward is 0, expected 1" in result.stdout
        assert "FAIL" in result.stdout
    finally:
        assert provision("apply", str(fresh.inventory), "--limit", host.name).returncode == 0


def test_apply_with_verify_runs_the_checks_after_a_good_apply(
    fresh: LabSession, converged: dict
) -> None:
    result = provision("apply", str(fresh.inventory), "--verify", "--limit", fresh.hosts[0].name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RECAP" in result.stdout and "VERIFY" in result.stdout
    assert "test_imported_image_runs" not in result.stdout  # it passed, so it is not listed
