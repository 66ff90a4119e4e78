"""A small state file (`.provision/last-run.json`): which hosts failed last time (and which
a stopped rollout never reached: `--limit @last-failed` resumes it).

Written after every run (also after Ctrl-C) through a temporary file and a rename, so a
symlink planted at its name is replaced, never followed. Read only for `--limit
@last-failed`, with a size cap and a shape check: anything else is a `StateError` that says
what is wrong, never a crash.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path

from provision.execution.reports import HostReport

FILE = "last-run.json"
MAX_BYTES = 1 << 20
# A host name as `--limit` reads it literally: no pattern characters, no separators.
_HOST_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,254}")


class StateError(Exception):
    """The state file exists but cannot be used; the message says why."""


def record_run(directory: Path, reports: list[HostReport]) -> str | None:
    """Write the failed and unreachable hosts; a warning when it could not be written
    (a read-only working directory must not fail the run)."""
    failed = sorted(r.name for r in reports if r.failed or r.unreachable or r.not_started)
    text = json.dumps({"failed": failed}) + "\n"
    temp: str | None = None
    try:
        directory.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".last-run.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, directory / FILE)
        temp = None
    except OSError as exc:
        return f"warning: could not record this run in {directory / FILE}: {exc.strerror or exc}"
    finally:
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass
    return None


def last_failed(directory: Path) -> list[str] | None:
    """The hosts that failed in the previous run; None when no run was recorded.
    Raises StateError when the file is there but is not a run record."""
    path = directory / FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateError(f"{path} is not a regular file")
        raw = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise StateError(f"{path} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise StateError(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise StateError(f"{path} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("failed"), list):
        raise StateError(f'{path} is not a run record (expected {{"failed": [host names]}})')
    hosts = data["failed"]
    for host in hosts:
        if not isinstance(host, str) or not _HOST_NAME.fullmatch(host) or host == "all":
            shown = repr(host)[:60]
            raise StateError(f"{path} lists {shown}, which is not a host name")
    return list(dict.fromkeys(hosts))
