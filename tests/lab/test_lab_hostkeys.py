"""Issue 18: a trainee's own known_hosts does not lock them out of a wiped lab.

A lab host's key is accepted into a scratch HOME's known_hosts with plain ssh (as a trainee
does with `ssh rocky@10.200.0.11`); the lab is wiped and booted again (new host keys); then
`provision plan` on the lab still works with that HOME (the old entry is ignored, named in a
hint, never rewritten), `provision lab ssh` works, and plain ssh with the lab's known_hosts
(the form the course shows) works. The same kind of stale entry for a host that is not a
lab host (an sshd on loopback whose key changed) is still refused.

Run with the lab lock (one lab run at a time on the machine):
    flock /tmp/provision-lab.lock .venv/bin/pytest -q -p no:cacheprovider \
        tests/lab/test_lab_hostkeys.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from provision.lab import core, lab_down, lab_paths, lab_up
from tests.integration.sshd import can_run_sshd, keygen, start_sshd
from tests.integration.test_ssh_engine import make_project

from .conftest import LabSession

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def scratch_home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    return home, home / ".ssh" / "known_hosts"


def plain_ssh(
    home: Path, known_hosts: Path, key: Path, target: str, *options: str, strict: str
) -> subprocess.CompletedProcess:
    """ssh as a trainee runs it, with HOME=home. ssh reads ~ from the passwd entry, not
    from $HOME, so the scratch known_hosts is named explicitly."""
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            f"StrictHostKeyChecking={strict}",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=5",
            *options,
            target,
            "true",
        ],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def provision(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def fingerprints(path: Path) -> set[str]:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[1] for line in out.splitlines()}


def test_a_wiped_lab_is_not_refused_for_an_old_key_in_home(
    fresh_hosts: LabSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts, inventory = fresh_hosts
    paths = lab_paths()
    home, known = scratch_home(tmp_path)
    rocky1 = hosts[0]
    accepted = plain_ssh(home, known, paths.key, f"rocky@{rocky1.address}", strict="accept-new")
    assert accepted.returncode == 0, accepted.stderr
    found = subprocess.run(
        ["ssh-keygen", "-F", rocky1.address, "-f", str(known)], capture_output=True, text=True
    )
    assert found.returncode == 0, "plain ssh did not record the host's key"
    before = known.read_bytes()

    said: list[str] = []
    monkeypatch.setattr(core, "echo", said.append)
    lab_down(wipe=True)
    lab_up(len(hosts))
    # lab up printed every new host key; they are the ones in the lab's known_hosts
    assert said.count(f"host keys (recorded in {paths.known_hosts}):") == 1
    printed = {line.split()[3] for line in said if line.startswith("  rocky")}
    assert len(printed) == 3 * len(hosts)
    assert printed == fingerprints(paths.known_hosts)

    # the old entry is stale now: plain ssh against it refuses, as it should
    stale = plain_ssh(home, known, paths.key, f"rocky@{rocky1.address}", strict="yes")
    assert stale.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in stale.stderr

    plan = provision(home, "plan", str(inventory))
    output = plan.stdout + plan.stderr
    assert plan.returncode in (0, 4), output
    assert "HOST KEY CHANGED" not in output
    assert re.findall(r"unreachable=(\d+)", plan.stdout) == ["0"] * len(hosts), plan.stdout
    hint = f"ssh-keygen -f {known} -R {rocky1.address}"
    assert output.count(hint) == 1, plan.stderr
    assert f"hint: {rocky1.name}: {known} holds an old host key" in plan.stderr
    assert known.read_bytes() == before, "the trainee's known_hosts was rewritten"

    # `provision lab ssh` and plain ssh with the lab's known_hosts (the course's form) work
    lab_ssh = provision(home, "lab", "ssh", rocky1.name, "hostname")
    assert lab_ssh.returncode == 0, lab_ssh.stderr
    assert lab_ssh.stdout.strip() == rocky1.name
    course = plain_ssh(home, paths.known_hosts, paths.key, f"rocky@{rocky1.address}", strict="yes")
    assert course.returncode == 0, course.stderr
    assert known.read_bytes() == before


def test_the_same_stale_entry_for_a_real_host_is_refused(tmp_path: Path) -> None:
    why = can_run_sshd()
    if why:
        pytest.skip(why)
    home, known = scratch_home(tmp_path)
    first = start_sshd(tmp_path / "sshd")
    port = first.port
    try:
        accepted = plain_ssh(
            home, known, first.client_key, "root@127.0.0.1", "-p", str(port), strict="accept-new"
        )
        assert accepted.returncode == 0, accepted.stderr
    finally:
        first.stop()
    # the host is "reinstalled": same address and port, a new host key
    keygen(tmp_path / "new_host_key")
    second = start_sshd(tmp_path / "sshd", host_key=tmp_path / "new_host_key", port=port)
    try:
        project = make_project(
            tmp_path / "project",
            f"      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
            f"      ansible_user: root\n      ansible_ssh_private_key_file: {second.client_key}\n"
            f"      provision_known_hosts: known_hosts\n      base: {tmp_path / 'target'}\n",
        )
        # the project's own known_hosts even has the new key: the old entry still wins
        (project / "known_hosts").write_text(second.known_hosts_line())
        before = known.read_bytes()
        for extra in ((), ("--accept-new-host-keys",)):
            refused = provision(home, "plan", "inventory.yml", *extra, cwd=project)
            assert refused.returncode == 3, refused.stdout + refused.stderr
            assert "HOST KEY CHANGED" in refused.stdout
            assert "hint:" not in refused.stderr
        assert known.read_bytes() == before
        assert not (tmp_path / "target").exists()
    finally:
        second.stop()
