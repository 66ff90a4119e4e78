"""The container lab: Rocky 9-like hosts in systemd-nspawn containers on one Linux machine.

API (all need root and systemd-nspawn; see docs/lab.md)::

    lab_up(hosts=3) -> list[LabHost]      # boot rocky1..N, build the image on first use
    lab_down(wipe=False) -> list[str]     # stop every host (wipe: forget their disks)
    lab_status() -> LabStatus             # hosts, state, cache, paths
    lab_paths() -> LabPaths               # inventory, key, known_hosts, proxy_log, repo_base
    lab_reset(name) -> LabHost            # one host back to a fresh disk
    lab_clean()                           # down --wipe, then remove the cached image

Imports are light: nothing here imports fabric or paramiko.
"""

from __future__ import annotations

from .core import (
    HostStatus,
    LabHost,
    LabPaths,
    LabStatus,
    PrerequisiteError,
    lab_clean,
    lab_down,
    lab_paths,
    lab_reset,
    lab_status,
    lab_up,
    prerequisite_problems,
    ssh_command,
)
from .util import LabError

__all__ = [
    "HostStatus",
    "LabError",
    "LabHost",
    "LabPaths",
    "LabStatus",
    "PrerequisiteError",
    "lab_clean",
    "lab_down",
    "lab_paths",
    "lab_reset",
    "lab_status",
    "lab_up",
    "prerequisite_problems",
    "ssh_command",
]
