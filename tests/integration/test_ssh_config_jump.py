"""ssh_config, ansible.cfg, INI inventories and multi-hop ProxyJump over real sshd on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURES
from tests.integration.sshd import Sshd, free_port, start_sshd
from tests.integration.test_ssh_engine import make_project

pytestmark = pytest.mark.integration


def provision(project: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def bastions(tmp_path: Path, sshd: Sshd) -> Iterator[list[Sshd]]:
    """Two more sshd on loopback that accept the target's client key."""
    started = []
    try:
        for name in ("bastion1", "bastion2"):
            server = start_sshd(tmp_path / name)
            (server.directory / "authorized_keys").write_text(
                sshd.client_key.with_suffix(".pub").read_text()
            )
            started.append(server)
        yield started
    finally:
        for server in started:
            server.stop()


def project_with(tmp_path: Path, sshd: Sshd, host_vars: str) -> Path:
    project = make_project(tmp_path / "project", host_vars)
    (project / "known_hosts").write_text(sshd.known_hosts_line())
    return project


def accepted(server: Sshd) -> int:
    return (server.directory / "sshd.log").read_text().count("Accepted publickey for root")


def test_two_hops_with_dash_j(tmp_path: Path, sshd: Sshd, bastions: list[Sshd]) -> None:
    b1, b2 = bastions
    project = project_with(
        tmp_path,
        sshd,
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {tmp_path / 'target'}\n",
    )
    (project / "known_hosts").write_text(
        sshd.known_hosts_line() + b1.known_hosts_line() + b2.known_hosts_line()
    )
    jump = f"root@127.0.0.1:{b1.port},root@127.0.0.1:{b2.port}"
    result = provision(project, "plan", "inventory.yml", "-J", jump, "-vvvv")
    assert result.returncode == 4, result.stdout + result.stderr
    assert accepted(b1) == 1 and accepted(b2) == 1, "both hops were not used"
    assert "jump host 1 of 2" in result.stderr and "jump host 2 of 2" in result.stderr
    assert "auth: key" in result.stderr


def test_ssh_config_alias_and_proxyjump_alias(
    tmp_path: Path, sshd: Sshd, bastions: list[Sshd]
) -> None:
    """The inventory names `target` only; ~/.ssh/config gives HostName, Port, User,
    IdentityFile, and a ProxyJump through two aliases defined there too (one by Include)."""
    b1, b2 = bastions
    home = tmp_path / "home"
    (home / ".ssh" / "conf.d").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(
        sshd.known_hosts_line() + b1.known_hosts_line() + b2.known_hosts_line()
    )
    (home / ".ssh" / "conf.d" / "bastions").write_text(
        f"Host hop1\n  HostName 127.0.0.1\n  Port {b1.port}\n  User root\n"
        f"Host hop2\n  HostName 127.0.0.1\n  Port {b2.port}\n  User root\n"
    )
    (home / ".ssh" / "config").write_text(
        "Include conf.d/*\n"
        "Host target\n"
        f"  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  ProxyJump hop1,hop2\n"
        f"Host *\n  IdentityFile {sshd.client_key}\n"
    )
    project = make_project(tmp_path / "project", f"      base: {tmp_path / 'target'}\n")
    result = provision(project, "plan", "inventory.yml", home=home)
    assert result.returncode == 4, result.stdout + result.stderr
    assert accepted(b1) == 1 and accepted(b2) == 1
    # -F: the same file given by name
    other = tmp_path / "other_config"
    other.write_text((home / ".ssh" / "config").read_text().replace("Include conf.d/*\n", ""))
    (other.parent / "more").write_text((home / ".ssh" / "conf.d" / "bastions").read_text())
    other.write_text(other.read_text() + (other.parent / "more").read_text())
    (home / ".ssh" / "config").write_text("Host *\n  Port 1\n")
    by_f = provision(project, "plan", "inventory.yml", "-F", str(other), home=home)
    assert by_f.returncode == 4, by_f.stdout + by_f.stderr


def test_failing_bastion_is_named_not_the_target(
    tmp_path: Path, sshd: Sshd, bastions: list[Sshd]
) -> None:
    b1, _ = bastions
    dead = free_port()
    project = project_with(
        tmp_path,
        sshd,
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {tmp_path / 'target'}\n",
    )
    (project / "known_hosts").write_text(sshd.known_hosts_line() + b1.known_hosts_line())
    jump = f"root@127.0.0.1:{b1.port},root@127.0.0.1:{dead}"
    result = provision(project, "plan", "inventory.yml", "-J", jump, "--timeout", "3")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"jump host 2 of 2 root@127.0.0.1:{dead}" in result.stdout, result.stdout
    # the first hop down: it is the one named
    jump = f"root@127.0.0.1:{dead},root@127.0.0.1:{b1.port}"
    result = provision(project, "plan", "inventory.yml", "-J", jump, "--timeout", "3")
    assert result.returncode == 3
    assert f"jump host 1 of 2 root@127.0.0.1:{dead}" in result.stdout, result.stdout
    assert "Connection refused" in result.stdout


def test_ini_inventory_and_ansible_cfg(tmp_path: Path, sshd: Sshd) -> None:
    """An Ansible project as it is: INI inventory named in ansible.cfg, remote_user and
    private_key_file from ansible.cfg, host_key_checking off (provision records the key)."""
    project = make_project(tmp_path / "project", "")
    (project / "inventory.yml").unlink()
    (project / "hosts").write_text(
        f"[targets]\ntarget ansible_host=127.0.0.1 ansible_port={sshd.port}"
        f" base={tmp_path / 'target'}\n"
    )
    (project / "ansible.cfg").write_text(
        "[defaults]\ninventory = hosts\nremote_user = root ; a comment\n"
        f"private_key_file = {sshd.client_key}\nhost_key_checking = False\nforks = 3\n"
        "[ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ControlPersist=60s\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    result = provision(project, "plan", home=home)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "still refuses a changed one" in result.stderr
    assert "127.0.0.1" in (home / ".ssh" / "known_hosts").read_text()
    listed = provision(project, "plan", "--list-hosts", home=home)
    assert listed.returncode == 0 and "  target" in listed.stdout


assert FIXTURES.is_dir()
