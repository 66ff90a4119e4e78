"""Run remote scripts here with every program they start replaced by a spy that records
its argv and environment (what /proc/PID/cmdline and /proc/PID/environ show on the host).

A secret passed only on standard input, to shell builtins, or in a forked subshell never
reaches the record; a secret in any program's argument or exported variable does. The
scripts run with PATH holding only the spies: a program the list lacks fails the run
("not found" on stderr), so the list cannot silently fall behind the scripts.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Programs whose real behaviour the scripts need to go on (text filters, temp files, a
# nested shell): the spy records them, then runs the real one. Everything else is only
# recorded, reads its standard input and succeeds.
PASS_THROUGH = (
    "sh", "bash", "sed", "tr", "base64", "head", "cat", "grep", "mktemp", "dirname", "rm",
    "mkdir", "chmod",
)  # fmt: skip
RECORD_ONLY = (
    "docker", "curl", "sleep", "tar", "systemctl", "dnf", "rpm", "rpmkeys",
    "chown", "mv", "ln", "sha256sum", "find", "env", "awk", "cut", "stat",
    "readlink", "basename", "wc", "sort", "firewall-cmd", "python3", "createrepo_c",
    "uname", "id", "cp", "install", "cmp", "timeout", "flock", "sync", "touch", "ls",
)  # fmt: skip


def spy_dir(root: Path) -> Path:
    """A folder of spies (one per program name)."""
    folder = root / "spies"
    folder.mkdir(exist_ok=True)
    for name in PASS_THROUGH + RECORD_ONLY:
        real = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
        tail = (
            f'exec {real} "$@"'
            if name in PASS_THROUGH and real
            else '[ -t 0 ] || /bin/cat >/dev/null 2>&1; exit "${SPY_RC:-0}"'
        )
        spy = folder / name
        spy.write_text(
            "#!/bin/sh\n"
            '{ printf "ARGV"; for a in "$0" "$@"; do printf " [%s]" "$a"; done; printf "\\n";'
            ' printf "ENV "; /usr/bin/env; printf "\\n"; } >> "$SPY_LOG"\n' + tail + "\n"
        )
        spy.chmod(0o755)
    return folder


@dataclass
class SpyRun:
    record: str  # every program's argv and environment
    stderr: str
    stdout: str = ""


def run_spied(root: Path, script: str, stdin: bytes | None = None) -> SpyRun:
    """Run `script` as the connection does (`sh -s` with the script on stdin, or `sh -c
    SCRIPT` with the command's own stdin), the outer shell recorded too."""
    spies = spy_dir(root)
    log = root / "spy.log"
    log.write_text("")
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": str(spies), "SPY_LOG": str(log), "HOME": str(home), "LC_ALL": "C"}
    if stdin is None:
        argv, data = [str(spies / "sh"), "-s"], script.encode()
    else:
        argv, data = [str(spies / "sh"), "-c", script], stdin
    result = subprocess.run(
        argv, input=data, capture_output=True, env=env, cwd=root, timeout=60, check=False
    )
    return SpyRun(
        log.read_text(errors="replace"),
        result.stderr.decode(errors="replace"),
        result.stdout.decode(errors="replace"),
    )


def forms(secret: str, user: str = "") -> list[str]:
    """The secret and the encodings that are as good as it (HTTP basic, docker's auth)."""
    found = [secret]
    if user:
        found.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return found


def leaked(run: SpyRun, secret: str, user: str = "") -> list[str]:
    """The record lines that hold the secret in any form."""
    return [
        line[:200]
        for line in run.record.splitlines()
        if any(form in line for form in forms(secret, user))
    ]


def missing_programs(run: SpyRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if "not found" in line]
