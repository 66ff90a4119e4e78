"""Over a real sshd on loopback: a command's whole output arrives even when sshd sends the
exit status first (the connection reads on to EOF), ordinary commands do not wait for the
grace period, and a child left running with the output pipe open ends the wait after it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from provision.execution import ssh
from provision.project.hostconfig import HostConfig

from .sshd import Sshd


@pytest.fixture
def conn(sshd: Sshd, tmp_path: Path) -> ssh.SSHConnection:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    config = HostConfig(
        name="loop",
        address="127.0.0.1",
        port=sshd.port,
        user="root",
        connection="ssh",
        key_file=str(sshd.client_key),
        password=None,
        become=False,
        become_password=None,
        known_hosts=str(known),
        jump=None,
        proxy_command=None,
    )
    connection = ssh.SSHConnection(config)
    yield connection
    connection.close()


def test_every_line_of_many_short_commands_arrives_without_waiting(
    conn: ssh.SSHConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ended by EOF, not by the grace: with a grace of 60 s, one command that waited for it
    would take the whole budget (a loaded CI machine still runs 30 commands well within)."""
    monkeypatch.setattr(ssh, "EXIT_OUTPUT_GRACE", 60.0)
    script = "".join(f"printf 'M TOOL t{n}\\n'\n" for n in range(7)) + "printf 'M END\\n'\n"
    started = time.monotonic()
    for _ in range(30):
        result = conn.run(script)
        assert result.rc == 0
        assert result.stdout.decode().splitlines()[-1] == "M END"
        assert len(result.stdout.splitlines()) == 8
    assert time.monotonic() - started < 60.0


def test_large_output_is_whole(conn: ssh.SSHConnection) -> None:
    result = conn.run("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo END >&2")
    assert len(result.stdout) == 3000001 and result.stderr == b"END\n"


def test_a_child_left_running_ends_the_wait_after_the_grace(conn: ssh.SSHConnection) -> None:
    started = time.monotonic()
    result = conn.run("sleep 20 & echo started")
    elapsed = time.monotonic() - started
    assert result.rc == 0 and result.stdout == b"started\n"
    assert elapsed < ssh.EXIT_OUTPUT_GRACE + 5, elapsed
