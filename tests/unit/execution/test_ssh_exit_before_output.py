"""The exit status can reach the client before the command's last output: sshd sends it
when the command ends, and the output as it drains the pipe. `SSHConnection._exec` must
read on until EOF, or `provision bundle create` sees a probe cut short ("missing docker"
on a busy host, the last tool it asks about), and any command can lose its last lines.
Paramiko's channel is replaced by a scripted fake; select() gets a real pipe."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from provision.execution import ssh
from provision.project.hostconfig import HostConfig


@dataclass
class Step:
    """What the channel holds at one poll."""

    out: bytes = b""
    err: bytes = b""
    exited: bool = False
    eof: bool = False


@dataclass
class FakeChannel:
    steps: list[Step]
    fd: int
    at: int = -1
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    exited: bool = False
    eof_received: bool = False
    sent: bytes = b""

    def fileno(self) -> int:
        self.advance()
        return self.fd

    def advance(self) -> None:
        if self.at + 1 < len(self.steps):
            self.at += 1
            step = self.steps[self.at]
            self.out += step.out
            self.err += step.err
            self.exited = self.exited or step.exited
            self.eof_received = self.eof_received or step.eof

    def exec_command(self, line: str) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown_write(self) -> None:
        pass

    def recv_ready(self) -> bool:
        return bool(self.out)

    def recv_stderr_ready(self) -> bool:
        return bool(self.err)

    def recv(self, size: int) -> bytes:
        data = bytes(self.out[:size])
        del self.out[:size]
        return data

    def recv_stderr(self, size: int) -> bytes:
        data = bytes(self.err[:size])
        del self.err[:size]
        return data

    def exit_status_ready(self) -> bool:
        return self.exited

    def recv_exit_status(self) -> int:
        return 0

    def close(self) -> None:
        pass


class FakeTransport:
    def __init__(self, channel: FakeChannel) -> None:
        self.channel = channel

    def open_session(self, timeout: float) -> FakeChannel:
        self.session_timeout = timeout
        return self.channel

    def is_active(self) -> bool:
        return True


def connection(channel: FakeChannel) -> ssh.SSHConnection:
    config = HostConfig(
        name="rocky2",
        address="10.200.0.12",
        port=22,
        user="rocky",
        connection="ssh",
        key_file=None,
        password=None,
        become=False,
        become_password=None,
        known_hosts=None,
        jump=None,
        proxy_command=None,
    )
    conn = ssh.SSHConnection(config)
    transport = FakeTransport(channel)

    class Client:
        def get_transport(self) -> Any:
            return transport

    class Conn:
        client = Client()

    conn._conn = Conn()
    return conn


@pytest.fixture
def readable_fd() -> Any:
    read, write = os.pipe()
    os.write(write, b"x")  # always readable: select() returns at once
    yield read
    os.close(read)
    os.close(write)


TOOLS = b"M TOOL dnf\nM TOOL rpm\n"
LAST = b"M TOOL docker\n"

CASES = {
    "output then exit then eof": [Step(TOOLS + LAST), Step(exited=True, eof=True)],
    "exit first, last line after it": [
        Step(TOOLS),
        Step(exited=True),
        Step(),
        Step(LAST),
        Step(eof=True),
    ],
    "exit first, all output after it": [
        Step(exited=True),
        Step(),
        Step(TOOLS),
        Step(),
        Step(LAST, eof=True),
    ],
    "stderr after the exit": [
        Step(TOOLS + LAST),
        Step(exited=True),
        Step(err=b"warning\n"),
        Step(eof=True),
    ],
}


@pytest.mark.parametrize("name", list(CASES))
def test_output_after_the_exit_status_is_kept(name: str, readable_fd: int) -> None:
    channel = FakeChannel(CASES[name], readable_fd)
    result = connection(channel)._exec("sh -s", b"script")
    assert result.rc == 0
    assert result.stdout == TOOLS + LAST
    if name == "stderr after the exit":
        assert result.stderr == b"warning\n"


def test_a_child_left_running_does_not_hang_the_run(
    readable_fd: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No EOF ever (a background child keeps the pipe open): done after a quiet while."""
    monkeypatch.setattr(ssh, "EXIT_OUTPUT_GRACE", 0.2)
    channel = FakeChannel([Step(TOOLS), Step(exited=True), Step(LAST)], readable_fd)
    result = connection(channel)._exec("sh -s", None)
    assert result.stdout == TOOLS + LAST


@pytest.mark.parametrize(("connect", "expected"), [(10.0, 120.0), (1.0, 120.0), (300.0, 300.0)])
def test_opening_a_session_waits_longer_than_the_connect_timeout(
    connect: float, expected: float, readable_fd: int
) -> None:
    """A busy host's sshd answers a session request late (40 lab hosts on 2 cores lost one
    to "Timeout opening channel" at the 10 s connect timeout): the wait is its own."""
    channel = FakeChannel([Step(TOOLS + LAST), Step(exited=True, eof=True)], readable_fd)
    conn = connection(channel)
    conn.timeout = connect
    conn._exec("sh -s", None)
    assert conn._conn.client.get_transport().session_timeout == expected
