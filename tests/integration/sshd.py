"""A real OpenSSH server on loopback, started and stopped (by PID) by the test suite."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class Sshd:
    directory: Path
    port: int
    client_key: Path
    host_key: Path
    process: subprocess.Popen

    def known_hosts_line(self) -> str:
        key_type, key = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}\n"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sshd(directory: Path, host_key: Path | None = None, port: int | None = None) -> Sshd:
    directory.mkdir(parents=True, exist_ok=True)
    client_key = directory / "id_ed25519"
    if not client_key.exists():
        keygen(client_key)
    if host_key is None:
        host_key = directory / "ssh_host_ed25519_key"
        if not host_key.exists():
            keygen(host_key)
    (directory / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = port or free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {directory}/authorized_keys\nStrictModes no\nUsePAM no\n"
        f"PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPidFile {directory}/sshd.pid\n"
        "MaxSessions 100\nMaxStartups 100\nLogLevel VERBOSE\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    log = open(directory / "sshd.log", "ab")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return Sshd(directory, port, client_key, host_key, process)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("sshd did not start listening within 10 s")


def can_run_sshd() -> str:
    """Empty when this machine can run the test sshd, else why not."""
    if os.geteuid() != 0:
        return "the test sshd logs in as root: run the tests as root"
    if not Path(SSHD).exists():
        return "sshd is not installed (apt-get install openssh-server)"
    return ""
