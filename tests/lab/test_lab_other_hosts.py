"""`lab up --hosts 4` on the real lab: the committed inventories/lab.yml is not touched, the
hosts up are in .lab/inventory.yml, which `lab up` names and `provision plan` reaches, and
git sees nothing new in the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.lab import lab_down, lab_paths, lab_status

from .conftest import LabSession

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def git_status() -> str | None:
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
    )
    return proc.stdout if proc.returncode == 0 else None


def test_a_fourth_host_goes_to_the_generated_inventory(lab_hosts: LabSession) -> None:
    committed = lab_paths().inventory
    before = (os.stat(committed).st_mtime_ns, committed.read_bytes(), git_status())
    generated = committed.parent / ".lab" / "inventory.yml"
    assert not generated.exists()
    try:
        up = run("lab", "up", "--hosts", "4")
        assert up.returncode == 0, up.stderr
        assert f"inventory: {generated}\n" in up.stdout
        assert "use this file" in up.stdout
        assert "rocky4: {ansible_host: 10.200.0.14}" in generated.read_text()
        assert lab_status().inventory == generated
        assert (os.stat(committed).st_mtime_ns, committed.read_bytes(), git_status()) == before

        plan = run("plan", str(generated), "--limit", "rocky4")
        assert plan.returncode == 4, plan.stdout + plan.stderr  # reached, changes pending
        assert "rocky4  ok=" in plan.stdout
    finally:
        lab_down(wipe=True)  # the next module's fresh_hosts boots the default 3 again
    assert not generated.exists()
    assert (os.stat(committed).st_mtime_ns, committed.read_bytes(), git_status()) == before
