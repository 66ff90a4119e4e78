"""A mixed fleet on the lab (`lab up --os`): rocky1 as booted (Rocky 9), rocky2 says it is
Rocky 8, rocky3 RHEL 9. `provision facts` shows each host's OS; `provision plan` gives each
its own docker-ce repository path (tree and pinned major) and its release's packages; the
repo server answers each path; `provision check` says why time sync is not a FAIL here.
Only the identity differs on these hosts (docs/lab.md): the userland is the image's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.lab import lab_down, lab_paths, lab_up
from tests.lab.conftest import LabSession, require_lab, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
RELEASES = {"rocky1": "rocky9", "rocky2": "rocky8", "rocky3": "rhel9"}


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def mixed() -> Iterator[LabSession]:
    require_lab()
    lab_down(wipe=True)
    try:
        hosts = lab_up(3, None, RELEASES)
        yield LabSession(hosts, lab_paths().inventory)
    finally:
        if not os.environ.get("PROVISION_LAB_KEEP"):
            lab_down(wipe=True)


def test_facts_show_each_hosts_release(mixed: LabSession) -> None:
    result = provision("facts", str(mixed.inventory), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    seen = {
        name: (
            h["ansible"]["ansible_distribution"],
            h["ansible"]["ansible_distribution_major_version"],
        )
        for name, h in hosts.items()
    }
    assert seen == {"rocky1": ("Rocky", "9"), "rocky2": ("Rocky", "8"), "rocky3": ("RedHat", "9")}
    text = provision("facts", str(mixed.inventory), "--limit", "rocky3")
    assert "Red Hat Enterprise Linux 9.5" in text.stdout, text.stdout
    assert run_on(mixed.hosts[1], "cat /etc/redhat-release").stdout.startswith(
        "Rocky Linux release 8.10"
    )
    # the default host keeps the image's own files
    assert run_on(mixed.hosts[0], "readlink /etc/os-release", check=False).stdout.strip()


def _lines(output: str, host: str) -> str:
    """The plan lines of one host (its own lines and their indented details)."""
    keep, mine = [], False
    for line in output.splitlines():
        if re.match(r"^\S", line):
            mine = line.startswith(host + " ")
        if mine:
            keep.append(line)
    return "\n".join(keep)


def test_plan_differs_per_host(mixed: LabSession) -> None:
    result = provision("plan", str(mixed.inventory))
    assert result.returncode == 4, result.stdout + result.stderr  # 4: changes pending
    base = "http://10.200.0.1:8080/docker-ce/linux"
    expected = {
        "rocky1": (f"{base}/centos/9/$basearch/stable", "EL9 packages", "centos 9"),
        "rocky2": (f"{base}/centos/8/$basearch/stable", "package iptables: absent", "centos 8"),
        "rocky3": (f"{base}/rhel/9/$basearch/stable", "EL9 packages", "rhel 9"),
    }
    for host, (baseurl, package, task) in expected.items():
        mine = _lines(result.stdout, host)
        assert f"baseurl={baseurl}" in mine, mine
        assert f"Docker CE repository, {task} (major version pinned)" in mine, mine
        assert package in mine, mine
        assert "$releasever" not in mine
        others = [u for h, (u, _, _) in expected.items() if u != baseurl]
        assert not any(f"baseurl={u}" in mine for u in others)
    assert "EL8 packages Docker CE needs" in _lines(result.stdout, "rocky2")
    assert "EL8 packages" not in _lines(result.stdout, "rocky1")
    assert "package iptables: absent" not in _lines(result.stdout, "rocky3")
    # still one connection and one remote command per host, facts included
    assert result.stdout.count("1 connection, 1 remote command") == 3


@pytest.mark.parametrize(
    "path", ["centos/9", "centos/8", "rhel/9", "rhel/8", "centos/10", "rhel/10"]
)
def test_the_repo_server_answers_each_path(mixed: LabSession, path: str) -> None:
    url = f"http://10.200.0.1:8080/docker-ce/linux/{path}/x86_64/stable/repodata/repomd.xml"
    got = run_on(mixed.hosts[1], f"curl -s -o /dev/null -w '%{{http_code}}' --noproxy '*' {url}")
    assert got.stdout == "200"


def test_check_warns_time_sync_in_a_container(mixed: LabSession) -> None:
    result = provision("check", str(mixed.inventory), "--limit", "rocky2", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    found = json.dumps(doc)
    assert "systemd-nspawn container: its clock is the kernel's" in found
    assert "Rocky Linux 8.10" in found


def test_a_rhel9_host_applies_through_its_own_tree_and_converges(mixed: LabSession) -> None:
    """rocky3 (RHEL 9 by identity): the packages of its release exist in the lab repo, so
    apply goes through dnf on linux/rhel/9 for real; the re-run is one remote command."""
    rhel = mixed.hosts[2]
    first = provision("apply", str(mixed.inventory), "--limit", rhel.name)
    assert first.returncode == 0, first.stdout + first.stderr
    repo = run_on(rhel, "cat /etc/yum.repos.d/docker-ce.repo").stdout
    assert "baseurl=http://10.200.0.1:8080/docker-ce/linux/rhel/9/$basearch/stable" in repo
    assert run_on(rhel, "rpm -q docker-ce iptables-nft container-selinux").returncode == 0
    log = lab_paths().proxy_log.read_text()
    assert "/docker-ce/linux/rhel/9/x86_64/stable/" in log  # dnf went there, via the proxy
    again = provision("apply", str(mixed.inventory), "--limit", rhel.name)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 connection, 1 remote command" in again.stdout, again.stdout
