"""The runner sends a command's `upload` before its script (offline bundles): the file
arrives first, progress lines are "output" events, a failed send skips the script."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from provision.execution.connection import Result
from provision.execution.reports import HostReport
from provision.execution.runner import HostRun, RunOptions
from provision.execution.upload import Upload
from provision.planning.model import Command


class Local:
    """Runs scripts on this machine; records them (no SFTP: the chunked path)."""

    commands_run = 0
    connections_opened = 1

    def __init__(self) -> None:
        self.scripts: list[str] = []

    def run(
        self,
        script: str,
        stdin: bytes | None = None,
        become: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> Result:
        self.scripts.append(script)
        done = subprocess.run(["sh", "-c", script], input=stdin or b"", capture_output=True)
        return Result(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        return None


def run_one(conn: Local, cmd: Command) -> tuple[Result, list[tuple[str, object]]]:
    events: list[tuple[str, object]] = []
    play = SimpleNamespace(tasks=[], handlers=[])
    host = HostRun(
        play,  # type: ignore[arg-type]
        conn,  # type: ignore[arg-type]
        RunOptions(apply=True),
        HostReport("h"),
        lambda e, p: events.append((e, p)),
    )
    compiled = SimpleNamespace(name="offline bundle", become=True)
    return host._run_command(compiled, cmd), events  # type: ignore[arg-type]


def test_the_file_arrives_before_the_script_runs(tmp_path: Path) -> None:
    local = tmp_path / "bundle.tar"
    local.write_bytes(b"x" * 3000)
    remote = tmp_path / "staged.tar"
    cmd = Command(
        f"cmp {local} {remote} && echo same",
        "send bundle.tar",
        progress=True,
        upload=Upload(str(local), str(remote), 3000),
    )
    conn = Local()
    result, events = run_one(conn, cmd)
    assert result.rc == 0 and result.stdout == b"same\n"
    assert conn.scripts[-1] == cmd.script
    names = [e for e, _ in events]
    assert names[0] == "progress" and names[-1] == "progress-end"
    outputs = [p[2] for e, p in events if e == "output"]  # type: ignore[index]
    assert outputs and outputs[-1].endswith("(100%) of bundle.tar")


def test_a_failed_send_skips_the_script(tmp_path: Path) -> None:
    cmd = Command(
        "echo should not run",
        "send bundle.tar",
        progress=True,
        upload=Upload(str(tmp_path / "missing.tar"), str(tmp_path / "staged.tar"), 10),
    )
    conn = Local()
    result, events = run_one(conn, cmd)
    assert result.rc == 1 and b"cannot read" in result.stderr
    assert conn.scripts == []
    assert events[-1][0] == "progress-end" and events[-1][1][4] == 1  # type: ignore[index]
