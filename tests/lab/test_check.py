"""`provision check` on fresh lab hosts: read-only (rpm -qa and /etc unchanged), one
connection and one remote command per host, the storage check FAILs while Docker's data
is on the root file system, and PASSes after `apply` with the docker_storage role (when
that role exists in this checkout)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from provision.lab import lab_paths
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = (
    "rpm -qa | sort | md5sum; "
    "find /etc -xdev \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 md5sum 2>&1 | md5sum"
)


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def snapshot(session: LabSession) -> dict[str, str]:
    return {h.name: run_on(h, SNAPSHOT).stdout for h in session.hosts}


@pytest.fixture(scope="module")
def first_check(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> dict:
    before = snapshot(fresh_hosts)
    proxy_log = lab_paths().proxy_log
    log_before = proxy_log.read_text() if proxy_log.exists() else ""
    junit = tmp_path_factory.mktemp("check") / "check.xml"
    result = provision(
        "check", str(fresh_hosts.inventory), "--format", "json", "--junit-xml", str(junit)
    )
    after = snapshot(fresh_hosts)
    log_after = proxy_log.read_text() if proxy_log.exists() else ""
    return {
        "result": result,
        "doc": json.loads(result.stdout),
        "unchanged": before == after,
        "junit": junit.read_text(),
        "proxy_log": log_after[len(log_before) :],
        "text": provision("check", str(fresh_hosts.inventory)),
    }


def results_of(doc: dict, host: str, check: str) -> list[dict]:
    return [r for r in doc["hosts"][host]["results"] if r["check"] == check]


def test_check_touches_nothing(first_check: dict) -> None:
    assert first_check["unchanged"], "provision check changed rpm -qa or /etc on a host"


def test_fresh_hosts_fail_the_storage_check(fresh_hosts: LabSession, first_check: dict) -> None:
    assert first_check["result"].returncode == 1, first_check["result"].stderr
    doc = first_check["doc"]
    assert doc["exit_code"] == 1
    for host in fresh_hosts.hosts:
        assert doc["hosts"][host.name]["status"] == "fail"
        (volume,) = results_of(doc, host.name, "docker data volume")
        # the lab bind-mounts a directory of the machine's disk at /var/lib/docker
        assert volume["level"] == "FAIL", volume
        assert "bind-mounted" in volume["measured"] or "root file system" in volume["measured"]
        assert "docker_storage" in volume["advice"]
        (os_check,) = results_of(doc, host.name, "os")
        assert os_check["level"] == "PASS" and "Rocky Linux 9" in os_check["measured"]
        for name in ("cpus", "memory"):
            (found,) = results_of(doc, host.name, name)
            assert found["level"] in ("PASS", "FAIL") and found["threshold"].startswith(">=")
        (cleanup,) = results_of(doc, host.name, "cleanup")
        assert cleanup["level"] == "INFO" and "podman" in cleanup["measured"]


def test_repositories_are_asked_through_the_lab_proxy(
    fresh_hosts: LabSession, first_check: dict
) -> None:
    doc = first_check["doc"]
    for host in fresh_hosts.hosts:
        repos = [r for r in doc["hosts"][host.name]["results"] if r["check"].startswith("repo")]
        assert repos, "no repository checked"
        for repo in repos:
            assert repo["threshold"].startswith("HEAD through http://10.200.0.1:3128"), repo
            assert repo["level"] == "PASS", repo
        assert any(r["check"] == "repo docker-ce (pinned baseurl)" for r in repos), repos
    log = first_check["proxy_log"]
    for host in fresh_hosts.hosts:
        assert host.address in log, f"no HEAD from {host.name} in the proxy's log"


def test_junit_and_text(fresh_hosts: LabSession, first_check: dict) -> None:
    root = ElementTree.fromstring(first_check["junit"])
    assert {s.get("name") for s in root} == {h.name for h in fresh_hosts.hosts}
    assert all(int(s.get("failures")) >= 1 for s in root)
    text = first_check["text"]
    assert text.returncode == 1
    assert "FAIL  docker data volume" in text.stdout


def test_check_is_one_connection_and_one_remote_command(
    fresh_hosts: LabSession, first_check: dict
) -> None:
    facts = provision("facts", str(fresh_hosts.inventory), "--format", "json")
    assert facts.returncode == 0, facts.stderr
    for name, host in json.loads(facts.stdout)["hosts"].items():
        assert (host["connections"], host["remote_commands"]) == (1, 1), name


def test_storage_passes_after_docker_storage(fresh_hosts: LabSession, tmp_path: Path) -> None:
    if not (ROOT / "roles" / "docker_storage").is_dir():
        pytest.skip("no roles/docker_storage in this checkout (it comes with the storage branch)")
    from provision.lab.spare import device_mapper_available

    if not device_mapper_available():
        pytest.skip(
            "the machine's kernel has no device-mapper: docker_storage cannot make the LV in"
            " the lab (docs/lab.md, The spare disk), so the storage check stays FAIL here"
        )
    host = fresh_hosts.hosts[0]
    playbook = tmp_path / "storage.yml"
    playbook.write_text("- hosts: docker_hosts\n  become: true\n  roles: [docker_storage]\n")
    device = "docker_storage_device=/dev/vdb"
    inventory = str(fresh_hosts.inventory)
    apply = provision("apply", inventory, "-p", str(playbook), "-l", host.name, "-e", device)
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr[-3000:]
    result = provision("check", inventory, "-l", host.name, "-e", device, "--format", "json")
    doc = json.loads(result.stdout)
    for name in ("docker data volume", "docker data fs"):
        (found,) = results_of(doc, host.name, name)
        assert found["level"] == "PASS", found
    mount = run_on(host, "findmnt -n -o FSTYPE,SOURCE /var/lib/docker | tail -n 1").stdout
    assert mount.split() == ["xfs", "/dev/mapper/vg_docker-lv_docker"], mount
    assert "ftype=1" in run_on(host, "xfs_info /var/lib/docker").stdout
