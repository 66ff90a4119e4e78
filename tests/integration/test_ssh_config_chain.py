"""A ProxyJump chain defined hop by hop in ~/.ssh/config (target -> hop2 -> hop1), over real
sshd on loopback: both bastions are used, a dead bastion is the one named, a loop is an
input error naming the ssh_config line before any host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.sshd import Sshd, free_port
from tests.integration.test_ssh_config_jump import accepted, bastions, provision  # noqa: F401
from tests.integration.test_ssh_engine import make_project

pytestmark = pytest.mark.integration


def home_with(tmp_path: Path, servers: list[Sshd], config: str) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "known_hosts").write_text("".join(s.known_hosts_line() for s in servers))
    (home / ".ssh" / "config").write_text(config)
    return home


def chain_config(sshd: Sshd, hop1_port: int, hop2_port: int) -> str:
    return (
        "Host target\n"
        f"  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n  ProxyJump hop2\n"
        f"Host hop2\n  HostName 127.0.0.1\n  Port {hop2_port}\n  User root\n  ProxyJump hop1\n"
        f"Host hop1\n  HostName 127.0.0.1\n  Port {hop1_port}\n  User root\n"
        f"Host *\n  IdentityFile {sshd.client_key}\n"
    )


def test_chain_defined_hop_by_hop(tmp_path: Path, sshd: Sshd, bastions: list[Sshd]) -> None:  # noqa: F811
    b1, b2 = bastions
    home = home_with(tmp_path, [sshd, b1, b2], chain_config(sshd, b1.port, b2.port))
    project = make_project(tmp_path / "project", f"      base: {tmp_path / 'target'}\n")
    before = accepted(sshd)
    result = provision(project, "plan", "inventory.yml", "-vvvv", home=home)
    assert result.returncode == 4, result.stdout + result.stderr
    assert accepted(b1) == 1 and accepted(b2) == 1, "both hops were not used"
    assert accepted(sshd) == before + 1
    assert "jump host 1 of 2 (hop1)" in result.stderr
    assert "jump host 2 of 2 (hop2)" in result.stderr


def test_dead_first_bastion_of_the_chain_is_named(
    tmp_path: Path,
    sshd: Sshd,
    bastions: list[Sshd],  # noqa: F811
) -> None:
    _, b2 = bastions
    dead = free_port()
    home = home_with(tmp_path, [sshd, b2], chain_config(sshd, dead, b2.port))
    project = make_project(tmp_path / "project", f"      base: {tmp_path / 'target'}\n")
    result = provision(project, "plan", "inventory.yml", "--timeout", "3", home=home)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"jump host 1 of 2 (hop1) root@127.0.0.1:{dead}" in result.stdout, result.stdout
    assert accepted(b2) == 0


def test_loop_is_an_input_error_before_any_host(
    tmp_path: Path,
    sshd: Sshd,
    bastions: list[Sshd],  # noqa: F811
) -> None:
    b1, b2 = bastions
    config = chain_config(sshd, b1.port, b2.port).replace(
        f"Port {b1.port}\n  User root\n", f"Port {b1.port}\n  User root\n  ProxyJump hop2\n"
    )
    home = home_with(tmp_path, [sshd, b1, b2], config)
    project = make_project(tmp_path / "project", f"      base: {tmp_path / 'target'}\n")
    before = accepted(sshd)
    result = provision(project, "plan", "inventory.yml", home=home)
    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "ProxyJump loop in ssh config: hop2 -> hop1 -> hop2" in output
    assert f"{home / '.ssh' / 'config'}:" in output
    assert "Traceback" not in output
    assert accepted(b1) == accepted(b2) == 0 and accepted(sshd) == before
