"""The container lab itself: up/down/status/ssh, reboot, stale state, repos, proxy, engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from provision.lab import lab_down, lab_paths, lab_reset, lab_status, lab_up
from provision.lab.core import _launcher_pidfile, _nspawn_pidfile, is_running

from .conftest import run_on

pytestmark = pytest.mark.lab


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision.lab", *args], capture_output=True, text=True, timeout=600
    )


def test_hosts_are_rocky_like(lab_hosts):
    hosts, inventory = lab_hosts
    assert [h.name for h in hosts] == ["rocky1", "rocky2", "rocky3"]
    assert inventory.is_file()
    for host in hosts:
        out = run_on(
            host,
            ". /etc/os-release; echo $ID $VERSION_ID; hostname; getenforce;"
            " systemctl is-active firewalld sshd; rpm -q podman-docker runc rocky-release",
        ).stdout.split("\n")
        assert out[0] == "rocky 9.5"
        assert out[1] == host.name
        assert out[2] == "Disabled"
        assert out[3:5] == ["active", "active"]
        assert out[5].startswith("podman-docker-")


def test_rocky_user_has_passwordless_sudo_and_sbin_path(lab_hosts):
    host = lab_hosts.hosts[0]
    out = run_on(host, "id -un; sudo -n id -u; echo $PATH", user="rocky").stdout.split()
    assert out[:2] == ["rocky", "0"]
    assert "/usr/sbin" in out[2]


def test_dnf_sees_the_signed_baseos_repo_and_an_update(lab_hosts):
    host = lab_hosts.hosts[0]
    proc = run_on(host, "dnf -q check-update", check=False)
    assert proc.returncode == 100, proc.stderr  # 100: updates available
    assert "tzdata" in proc.stdout
    repos = run_on(host, "ls /etc/yum.repos.d; grep -h gpgcheck /etc/yum.repos.d/*").stdout
    assert "docker-ce.repo" not in repos and "gpgcheck=1" in repos
    assert "dnf-plugins-core" in run_on(host, "rpm -q dnf-plugins-core").stdout


def test_status_cli_shows_hosts_and_paths(lab_hosts):
    proc = cli("status")
    assert proc.returncode == 0, proc.stderr
    for host in lab_hosts.hosts:
        assert f"{host.name}" in proc.stdout and host.address in proc.stdout
    paths = lab_paths()
    assert str(paths.proxy_log) in proc.stdout
    assert paths.repo_base in proc.stdout
    st = lab_status()
    assert [h.host for h in st.hosts if h.state == "running"] == lab_hosts.hosts


def test_ssh_cli_runs_a_command(lab_hosts):
    proc = cli("ssh", "rocky2", "hostname")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "rocky2"
    assert cli("ssh", "rocky9", "true").returncode != 0


def test_up_again_does_nothing(lab_hosts):
    started = time.monotonic()
    proc = cli("up", "--hosts", "3")
    assert proc.returncode == 0, proc.stderr
    assert "already up" in proc.stderr
    assert time.monotonic() - started < 20


def test_reboot_comes_back(lab_hosts):
    host = lab_hosts.hosts[1]
    before = run_on(host, "cat /proc/sys/kernel/random/boot_id").stdout.strip()
    run_on(host, "systemctl reboot", check=False)
    deadline = time.monotonic() + 90
    after = ""
    while time.monotonic() < deadline:
        proc = run_on(host, "cat /proc/sys/kernel/random/boot_id", check=False, timeout=10)
        if proc.returncode == 0 and proc.stdout.strip() != before:
            after = proc.stdout.strip()
            break
        time.sleep(0.5)
    assert after and after != before
    assert run_on(host, "systemctl is-active sshd firewalld").stdout.split() == ["active"] * 2


def test_dnf_goes_through_the_lab_proxy_when_configured(lab_hosts):
    host = lab_hosts.hosts[2]
    log = lab_paths().proxy_log
    start = log.stat().st_size if log.exists() else 0
    run_on(host, f"dnf -q --setopt=proxy={lab_paths().proxy_url} makecache --refresh")
    with open(log) as fh:
        fh.seek(start)
        lines = [line for line in fh.read().splitlines() if f" {host.address} " in line]
    assert any("/BaseOS/" in line and "repomd.xml 200" in line for line in lines), lines


def test_proxy_refuses_anything_but_the_lab_repos(lab_hosts):
    host = lab_hosts.hosts[2]
    proxy = lab_paths().proxy_url
    out = run_on(
        host,
        f"curl -s -o /dev/null -w '%{{http_code}}' -x {proxy} http://example.com/;"
        f" curl -s -o /dev/null -w ' %{{http_code}}' -x {proxy}"
        f" {lab_paths().repo_base}/docker-ce/linux/rhel/gpg",
    ).stdout.split()
    assert out == ["403", "200"]
    # no route out of the lab
    proc = run_on(host, "ip route show default; ip route get 1.1.1.1", check=False)
    assert proc.returncode != 0 and "default" not in proc.stdout


def test_docker_ce_from_the_lab_repo_runs_containers(lab_hosts):
    host = lab_hosts.hosts[2]
    base = lab_paths().repo_base
    try:
        run_on(host, f"dnf config-manager --add-repo {base}/docker-ce/linux/rhel/docker-ce.repo")
        conflict = run_on(host, "dnf -y install docker-ce docker-ce-cli containerd.io", check=False)
        assert conflict.returncode != 0  # podman-docker owns /usr/bin/docker
        run_on(host, "dnf -y -q remove podman podman-docker runc")
        run_on(
            host,
            "dnf -y -q install docker-ce docker-ce-cli containerd.io docker-buildx-plugin"
            " docker-compose-plugin && systemctl enable --now docker",
        )
        info = run_on(host, "docker info --format '{{.Driver}} {{.CgroupVersion}}'").stdout
        assert info.split() == ["overlay2", "2"]
        run_on(host, "docker import /opt/lab/busybox-rootfs.tar lab/busybox")
        out = run_on(host, "docker run --rm lab/busybox sh -c 'echo hello from busybox'").stdout
        assert out.strip() == "hello from busybox"
    finally:
        lab_reset(host.name)  # later tests get a fresh host
    assert "podman-docker" in run_on(host, "rpm -q podman-docker").stdout


def test_killed_host_leaves_stale_state_that_up_cleans(lab_hosts):
    host = lab_hosts.hosts[0]
    for pidfile in (_launcher_pidfile(host.name), _nspawn_pidfile(host.name)):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    time.sleep(0.5)
    assert not is_running(host.name)
    assert [h.state for h in lab_status().hosts if h.host == host] == ["stale"]
    hosts = lab_up(3)
    assert host in hosts and is_running(host.name)
    assert run_on(host, "hostname").stdout.strip() == host.name


def test_down_then_up_keeps_disks_and_host_keys(lab_hosts):
    host = lab_hosts.hosts[0]
    paths = lab_paths()
    run_on(host, "echo kept > /root/marker")
    known = paths.known_hosts.read_text()
    assert lab_down() == ["rocky1", "rocky2", "rocky3"]
    proc = cli("down")
    assert proc.returncode == 0 and "not up" in proc.stderr
    assert lab_up(3) == lab_hosts.hosts
    assert paths.known_hosts.read_text() == known
    assert run_on(host, "cat /root/marker").stdout.strip() == "kept"
