"""Trust and persistence on real lab hosts (issue 10, class 8).

- A wrong `docker_gpg_fingerprint` stops the host at the key, before any docker package,
  repository file or key is on it; plan says so first, touching nothing.
- A `/etc/sysctl.conf` line `net.ipv4.ip_forward = 0` (read at boot after
  99-docker.conf, through the 99-sysctl.conf link) is planned as an override, named, and
  fixed: after apply, `sysctl --system` (what boot does) leaves forwarding on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provision.facts.openpgp import primary_fingerprints
from provision.lab.image import current_image
from provision.lab.repos import RepoLayout
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
DOCKER = "060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35"  # Docker's, not the lab's


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def lab_key_fingerprint() -> str:
    image = current_image()
    assert image is not None
    return primary_fingerprints((image.repos / RepoLayout().docker_gpg).read_bytes())[0]


def test_lab_vars_pin_the_lab_images_key(fresh_hosts: LabSession) -> None:
    text = (fresh_hosts.inventory.parent / ".lab" / "vars.yml").read_text()
    assert f'docker_gpg_fingerprint: "{lab_key_fingerprint()}"' in text


def test_wrong_fingerprint_fails_before_any_docker_install(fresh_hosts: LabSession) -> None:
    host = fresh_hosts.hosts[0]
    pin = ["--limit", host.name, "-e", f"docker_gpg_fingerprint={DOCKER}"]
    plan = provision("plan", str(fresh_hosts.inventory), *pin)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    refusal = [
        "refusing the GPG key from http://10.200.0.1:8080/docker-ce/linux/rhel/gpg",
        f"its key has fingerprint {lab_key_fingerprint()}",
        f"the pinned fingerprint is {DOCKER}",
    ]
    assert all(part in plan.stdout + plan.stderr for part in refusal), plan.stdout
    apply = provision("apply", str(fresh_hosts.inventory), *pin)
    assert apply.returncode == 1, apply.stdout + apply.stderr
    assert all(part in apply.stdout + apply.stderr for part in refusal), apply.stdout
    short = lab_key_fingerprint()[-8:].lower()
    state = run_on(
        host,
        "rpm -q docker-ce containerd.io dnf-plugins-core; rpm -qa gpg-pubkey;"
        " ls /etc/yum.repos.d /etc/pki/rpm-gpg",
        check=False,
    ).stdout
    assert "package docker-ce is not installed" in state
    assert "package containerd.io is not installed" in state
    assert short not in state, "the lab's key was imported"
    assert "docker-ce.repo" not in state and "RPM-GPG-KEY-docker-ce" not in state


def test_sysctl_conf_override_is_planned_and_fixed(fresh_hosts: LabSession) -> None:
    host = fresh_hosts.hosts[1]
    run_on(
        host,
        "echo 'net.ipv4.ip_forward = 0' >> /etc/sysctl.conf; sysctl -q -w net.ipv4.ip_forward=1",
    )
    line = run_on(host, "grep -c '' /etc/sysctl.conf").stdout.strip()
    only = ["--limit", host.name, "--tags", "ip_forward"]
    plan = provision("plan", str(fresh_hosts.inventory), *only)
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert (
        f"/etc/sysctl.conf:{line} sets net.ipv4.ip_forward = 0 after"
        " /etc/sysctl.d/99-docker.conf at boot: comment it out"
    ) in plan.stdout
    apply = provision("apply", str(fresh_hosts.inventory), *only)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    conf = run_on(host, "cat /etc/sysctl.conf").stdout
    assert "\nnet.ipv4.ip_forward = 0" not in conf
    assert (
        "# provision: net.ipv4.ip_forward is set in /etc/sysctl.d/99-docker.conf;"
        " was: net.ipv4.ip_forward = 0"
    ) in conf
    assert run_on(host, "test -L /etc/sysctl.d/99-sysctl.conf", check=False).returncode == 0
    # what boot does: every file in order; forwarding stays on
    run_on(host, "sysctl -q -w net.ipv4.ip_forward=0; sysctl --system >/dev/null 2>&1; true")
    assert run_on(host, "sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"
    again = provision("plan", str(fresh_hosts.inventory), *only)
    assert again.returncode == 0, again.stdout + again.stderr
