"""An air-gapped site on the lab (issue 16): `provision lab up --airgap`, then the
Docker-host playbook with `offline_bundle` set.

The bundle is made here in the lead's fixed format from the lab image's own repositories
(docker-ce and BaseOS RPMs, one dnf repository made with createrepo_c, the two signing
keys). rocky1 gets it: docker-ce installs from the bundle, the lab's package server and
proxy log no request from it, `docker info` answers and a container runs; a second apply
changes nothing and sends nothing. rocky2 gets the same bundle with one byte of one RPM
changed: the controller refuses it naming the file and that RPM, before any host is
touched."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provision.bundle.testing import bundle_id_of as bundle_id
from provision.bundle.testing import make_bundle
from provision.lab import lab_paths
from provision.lab.image import current_image
from tests.lab.airgaplab import ROOT, corrupted_copy, log_lines, log_size, offline_inventory
from tests.lab.airgaplab import provision as run_provision
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
PLAYBOOK = ROOT / "playbooks" / "docker-host.yml"
OFFLINE = "/var/lib/provision/offline"
DOCKER_RPM = f"{OFFLINE}/current/rpms/el9/x86_64/docker-ce-[0-9]*.rpm"
BLOCKED = "http://10.200.0.1:8080/rocky/9/BaseOS/x86_64/os/repodata/repomd.xml"


def provision(*args: str) -> subprocess.CompletedProcess:
    return run_provision(*args, transcript_var="PROVISION_AIRGAP_TRANSCRIPT")  # docs/airgap.md


def make_lab_bundle(work: Path) -> Path:
    """docker-ce + BaseOS RPMs of the lab image as one dnf repository, and both keys, as
    `provision bundle create` writes a bundle (so the controller's check accepts it too)."""
    image = current_image()
    assert image is not None
    repos = image.path / "repos"
    assert shutil.which("createrepo_c"), "createrepo_c is needed (the lab image build uses it too)"
    rpms = [rpm for rpm in sorted(repos.rglob("*.rpm")) if "/lab/" not in str(rpm)]
    keys = [repos / "docker-ce" / "linux" / "rhel" / "gpg", repos / "rocky" / "RPM-GPG-KEY-Rocky-9"]
    return make_bundle(work, rpms=rpms, keys=keys, name="lab-offline-el9.tar", createrepo=True)


@pytest.fixture(scope="module")
def airgapped(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("airgap")
    bundle = make_lab_bundle(work)
    verified = provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--airgap")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "air-gapped: rocky1, rocky2, rocky3" in verified.stderr, verified.stderr
    paths = lab_paths()
    marks = {p: log_size(p) for p in (paths.proxy_log, paths.repo_log)}
    inventory = offline_inventory(fresh_hosts, work / "inv.yml", bundle)
    try:
        yield {
            "session": fresh_hosts,
            "bundle": bundle,
            "inventory": inventory,
            "work": work,
            "marks": marks,
            "lab_up": verified.stdout,
        }
    finally:
        provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--no-airgap")


@pytest.fixture(scope="module")
def applied(airgapped: dict) -> dict:
    host = airgapped["session"].hosts[0]
    done = provision(
        "apply", str(airgapped["inventory"]), "-p", str(PLAYBOOK), "--limit", host.name
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {"host": host, "output": done.stdout}


def test_an_airgapped_host_cannot_reach_the_package_server_or_proxy(airgapped: dict) -> None:
    host = airgapped["session"].hosts[0]
    direct = run_on(host, f"curl -sS -m 5 -o /dev/null {BLOCKED}", check=False)
    assert direct.returncode != 0, direct.stdout
    proxied = run_on(
        host, f"curl -sS -m 5 -o /dev/null -x http://10.200.0.1:3128 {BLOCKED}", check=False
    )
    assert proxied.returncode != 0, proxied.stdout
    # the hosts still reach each other (the bridge): SSH from rocky1 to rocky2's port 22
    other = airgapped["session"].hosts[1]
    banner = run_on(host, f"timeout 5 bash -c 'head -c 4 </dev/tcp/{other.address}/22'")
    assert banner.stdout == "SSH-"


def test_docker_installs_from_the_bundle_with_no_request_out(
    airgapped: dict, applied: dict
) -> None:
    host = applied["host"]
    assert "copy bundle lab-offline-el9.tar" in applied["output"]
    ident = bundle_id(airgapped["bundle"])
    assert run_on(host, f"readlink {OFFLINE}/current").stdout.strip() == ident
    origin = run_on(host, "dnf -q repoquery --installed --qf '%{from_repo}' docker-ce")
    assert origin.stdout.strip() == "provision-offline", origin.stdout
    repo = run_on(host, "cat /etc/yum.repos.d/provision-offline.repo").stdout
    assert "gpgcheck=1" in repo and f"baseurl=file://{OFFLINE}/current/rpms/el9/" in repo
    assert run_on(host, "ls /etc/yum.repos.d/*.repo").stdout.split() == [
        "/etc/yum.repos.d/provision-offline.repo"
    ]
    for log, offset in airgapped["marks"].items():
        assert log_lines(log, offset, host.address) == [], f"{log.name} has requests"
    info = run_on(host, "docker info --format '{{.ServerVersion}} {{.Driver}}'")
    assert info.stdout.split()[1] == "overlay2"
    ran = run_on(
        host,
        "docker image inspect busybox:offline >/dev/null 2>&1 ||"
        " docker import /opt/lab/busybox-rootfs.tar busybox:offline >/dev/null;"
        " docker run --rm busybox:offline echo hello from inside",
    )
    assert ran.stdout.strip() == "hello from inside"


def test_reapply_changes_nothing_and_sends_nothing(airgapped: dict, applied: dict) -> None:
    host = applied["host"]
    again = provision(
        "apply",
        str(airgapped["inventory"]),
        "-p",
        str(PLAYBOOK),
        "--limit",
        host.name,
        "--format",
        "json",
    )
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)["hosts"][host.name]
    assert report["counts"]["changed"] == 0
    assert report["remote_commands"] <= 2, report["remote_commands"]
    assert ".provision-bundle" not in run_on(host, "ls -A /var/tmp").stdout
    kept = run_on(host, f"ls {OFFLINE}").stdout.split()
    assert kept == sorted([bundle_id(airgapped["bundle"]), "current"])


def test_check_reports_the_bundle_current_and_whole(airgapped: dict, applied: dict) -> None:
    host = applied["host"]
    checked = provision("check", str(airgapped["inventory"]), "--limit", host.name)
    line = next(x for x in checked.stdout.splitlines() if "offline bundle" in x)
    assert line.split()[0] == "PASS", checked.stdout
    run_on(host, f"cp {DOCKER_RPM} /root/keep.rpm")
    run_on(host, f"truncate -s -1 {DOCKER_RPM}")
    try:
        broken = provision("check", str(airgapped["inventory"]), "--limit", host.name)
        line = next(x for x in broken.stdout.splitlines() if "offline bundle" in x)
        assert line.split()[0] == "FAIL" and "docker-ce-" in line, broken.stdout
    finally:
        run_on(host, f"cp /root/keep.rpm {DOCKER_RPM}")


def test_a_corrupted_bundle_is_refused_before_anything_is_installed(airgapped: dict) -> None:
    host = airgapped["session"].hosts[1]
    bad, member = corrupted_copy(
        airgapped["bundle"],
        airgapped["work"] / "lab-offline-el9-bad.tar",
        lambda name: name.endswith(".rpm"),
    )
    inventory = offline_inventory(airgapped["session"], airgapped["work"] / "bad.yml", bad)
    done = provision("apply", str(inventory), "-p", str(PLAYBOOK), "--limit", host.name)
    # the controller verifies the whole bundle first (provision.bundle.verify): an input
    # error naming the file and the member, before any host is touched (the host's own
    # check of its copy is tests/unit/tasks/test_offline_bundle.py's, run for real there)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"bundle {bad}: member {member}: sha256 mismatch" in done.stderr, done.stderr
    assert run_on(host, "rpm -q docker-ce", check=False).returncode != 0
    assert run_on(host, f"test -e {OFFLINE}/current", check=False).returncode != 0
    assert run_on(host, "test -e /etc/yum.repos.d/provision-offline.repo", check=False).returncode
    leftovers = run_on(host, f"ls -A {OFFLINE} /var/tmp", check=False).stdout
    assert ".incoming" not in leftovers and ".provision-bundle" not in leftovers


def test_inventory_is_a_plain_copy(airgapped: dict) -> None:
    data = yaml.safe_load(airgapped["inventory"].read_text())
    assert data["all"]["vars"]["offline_bundle"].endswith("lab-offline-el9.tar")
