"""Small helpers: running commands, mounts, safe removal, processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class LabError(Exception):
    """A failure the user can act on: the message says what is wrong and what to do."""


def run(
    cmd: Sequence[str | os.PathLike],
    *,
    log: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run cmd; its output goes to log (appended) or is captured."""
    args = [str(c) for c in cmd]
    full_env = {**os.environ, **env} if env else None
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"$ {' '.join(args)}\n")
            fh.flush()
            proc = subprocess.run(
                args,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=full_env,
                input=input,
                text=True,
            )
    else:
        proc = subprocess.run(args, capture_output=True, text=True, env=full_env, input=input)
    if check and proc.returncode != 0:
        detail = ""
        if log is not None:
            detail = "\n" + tail(log, 25) + f"\n(full log: {log})"
        else:
            detail = "\n" + (proc.stderr or proc.stdout or "").strip()[-2000:]
        raise LabError(f"command failed (exit {proc.returncode}): {' '.join(args)}{detail}")
    return proc


def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _unescape(field: str) -> str:
    """Mount points in /proc/self/mountinfo escape space, tab, newline, backslash in octal."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of every mount in this namespace."""
    result = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            result.append(
                (_unescape(fields[4]), rfields[0], rfields[2] if len(rfields) > 2 else "")
            )
    return result


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below path, deepest first."""
    prefix = str(path).rstrip("/")
    found = [m for m, _, _ in mounts() if m == prefix or m.startswith(prefix + "/")]
    return sorted(set(found), key=lambda m: m.count("/"), reverse=True)


def is_mounted(path: Path) -> bool:
    return str(path).rstrip("/") in {m for m, _, _ in mounts()}


def unmount_under(path: Path) -> None:
    """Unmount everything at or below path (lazily if busy)."""
    for _ in range(3):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)
    points = mounts_under(path)
    if points:
        raise LabError(f"cannot unmount {', '.join(points)}; unmount by hand and retry")


def safe_rmtree(path: Path) -> None:
    """Remove path after unmounting whatever is mounted below it (never crosses a mount)."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_under(path)
    run(["rm", "-rf", "--one-file-system", str(path)])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def read_pid(pidfile: Path, must_contain: str) -> int | None:
    """The pid in pidfile if that process is alive and its command line has must_contain."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and any(must_contain in a for a in cmdline(pid)):
        return pid
    return None


def terminate(pid: int, timeout: float, sig: int = signal.SIGTERM) -> bool:
    """Send sig to pid, wait up to timeout, then SIGKILL. True if it ended before the kill."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or _zombie(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        if not pid_alive(pid) or _zombie(pid):
            break
        time.sleep(0.1)
    return False


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def dir_size(path: Path) -> int:
    """Bytes used below path (du -sb, not crossing mounts); 0 if missing."""
    if not path.exists():
        return 0
    proc = subprocess.run(["du", "-sxb", str(path)], capture_output=True, text=True)
    try:
        return int(proc.stdout.split()[0])
    except (IndexError, ValueError):
        return 0


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
