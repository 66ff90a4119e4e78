"""The question before apply on a real pseudo-terminal: asked, answered, obeyed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provision.changecontrol import confirm

INVENTORY = "all:\n  hosts:\n    a: {ansible_connection: local}\n"
PLAYBOOK = """\
- hosts: all
  tasks:
    - name: greeting file
      copy: {dest: "{{ playbook_dir }}/out/greeting", content: "hi\\n"}
"""


def run_on_pty(cwd: Path, args: list[str], answer: bytes | None) -> tuple[int, str]:
    leader, follower = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "PROVISION_NO_LAB": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not answered and b"[y/N]" in out:
            answered = True
            os.write(leader, answer if answer is not None else b"\x04")
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(leader)
    return proc.returncode, out.decode(errors="replace")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return tmp_path


@pytest.mark.parametrize("answer", [b"n\r", b"\r", None], ids=["no", "default", "eof"])
def test_declined_on_a_terminal(project: Path, answer: bytes | None) -> None:
    code, out = run_on_pty(project, ["apply", "inventory.yml", "-p", "site.yml"], answer)
    assert "Apply these changes? [y/N]" in out, out
    assert "greeting file" in out and "1 of 1 host(s) to change" in out
    assert code == 6, out
    assert not (project / "out").exists()


def test_yes_flag_skips_the_question_on_a_terminal(project: Path) -> None:
    code, out = run_on_pty(
        project, ["apply", "inventory.yml", "-p", "site.yml", "--check", "-y"], b"n\r"
    )
    assert "[y/N]" not in out and code == 4, out


def test_interactive_needs_both_ends_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    for stdin, stdout, expected in [(True, True, True), (True, False, False), (False, True, False)]:
        monkeypatch.setattr(sys, "stdin", Stream(stdin))
        monkeypatch.setattr(sys, "stdout", Stream(stdout))
        assert confirm.interactive() is expected
