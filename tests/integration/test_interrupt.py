"""Ctrl-C during apply: running commands finish, nothing new starts, recap, exit 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PLAYBOOK = """\
- name: slow
  hosts: all
  tasks:
    - name: slow step
      command: {cmd: "sleep 2; touch {{ base }}/one", creates: "{{ base }}/one"}
    - name: next step
      command: {cmd: "touch {{ base }}/two", creates: "{{ base }}/two"}
"""


def test_sigint_finishes_the_running_command_and_stops(tmp_path: Path) -> None:
    (tmp_path / "inventory.yml").write_text(
        f"all:\n  hosts:\n    here:\n      ansible_connection: local\n      base: {tmp_path}\n"
    )
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    args = [sys.executable, "-m", "provision", "apply", "inventory.yml", "-p", "site.yml"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("PLAY"), first
    time.sleep(1.0)  # the slow step is running now
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    out = first + out
    assert proc.returncode == 130, out
    assert "interrupted" in out
    assert "RECAP" in out
    assert (tmp_path / "one").exists(), "the running command was not let finish"
    assert not (tmp_path / "two").exists(), "a new task started after Ctrl-C"
    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stdout
    assert (tmp_path / "two").exists()
