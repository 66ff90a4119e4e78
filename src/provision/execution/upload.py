"""A large file sent to a host before a command runs: streamed, chunked, with progress.

Over SSH the file goes by SFTP on the run's one connection (a channel of the same
transport, no second login); any other connection gets it in chunks on the stdin of
`cat`. The file lands where the login user can write (the command that follows, run as
root, checks it and moves it into place); it is never read whole into memory.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.execution.connection import Result

CHUNK_BYTES = 1024 * 1024
FALLBACK_CHUNK_BYTES = 16 * 1024 * 1024
#: a progress line every this share of the file (and at the end)
PROGRESS_STEP = 0.10


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class Progress:
    """Lines like `sent 12.0 MiB of 120.0 MiB (10%)`, one per PROGRESS_STEP of the file."""

    def __init__(self, name: str, size: int, on_line: Callable[[str], None] | None) -> None:
        self.name, self.size, self.on_line = name, size, on_line
        self.next_share = PROGRESS_STEP

    def update(self, sent: int) -> None:
        if self.on_line is None:
            return
        share = sent / self.size if self.size else 1.0
        if share + 1e-9 >= self.next_share or sent == self.size:
            self.on_line(f"sent {mib(sent)} of {mib(self.size)} ({share:.0%}) of {self.name}")
            while self.next_share <= share + 1e-9:
                self.next_share += PROGRESS_STEP


@dataclass(frozen=True)
class Upload:
    """`local` (on the controller, `size` bytes) to `remote` (on the host, mode 0600)."""

    local: str
    remote: str
    size: int

    def send(self, conn: Any, on_line: Callable[[str], None] | None = None) -> Result:
        """Send the file; rc 0 when it is there whole, else a Result naming what failed."""
        path = Path(self.local)
        try:
            actual = path.stat().st_size
        except OSError as exc:
            return Result(1, b"", f"cannot read {self.local}: {exc.strerror}".encode())
        if actual != self.size:
            return Result(
                1, b"", f"{self.local} changed during the run ({actual} bytes now)".encode()
            )
        progress = Progress(path.name, self.size, on_line)
        transport = _ssh_transport(conn)
        if transport is not None and _has_sftp(transport):
            return self._sftp(transport, progress)
        return self._chunks(conn, progress)

    def _sftp(self, transport: Any, progress: Progress) -> Result:
        import paramiko

        sent = 0
        try:
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            try:
                with sftp.open(self.remote, "wb") as remote, open(self.local, "rb") as local:
                    remote.chmod(0o600)
                    remote.set_pipelined(True)
                    while chunk := local.read(CHUNK_BYTES):
                        remote.write(chunk)
                        sent += len(chunk)
                        progress.update(sent)
                size = sftp.stat(self.remote).st_size
            finally:
                sftp.close()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return Result(1, b"", f"sending {self.local} to {self.remote} failed: {why}".encode())
        if size != self.size:
            return Result(1, b"", f"{self.remote}: {size} bytes arrived of {self.size}".encode())
        return Result(0, b"", b"")

    def _chunks(self, conn: Any, progress: Progress) -> Result:
        """Without SFTP: the file in chunks on the stdin of `cat` (first `>`, then `>>`)."""
        target = shlex.quote(self.remote)
        sent = 0
        with open(self.local, "rb") as local:
            first = True
            while first or sent < self.size:
                chunk = local.read(FALLBACK_CHUNK_BYTES)
                redirect = ">" if first else ">>"
                script = f"umask 077; cat {redirect} {target}"
                result = conn.run(script, chunk or b"", False)
                if result.rc != 0:
                    return result
                first = False
                sent += len(chunk)
                progress.update(sent)
                if not chunk:
                    break
        return Result(0, b"", b"")


def _ssh_transport(conn: Any) -> Any:
    """The paramiko transport of an SSH connection (opened if needed), else None."""
    if not hasattr(conn, "_gateways"):  # not an SSH connection
        return None
    conn.open()
    inner = getattr(conn, "_conn", None)
    client = getattr(inner, "client", None)
    if client is None:
        return None
    return client.get_transport()


def _has_sftp(transport: Any) -> bool:
    """Whether the host's sshd offers the SFTP subsystem (else: chunks on stdin)."""
    import paramiko

    try:
        sftp = paramiko.SFTPClient.from_transport(transport)
    except (OSError, EOFError, paramiko.SSHException):
        return False
    if sftp is None:
        return False
    sftp.close()
    return True
