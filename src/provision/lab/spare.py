"""Each lab host's spare block device: a loop device over a sparse file in its state dir,
handed into the container as /dev/vdb (as the libvirt Vagrant hosts have it), so the
docker_storage role runs on a real block device.

The loop device is the lab's own: attached by `lab up` (recorded in the host's state dir
as `spare.loop`), detached by `lab down` only when that record and the kernel agree
(the loop's backing file is this host's `spare.img`). A device-mapper volume the host
made on it (LVM) is removed first, or the loop stays busy.

Device-mapper is the machine's kernel's: without it (no `device-mapper` in /proc/misc),
LVM inside the hosts can write PV and VG metadata but cannot create or activate a
logical volume (docs/lab.md, "The spare disk").
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .util import run

SPARE_BYTES = 2 * 1024**3
GUEST_PATH = "/dev/vdb"
IMAGE_NAME = "spare.img"
RECORD_NAME = "spare.loop"


def device_mapper_available() -> bool:
    """Whether the machine's kernel has device-mapper (LVM volumes can exist)."""
    try:
        misc = Path("/proc/misc").read_text()
    except OSError:
        return False
    return any(line.split()[1:] == ["device-mapper"] for line in misc.splitlines())


def _backing_file(loop: str) -> str:
    name = Path(loop).name
    try:
        return Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return ""


def recorded_loop(hostdir: Path) -> str | None:
    """The loop device `lab up` attached for this host, if it is still ours."""
    record = hostdir / RECORD_NAME
    try:
        loop = record.read_text().strip()
    except OSError:
        return None
    if not loop.startswith("/dev/loop") or not loop[len("/dev/loop") :].isdigit():
        return None
    image = str((hostdir / IMAGE_NAME).resolve())
    backing = _backing_file(loop)
    if backing.removesuffix(" (deleted)") != image:
        return None
    return loop


def attach(hostdir: Path) -> str:
    """The host's spare disk as a loop device (created blank, sparse, on first use)."""
    loop = recorded_loop(hostdir)
    if loop is not None:
        return loop
    image = hostdir / IMAGE_NAME
    if not image.exists():
        with open(image, "wb") as fh:
            fh.truncate(SPARE_BYTES)
        os.chmod(image, 0o600)
    proc = run(["losetup", "--find", "--show", "--nooverlap", str(image)])
    loop = proc.stdout.strip()
    (hostdir / RECORD_NAME).write_text(loop + "\n")
    return loop


def detach(hostdir: Path) -> bool:
    """Detach this host's loop device (removing device-mapper volumes on it first).
    Returns whether there was one."""
    loop = recorded_loop(hostdir)
    (hostdir / RECORD_NAME).unlink(missing_ok=True)
    if loop is None:
        return False
    holders = Path(f"/sys/block/{Path(loop).name}/holders")
    with contextlib.suppress(OSError):
        for holder in sorted(holders.iterdir()):
            with contextlib.suppress(OSError):
                name = (holder / "dm" / "name").read_text().strip()
                run(["dmsetup", "remove", "--", name], check=False)
    run(["losetup", "--detach", loop], check=False)
    return True


def forget(hostdir: Path) -> None:
    """A fresh spare disk for the next `up` (lab reset, down --wipe)."""
    detach(hostdir)
    (hostdir / IMAGE_NAME).unlink(missing_ok=True)
