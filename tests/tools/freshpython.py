"""Python code run in a fresh interpreter, for tests of what importing does (which modules
a command loads, what an import hides): the test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def fresh(code: str) -> Any:
    """Run `code` in a fresh interpreter; it prints one JSON line last, returned parsed."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])
