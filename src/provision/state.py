"""A small state file (`.provision/last-run.json`): which hosts failed last time."""

from __future__ import annotations

import json
from pathlib import Path

from provision.execution.reports import HostReport

FILE = "last-run.json"


def record_run(directory: Path, reports: list[HostReport]) -> None:
    failed = sorted(r.name for r in reports if r.failed or r.unreachable)
    try:
        directory.mkdir(exist_ok=True)
        (directory / FILE).write_text(json.dumps({"failed": failed}) + "\n")
    except OSError:
        pass  # a read-only working directory must not fail the run


def last_failed(directory: Path) -> list[str] | None:
    try:
        data = json.loads((directory / FILE).read_text())
        return [str(h) for h in data.get("failed", [])]
    except (OSError, ValueError):
        return None
