"""Class 7 of issue 10 on the lab: a 2 MiB file converges.

A file over 1 MiB used to be probed without its content, so it planned `update` for ever
and apply ended "did not converge". Now the probe reads its SHA-256: the first apply
writes it and converges, and the next plan has nothing to do."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
SIZE = 2 * 1024 * 1024
DEST = "/srv/provision-large.bin"


def provision(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def large_project(tmp_path: Path, payload: bytes) -> Path:
    files = tmp_path / "roles" / "large" / "files"
    files.mkdir(parents=True)
    (files / "large.bin").write_bytes(payload)
    tasks = tmp_path / "roles" / "large" / "tasks"
    tasks.mkdir()
    (tasks / "main.yml").write_text(
        f"- name: a 2 MiB file\n  copy:\n    src: large.bin\n    dest: {DEST}\n    mode: '0640'\n"
    )
    playbook = tmp_path / "large.yml"
    playbook.write_text("- name: large file\n  hosts: all\n  become: true\n  roles: [large]\n")
    return playbook


def test_a_2_mib_file_converges(lab_hosts: LabSession, tmp_path: Path) -> None:
    host = lab_hosts.hosts[0]
    payload = bytes(range(256)) * (SIZE // 256)  # binary, 2 MiB
    playbook = large_project(tmp_path, payload)
    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml")
    limit = ("--limit", host.name)

    applied = provision("apply", str(inventory), "-p", str(playbook), *limit)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "did not converge" not in applied.stdout
    remote = run_on(host, f"sha256sum {DEST}; stat -c %s:%a {DEST}").stdout.split()
    assert remote[0] == hashlib.sha256(payload).hexdigest()
    assert remote[-1] == f"{SIZE}:640"

    again = provision("plan", str(inventory), "-p", str(playbook), *limit)
    assert again.returncode == 0, again.stdout + again.stderr  # nothing pending

    run_on(host, f"printf x >> {DEST}")  # one byte more: changed, and noticed
    drift = provision("plan", str(inventory), "-p", str(playbook), *limit)
    assert drift.returncode == 4, drift.stdout + drift.stderr
    fixed = provision("apply", str(inventory), "-p", str(playbook), *limit)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "did not converge" not in fixed.stdout
    assert (
        run_on(host, f"sha256sum {DEST}").stdout.split()[0] == hashlib.sha256(payload).hexdigest()
    )
