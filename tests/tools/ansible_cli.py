"""Run the real ansible-core tools (ansible-vault) from the dev venv, the same on any machine.

The environment is built, not inherited: a CI machine's HOME may not be writable,
its locale may be C (ansible-core refuses a non-UTF-8 locale), and it may carry
ANSIBLE_* settings of its own. On failure the tool's own output is in the message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ANSIBLE_VAULT = shutil.which("ansible-vault", path=str(Path(sys.executable).parent))
# one scratch home per test process, removed when the process ends
_HOME = tempfile.TemporaryDirectory(prefix="ansible-home-")


def ansible_env(home: Path | None = None) -> dict[str, str]:
    base = home or Path(_HOME.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        LC_ALL="C.UTF-8",
        LANG="C.UTF-8",
        ANSIBLE_HOME=str(base),
        ANSIBLE_LOCAL_TEMP=str(base / "tmp"),
        ANSIBLE_NOCOLOR="1",
    )
    return env


def run_ansible_vault(*args: str, cwd: Path | str = "/", stdin: str | None = None) -> str:
    assert ANSIBLE_VAULT is not None, "ansible-vault is not installed in the dev venv"
    done = subprocess.run(
        [ANSIBLE_VAULT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ansible_env(),
    )
    if done.returncode != 0:
        raise AssertionError(
            f"ansible-vault {' '.join(args[:1])} exited {done.returncode}\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
        )
    return done.stdout
