"""The machine's cgroup hierarchies where each lab host gets a cgroup of its own."""

from __future__ import annotations

from pathlib import Path

from . import config


def cgroup_roots() -> list[Path]:
    """Where this machine's cgroup hierarchies for the lab live (v2, or hybrid v1+v2)."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():
        return [base]
    return [p for p in (base / "unified", base / "systemd") if p.is_dir()]


def host_cgroups(name: str) -> list[Path]:
    return [root / config.CGROUP_NAME / name for root in cgroup_roots()]
