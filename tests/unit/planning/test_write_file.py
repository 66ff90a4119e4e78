"""Atomic writes: no window with a looser mode, content never in argv, and it really works."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from provision.planning.model import write_file


def test_order_umask_then_content_then_owner_mode_then_rename():
    command = write_file("/etc/x.conf", b"secret=1\n", 0o600, "root", "root")
    steps = command.script.split("; ")
    position = {name: i for i, step in enumerate(steps) for name in [step.split()[0]]}
    assert steps.index("umask 077") < steps.index('cat > "$t"')
    assert position["chown"] < position["chmod"] < position["mv"]
    assert b"secret" not in command.script.encode()
    assert command.stdin == b"secret=1\n"


def test_it_writes_atomically_with_the_mode(tmp_path: Path):
    target = tmp_path / "sub" / "file.conf"
    user = os.environ.get("USER") or "root"
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    command = write_file(str(target), b"a=1\n", 0o640, user, group, backup=False)
    subprocess.run(["sh", "-c", command.script], input=command.stdin, check=True)
    assert target.read_bytes() == b"a=1\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["file.conf"], "temp file left behind"


def test_backup_keeps_the_previous_content(tmp_path: Path):
    target = tmp_path / "file.conf"
    target.write_text("old\n")
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    command = write_file(str(target), b"new\n", 0o644, user, group, backup=True)
    subprocess.run(["sh", "-c", command.script], input=command.stdin, check=True)
    backups = [p for p in tmp_path.iterdir() if p.name.endswith(".bak")]
    assert target.read_text() == "new\n"
    assert len(backups) == 1 and backups[0].read_text() == "old\n"
