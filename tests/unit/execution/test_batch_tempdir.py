"""The batch script's private directory on the host, run by a real `sh`: a command's stdin
(a rendered file, maybe a secret) is never written to disk; the directory is 0700 and is
removed on every ending (the end, a failure, SIGHUP, SIGINT, SIGTERM, a broken pipe when
the connection is cut, which also stops the batch); a SIGKILLed batch's directory is
removed by the next batch, and only when its shell is gone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from provision.execution.batchscript import TEMP_PREFIX, Item, batch_script, new_marker, parse_batch

SECRET = b"s3cr3t-\x00-password\n"


def start(items: list[Item], **kwargs: object) -> subprocess.Popen:
    script = batch_script(items, new_marker()).encode()
    proc = subprocess.Popen(
        ["sh", "-s"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kwargs,  # type: ignore[arg-type]
    )
    assert proc.stdin is not None
    proc.stdin.write(script)
    proc.stdin.close()
    proc.stdin = None
    return proc


def wait_for(path: Path) -> str:
    deadline = time.monotonic() + 30
    while not (path.exists() and path.read_text().endswith("\n")):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.02)
    return path.read_text().strip()


def test_a_commands_stdin_is_never_in_a_file(tmp_path: Path) -> None:
    marker = new_marker()
    look = (
        'grep -rl "s3cr3t" "$d" /tmp/provision-batch.* 2>/dev/null; '
        '! grep -rqa "s3cr3t" "$d" 2>/dev/null'
    )
    items = [
        Item(f"cat >{tmp_path}/got; {look}", stdin=SECRET),  # while it runs
        Item(look),  # after it ran
        Item('stat -c %a "$d"'),
    ]
    proc = subprocess.run(
        ["sh", "-s"], input=batch_script(items, marker).encode(), capture_output=True, timeout=60
    )
    results = parse_batch(marker, proc.stdout)
    assert [r.rc for r in results] == [0, 0, 0], results
    assert (tmp_path / "got").read_bytes() == SECRET  # the command got its stdin whole
    assert results[2].stdout == b"700\n"
    assert SECRET not in batch_script(items, marker).encode()  # in the script: base64 only


ENDINGS = [
    # (how the batch ends, signal to its process group or None)
    ("end", None),
    ("failure", None),
    ("SIGHUP", signal.SIGHUP),
    ("SIGINT", signal.SIGINT),
    ("SIGTERM", signal.SIGTERM),
]


@pytest.mark.parametrize(("ending", "sig"), ENDINGS, ids=[e[0] for e in ENDINGS])
def test_the_directory_is_removed_on_every_ending(
    tmp_path: Path, ending: str, sig: signal.Signals | None
) -> None:
    where, go = tmp_path / "where", tmp_path / "go"
    held = f"while [ ! -e {go} ]; do sleep 0.05; done"
    then = {"end": "true", "failure": "exit 4"}.get(ending, "sleep 30")
    items = [Item(f'echo "$d" >{where}; {held}; {then}'), Item(f"touch {tmp_path}/next")]
    proc = start(items)
    directory = wait_for(where)
    assert directory.startswith(TEMP_PREFIX) and os.path.isdir(directory)
    assert (os.stat(directory).st_mode & 0o777) == 0o700
    go.touch()
    if sig is not None:
        time.sleep(0.2)  # in its `sleep 30`
        os.killpg(proc.pid, sig)
    proc.communicate(timeout=60)
    assert not os.path.exists(directory), ending
    assert (tmp_path / "next").exists() == (ending == "end")


def test_a_cut_connection_removes_the_directory_and_runs_nothing_more(tmp_path: Path) -> None:
    """The reader of the batch's output goes away (sshd killed): the next frame's write
    fails (SIGPIPE), the batch stops there, its directory removed."""
    where = tmp_path / "where"
    items = [Item(f'echo "$d" >{where}; sleep 1'), Item(f"touch {tmp_path}/next")]
    proc = start(items)
    directory = wait_for(where)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert not os.path.exists(directory)
    assert not (tmp_path / "next").exists()


def test_a_killed_batchs_directory_is_removed_by_the_next_batch(tmp_path: Path) -> None:
    where = tmp_path / "where"
    proc = start([Item(f'echo "$d" >{where}; sleep 30')])
    directory = wait_for(where)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert os.path.isdir(directory)  # no trap runs on SIGKILL
    # what the next batch must leave: a live shell's, a symlink, names that are no pid
    live = f"{TEMP_PREFIX}{os.getpid()}.keep"
    odd = [f"{TEMP_PREFIX}x1.keep", f"{TEMP_PREFIX}.keep", f"{TEMP_PREFIX}1-2.keep"]
    link = f"{TEMP_PREFIX}999999999.link"
    try:
        for path in [live, *odd]:
            os.mkdir(path, 0o700)
        os.symlink(tmp_path, link)
        subprocess.run(
            ["sh", "-s"], input=batch_script([Item("true")], new_marker()).encode(), timeout=60
        )
        assert not os.path.exists(directory)
        for path in [live, *odd, link]:
            assert os.path.lexists(path), path
        assert tmp_path.exists()
    finally:
        for path in [live, *odd]:
            shutil.rmtree(path, ignore_errors=True)
        if os.path.islink(link):
            os.unlink(link)
