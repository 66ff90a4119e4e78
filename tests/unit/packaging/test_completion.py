"""Shell completion, as the README documents it (click's `_PROVISION_COMPLETE`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# the installed entry point: its name, `provision`, makes the variable `_PROVISION_COMPLETE`
ENTRY = Path(sys.executable).parent / "provision"
pytestmark = pytest.mark.skipif(not ENTRY.exists(), reason=f"no entry point {ENTRY}")


def bash_complete(words: str) -> list[str]:
    """What bash's completion function gets for the command line `words` (last word)."""
    env = {
        **os.environ,
        "_PROVISION_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    proc = subprocess.run(
        [str(ENTRY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_source_script_defines_the_completion(shell: str) -> None:
    proc = subprocess.run(
        [str(ENTRY)],
        capture_output=True,
        text=True,
        env={**os.environ, "_PROVISION_COMPLETE": f"{shell}_source"},
        timeout=60,
    )
    assert proc.returncode == 0
    assert "_PROVISION_COMPLETE" in proc.stdout
    assert f"{shell}_complete" in proc.stdout


BASH = {
    "commands": (
        "provision ",
        [
            "apply",
            "audit",
            "bundle",
            "check",
            "facts",
            "init",
            "inventory",
            "lab",
            "lint",
            "plan",
            "pull",
            "show",
            "verify",
        ],
    ),
    "command prefix": ("provision l", ["lab", "lint"]),
    "lab commands (imported on demand)": ("provision lab s", ["ssh", "status"]),
    "plan options": ("provision plan --fo", ["--forks", "--format"]),
    "init options": ("provision init --f", ["--force"]),
    "format choices": ("provision plan --format ", ["text", "json"]),
}


@pytest.mark.parametrize("words, expected", BASH.values(), ids=BASH.keys())
def test_bash_completes(words: str, expected: list[str]) -> None:
    assert [line.split(",", 1)[1] for line in bash_complete(words)] == expected
