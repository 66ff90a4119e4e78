"""`filesystem`: a filesystem on a block device, made only on a blank device and grown
(never shrunk, never re-made) when the device grew.

Arguments follow community.general.filesystem: `dev`, `fstype` (xfs or ext4), `resizefs`.

- A blank device (wipefs finds no signature at all) gets the filesystem: xfs with
  `ftype=1` (`d_type`, which Docker's overlay2 needs), with a UUID chosen at plan time, so
  the plan shows the UUID that a later `mount` task writes into /etc/fstab.
- A device that holds exactly this filesystem type is left as it is (no-op); xfs with
  `ftype=0` fails (overlay2 cannot use it, and re-making it would destroy its data).
- Anything else (another filesystem, a partition table, an LVM or RAID label) fails the
  task at plan time, naming what was found. Nothing is ever wiped or forced.
- `resizefs: true`: when the device is larger than the filesystem (the volume grew), the
  filesystem is grown: `xfs_growfs` on its mount point (xfs grows only while mounted),
  `resize2fs` for ext4.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass

from provision.facts.base import Fact
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg
from provision.tasks.lvm_lv import human
from provision.tasks.lvm_vg import refusal

#: a filesystem smaller than its device by at least this much is grown (volumes grow by
#: whole extents, 4 MiB by default)
GROW_THRESHOLD = 1024 * 1024


def make_command(fstype: str, device: str, fs_uuid: str) -> Command:
    if fstype == "xfs":
        words = ["mkfs.xfs", "-q", "-m", f"crc=1,uuid={fs_uuid}", "-n", "ftype=1", "--", device]
    else:
        words = ["mkfs.ext4", "-q", "-U", fs_uuid, "--", device]
    line = shlex.join(words)
    return Command(line, line, progress=True)


class FilesystemType(TaskType):
    """`filesystem`: a filesystem on a block device

    Made only on a blank device, with a UUID chosen at plan time (the plan shows the UUID a
    later `mount` task writes into /etc/fstab); the same type is a no-op, anything else
    (another filesystem, xfs `ftype=0`, a partition table, a label) fails. Nothing is ever
    wiped or forced. Argument names follow community.general.filesystem.
    """

    type_name = "filesystem"

    @dataclass(kw_only=True)
    class Params:
        dev: str = arg(doc="the block device (`/dev/...`)")
        fstype: str | None = arg(
            None, choices=("xfs", "ext4"), doc="the filesystem (xfs is made with `ftype=1`)"
        )
        resizefs: bool = arg(
            False,
            doc="grow it when the device grew: `xfs_growfs` (mounted) or `resize2fs`",
        )

    params: Params

    def validate(self) -> None:
        from provision.facts.storage import device_problem

        problem = device_problem(self.params.dev)
        if problem:
            raise self.fail(f"`dev`: {problem}", arg="dev")
        if self.params.fstype is None:
            raise self.fail("`fstype` is required: xfs or ext4", arg="fstype")

    def describe(self) -> str:
        return f"filesystem {self.params.fstype} on {self.params.dev}"

    def facts(self) -> list[Fact]:
        from provision.facts.storage import BlockDeviceFact, FilesystemFact

        return [BlockDeviceFact(self.params.dev), FilesystemFact(self.params.dev)]

    def plan(self, state: HostState) -> Outcome:
        from provision.facts.storage import (
            BlockDevice,
            BlockDeviceFact,
            Filesystem,
            FilesystemFact,
            Signature,
        )

        path, fstype = self.params.dev, self.params.fstype
        device: BlockDevice = state.get(BlockDeviceFact(path))
        fs: Filesystem = state.get(FilesystemFact(path))
        if not device.exists:
            if state.after_changes:
                return Deferred(
                    f"decided at apply: {path} does not exist yet",
                    [BlockDeviceFact(path), FilesystemFact(path)],
                )
            return Failed(f"{path} does not exist on this host")
        if not device.is_block:
            return Failed(f"{path} is not a block device")
        if device.blank:
            fs_uuid = str(uuid.uuid4())
            made = Filesystem(
                path, fstype, device.size, 1 if fstype == "xfs" else None, "", fs_uuid
            )
            state.set(FilesystemFact(path), made)
            state.set(
                BlockDeviceFact(path),
                BlockDevice(
                    path,
                    True,
                    True,
                    device.size,
                    device.major_minor,
                    (Signature(fstype, "0x0", fs_uuid),),
                ),
            )
            extra = ", ftype=1" if fstype == "xfs" else ""
            return Change(
                [f"make an {fstype} filesystem on {path} (UUID {fs_uuid}{extra})"],
                [make_command(fstype, path, fs_uuid)],
            )
        sig = device.signatures[0]
        if len(device.signatures) != 1 or sig.type != fstype or fs.fstype != fstype:
            other = next((s for s in device.signatures if s.type != fstype), sig)
            return refusal(path, other)
        if fstype == "xfs" and fs.ftype != 1:
            return Failed(
                f"{path} holds xfs with ftype={fs.ftype}: Docker's overlay2 needs ftype=1."
                " provision does not re-make a filesystem that exists (its data would be"
                " lost): move the data off, make it again with `mkfs.xfs -n ftype=1`"
            )
        ok = f"{path} holds {fstype} (UUID {fs.uuid or 'unknown'}" + (
            ", ftype=1)" if fstype == "xfs" else ")"
        )
        if not self.params.resizefs or device.size - fs.size < GROW_THRESHOLD:
            return NoOp(ok)
        summary = f"grow the {fstype} filesystem on {path}: {human(fs.size)} → {human(device.size)}"
        if fstype == "xfs":
            if not fs.mounted_at:
                return Failed(
                    f"{path} grew to {human(device.size)} but its xfs filesystem"
                    f" ({human(fs.size)}) is not mounted, and xfs grows only while mounted:"
                    " mount it, then run again"
                )
            words = ["xfs_growfs", "-d", "--", fs.mounted_at]
        else:
            words = ["resize2fs", "--", path]
        state.set(
            FilesystemFact(path),
            Filesystem(path, fstype, device.size, fs.ftype, fs.mounted_at, fs.uuid),
        )
        line = shlex.join(words)
        return Change([summary], [Command(line, line)])

    def assertions(self) -> list[Assertion]:
        script = shlex.join(["blkid", "-p", "-s", "TYPE", "-o", "value", "--", self.params.dev])
        expect = {"equals": self.params.fstype, "in": None, "matches": None, "rc": None}
        return [Assertion("command", script, expect, f"{self.params.fstype} on {self.params.dev}")]
