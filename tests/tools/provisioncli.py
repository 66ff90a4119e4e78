"""The real CLI as a subprocess in a project directory: what the integration and lab tests
run, so each test sees exactly what a user's shell would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def provision(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
