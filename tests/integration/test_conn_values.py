"""Bad connection values and broken servers over real SSH (sshd on loopback): refused before
any host is touched, or that host's own failure, never a crash, never paramiko's output."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.integration.test_ssh_engine import make_project, provision

pytestmark = pytest.mark.integration

PARAMIKO_WORDS = ("Traceback", "paramiko", "Exception (client)", "SSHException", "transport.py")


def ssh_vars(sshd: Sshd, base: Path, host: str = "127.0.0.1") -> str:
    return (
        f"      ansible_host: {host}\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {base}\n"
    )


def sshd_log_size(sshd: Sshd) -> int:
    """The size of sshd's log once it has settled (earlier connections logged)."""
    size = -1
    while True:
        time.sleep(0.3)
        now = len((sshd.directory / "sshd.log").read_bytes())
        if now == size:
            return size
        size = now


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!!\n", "not valid base64"),
        ("[127.0.0.1]:{port} ssh-ed25519\n", "2 field(s)"),
        ("@trusted [127.0.0.1]:{port} {keyline}", "unknown marker"),
        ("[127.0.0.1]:{port} ssh-rsa {key}\n", "but the line says ssh-rsa"),
    ],
)
def test_corrupt_known_hosts_line_refused_before_connecting(
    tmp_path: Path, sshd: Sshd, line: str, words: str
) -> None:
    base = tmp_path / "target"
    project = make_project(tmp_path, ssh_vars(sshd, base))
    good = sshd.known_hosts_line()
    key_type, key = good.split()[1:3]
    bad = line.format(port=sshd.port, keyline=f"{key_type} {key}\n", key=key)
    (project / "known_hosts").write_text("# lab\n" + good + bad)
    before = sshd_log_size(sshd)
    for command in ("plan", "apply"):
        result = provision(project, command, "inventory.yml")
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "known_hosts:3: known_hosts line" in output
        assert words in output
        assert "Traceback" not in output and "internal error" not in output
    assert not base.exists()
    assert sshd_log_size(sshd) == before, "a connection was made despite the bad input"


@pytest.fixture(params=["silent", "garbage", "close", "half-banner"])
def fake_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """A TCP server on loopback that is not an SSH server; yields its port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []
    mode = request.param

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if mode == "garbage":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff" * 50)
            elif mode == "half-banner":
                conn.sendall(b"SSH-2.0-")
            elif mode == "close":
                conn.close()
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_no_ssh_banner_is_unreachable_without_paramiko_output(
    tmp_path: Path, fake_server: int
) -> None:
    base = tmp_path / "target"
    project = make_project(
        tmp_path,
        f"      ansible_host: 127.0.0.1\n      ansible_port: {fake_server}\n"
        f"      ansible_user: root\n      base: {base}\n",
    )
    result = provision(project, "apply", "inventory.yml", "--timeout", "1")
    assert result.returncode == 3, result.stdout + result.stderr
    for word in PARAMIKO_WORDS:
        assert word not in result.stderr, result.stderr
        assert word not in result.stdout, result.stdout
    assert "unreachable" in result.stdout and "RECAP" in result.stdout
    assert "cannot connect" in result.stdout
    assert json.loads((project / ".provision" / "last-run.json").read_text()) == {
        "failed": ["target"]
    }


CRASHING = """\
import sys
from provision.execution import ssh

real = ssh.SSHConnection._exec


def _exec(self, line, stdin, on_stderr=None):
    if self.config.name == "broken" and self.commands_run >= 1:
        raise RuntimeError("simulated bug after the probe")
    return real(self, line, stdin, on_stderr)


ssh.SSHConnection._exec = _exec
sys.argv = ["provision", *sys.argv[1:]]
from provision.cli import run

run()
"""


def test_one_host_crashing_while_another_converges(tmp_path: Path, sshd: Sshd) -> None:
    """A bug on one host (simulated in-process) fails that host; the other converges over
    the same real SSH server; the recap is printed and last-run.json written."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    project = make_project(tmp_path, ssh_vars(sshd, good))
    inventory = (project / "inventory.yml").read_text()
    inventory += "    broken:\n" + ssh_vars(sshd, bad)
    (project / "inventory.yml").write_text(inventory)
    (project / "known_hosts").write_text(sshd.known_hosts_line())
    (project / "crash.py").write_text(CRASHING)
    import subprocess

    result = subprocess.run(
        [sys.executable, "crash.py", "apply", "inventory.yml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "internal error: RuntimeError: simulated bug after the probe" in result.stdout
    assert "Traceback" not in output
    assert "RECAP" in result.stdout
    recap = result.stdout[result.stdout.index("RECAP") :]
    assert "broken" in recap and "target" in recap
    assert (good / "app.conf").is_file(), "the healthy host did not converge"
    assert not (bad / "app.conf").exists()
    assert json.loads((project / ".provision" / "last-run.json").read_text()) == {
        "failed": ["broken"]
    }
    again = provision(project, "apply", "inventory.yml", "--limit", "@last-failed")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (bad / "app.conf").is_file()
