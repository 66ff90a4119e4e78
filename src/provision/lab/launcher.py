"""Runs one lab host: its own cgroup, systemd-nspawn --boot, again after a reboot (exit 133).

Started detached by ``provision lab up``: ``python -m provision.lab.launcher NAME ROOT HOSTDIR``.
SIGTERM (from ``lab down``) is passed to systemd-nspawn, which shuts the host down cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from . import config
from .cgroups import host_cgroups
from .spare import GUEST_PATH, recorded_loop

REBOOT_EXIT = 133


def nspawn_command(name: str, root: Path, hostdir: Path, spare: str | None = None) -> list[str]:
    """The systemd-nspawn command line; `spare` (a loop device) is bound as /dev/vdb, and
    device-mapper's control node with it when the machine has one (LVM volumes)."""
    devices = []
    if spare:
        devices.append(f"--bind={spare}:{GUEST_PATH}")
        if Path("/dev/mapper/control").exists():
            devices.append("--bind=/dev/mapper/control")
    return [
        "systemd-nspawn",
        "--quiet",
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--directory={root}",
        f"--machine={name}",
        f"--hostname={name}",
        f"--network-namespace-path=/run/netns/{config.netns_name(name)}",
        "--capability=all",
        "--console=read-only",
        "--system-call-filter=@keyring bpf",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        f"--bind={hostdir / 'docker'}:/var/lib/docker",
        f"--bind={hostdir / 'containerd'}:/var/lib/containerd",
        *devices,
    ]


def main(argv: list[str]) -> int:
    name, root, hostdir = argv[0], Path(argv[1]), Path(argv[2])
    for cg in host_cgroups(name):
        cg.mkdir(parents=True, exist_ok=True)
        (cg / "cgroup.procs").write_text(str(os.getpid()))
    env = {
        **os.environ,
        "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1",
        "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network",
    }
    state = {"stopping": False, "child": None}

    def on_term(signum: int, frame: object) -> None:
        state["stopping"] = True
        child = state["child"]
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    pidfile = config.RUN_ROOT / f"{name}.nspawn.pid"
    rc = 0
    while not state["stopping"]:
        child = subprocess.Popen(
            nspawn_command(name, root, hostdir, recorded_loop(hostdir)), env=env
        )
        state["child"] = child
        pidfile.write_text(f"{child.pid}\n")
        rc = child.wait()
        print(f"[provision lab] systemd-nspawn for {name} exited {rc}", flush=True)
        if rc != REBOOT_EXIT:
            break
    pidfile.unlink(missing_ok=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
