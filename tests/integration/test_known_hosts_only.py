"""`provision_known_hosts_only` over real SSH (sshd on loopback), with a scratch HOME whose
~/.ssh/known_hosts holds an old key for the host: ignored (and hinted once) with the
variable, refused as a changed key without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd, keygen
from tests.integration.test_ssh_engine import make_project

pytestmark = pytest.mark.integration


def provision(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=project,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def project_with_old_key(tmp_path: Path, sshd: Sshd, only: str | None) -> tuple[Path, Path]:
    """(project, scratch HOME): the project's own known_hosts has the right key; HOME's
    known_hosts an old key for the same [127.0.0.1]:port."""
    old = tmp_path / "old_host_key"
    keygen(old)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key_type, key = old.with_suffix(".pub").read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {key_type} {key}\n")
    (tmp_path / "known_hosts").write_text(sshd.known_hosts_line())
    extra = f"      provision_known_hosts_only: {only}\n" if only is not None else ""
    project = make_project(
        tmp_path,
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {tmp_path / 'target'}\n" + extra,
    )
    return project, home


def test_old_key_in_home_is_ignored_and_hinted_once(tmp_path: Path, sshd: Sshd) -> None:
    project, home = project_with_old_key(tmp_path, sshd, "true")
    user_file = home / ".ssh" / "known_hosts"
    before = user_file.read_bytes()
    result = provision(project, home, "plan", "inventory.yml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "HOST KEY CHANGED" not in result.stdout + result.stderr
    keygen_line = f"ssh-keygen -f {user_file} -R '[127.0.0.1]:{sshd.port}'"
    assert (result.stdout + result.stderr).count(keygen_line) == 1, result.stderr
    assert "hint: target:" in result.stderr
    assert user_file.read_bytes() == before, "the user's known_hosts must never be rewritten"
    # apply (probe, apply, re-probe) and the own file stays as it was
    applied = provision(project, home, "apply", "inventory.yml", "--accept-new-host-keys")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (applied.stdout + applied.stderr).count(keygen_line) == 1
    assert user_file.read_bytes() == before
    assert (project / "known_hosts").read_text() == sshd.known_hosts_line()


@pytest.mark.parametrize("only", [None, "false"])
def test_without_the_variable_the_old_key_is_refused(
    tmp_path: Path, sshd: Sshd, only: str | None
) -> None:
    project, home = project_with_old_key(tmp_path, sshd, only)
    before = (home / ".ssh" / "known_hosts").read_bytes()
    for extra in ((), ("--accept-new-host-keys",)):
        result = provision(project, home, "plan", "inventory.yml", *extra)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "HOST KEY CHANGED" in result.stdout
        assert "hint:" not in result.stderr
    assert (home / ".ssh" / "known_hosts").read_bytes() == before
