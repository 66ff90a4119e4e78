"""`lvm_vg`: a volume group on whole block devices (`pvs`), created or extended, never on a
device that carries anything provision did not put there.

Arguments follow community.general.lvg: `vg`, `pvs`, `pesize`, `state` (present only: a
volume group is never removed by provision, that would destroy its volumes).

A device is used only when `wipefs` finds no signature on it at all (no filesystem, no
partition table, no RAID or LVM label), or when it already is a physical volume of this
very volume group (matched by PV UUID). Anything else fails the task at plan time, naming
what was found; nothing is wiped, ever.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.facts.base import Fact
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Failed,
    HostState,
    NoOp,
    Outcome,
)
from provision.tasks.base import Assertion, TaskType, arg

if TYPE_CHECKING:
    from provision.facts.storage import (
        BlockDevice,
        LvmState,
        PhysicalVolume,
        Signature,
        VolumeGroup,
    )

#: an LVM VG or LV name: LVM's own character set, never starting with `-`, not . or ..
LVM_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}")
PESIZE = re.compile(r"[1-9][0-9]{0,5}[kKmMgG]?")
#: where LVM puts the first extent on a new PV (pvcreate's default data alignment)
PE_START = 1024 * 1024
UNITS = {"": 1024**2, "b": 1, "s": 512, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
UNITS |= {"p": 1024**5, "e": 1024**6}
NO_LVM = "lvm2 is not installed on this host (install the lvm2 package first)"


def lvm_name_problem(name: str, what: str) -> str | None:
    if not LVM_NAME.fullmatch(name) or name in (".", ".."):
        return (
            f"invalid {what} name {name!r}: letters, digits and + _ . - only (at most 127),"
            " not starting with `-`"
        )
    return None


def lvm_missing(state: HostState, lvm: LvmState) -> Outcome | None:
    """Deferred (an earlier task installs lvm2) or Failed when LVM's tools are missing."""
    from provision.facts.storage import LvmFact

    if lvm.installed:
        return None
    if state.after_changes:
        return Deferred("decided at apply: lvm2 is not installed yet", [LvmFact()])
    return Failed(NO_LVM)


def refusal(device: str, sig: Signature, detail: str = "") -> Failed:
    return Failed(
        f"refusing {device}: it carries {sig.describe()}{detail}, which provision did not"
        " create. Nothing was changed. If the device holds nothing you need, clear it yourself"
        f" (`wipefs -a {device}`) and run again, or set another device."
    )


def pv_of(device: BlockDevice, lvm: LvmState) -> PhysicalVolume | None:
    """The PV on `device`, when its only signature is an LVM label LVM knows."""
    sig = device.signature("LVM2_member")
    if sig is None or len(device.signatures) != 1 or not sig.uuid:
        return None
    return lvm.pv_by_uuid(sig.uuid)


class LvmVg(TaskType):
    """`lvm_vg`: a volume group on whole block devices

    `vgcreate` on blank devices, `vgextend` with a new blank one. A device with ANY
    signature (`wipefs`: filesystem, partition table, LVM label of another or no VG, RAID)
    fails the task at plan time, naming it; a PV of this VG (matched by PV UUID) is a
    no-op. Every device path is `/dev/...` (no spaces, no `..`, never starting with `-`);
    every command puts `--` before its operands. Argument names follow
    community.general.lvg.
    """

    type_name = "lvm_vg"

    @dataclass(kw_only=True)
    class Params:
        vg: str = arg(doc="the volume group's name")
        pvs: list[str] = arg(doc="its devices: a path or a list of paths")
        pesize: str = arg("4m", doc="the extent size when created")
        state: str = arg(
            "present", choices=("present",), doc="a volume group is never removed by provision"
        )

    params: Params

    def validate(self) -> None:
        from provision.facts.storage import device_problem

        problem = lvm_name_problem(self.params.vg, "volume group")
        if problem:
            raise self.fail(problem, arg="vg")
        if not self.params.pvs:
            raise self.fail("`pvs` lists no device", arg="pvs")
        for path in self.params.pvs:
            problem = device_problem(path)
            if problem:
                raise self.fail(f"`pvs`: {problem}", arg="pvs")
        if len(set(self.params.pvs)) != len(self.params.pvs):
            raise self.fail("`pvs` names a device twice", arg="pvs")
        if not PESIZE.fullmatch(self.params.pesize):
            raise self.fail(
                f"`pesize` must be a size like 4m or 32m, found {self.params.pesize!r}",
                arg="pesize",
            )

    def describe(self) -> str:
        return f"lvm_vg {self.params.vg} on {', '.join(self.params.pvs)}"

    def facts(self) -> list[Fact]:
        from provision.facts.storage import BlockDeviceFact, LvmFact

        return [LvmFact(), *(BlockDeviceFact(p) for p in self.params.pvs)]

    def _extent(self) -> int:
        size = self.params.pesize
        unit = size[-1].lower() if size[-1].isalpha() else "m"
        return int(size.rstrip("kKmMgG")) * UNITS[unit]

    def plan(self, state: HostState) -> Outcome:
        from provision.facts.storage import BlockDeviceFact, LvmFact

        name = self.params.vg
        lvm: LvmState = state.get(LvmFact())
        to_add: list[BlockDevice] = []
        for path in self.params.pvs:
            device: BlockDevice = state.get(BlockDeviceFact(path))
            if not device.exists:
                return Failed(f"{path} does not exist on this host")
            if not device.is_block:
                return Failed(f"{path} is not a block device")
            pv = pv_of(device, lvm)
            if pv is not None and pv.vg == name:
                continue
            if device.signatures:
                sig = device.signatures[0]
                detail = ""
                if pv is not None:
                    detail = f" of volume group {pv.vg}" if pv.vg else " in no volume group"
                return refusal(path, sig, detail)
            to_add.append(device)
        if not to_add:
            return NoOp(f"volume group {name} is on {', '.join(self.params.pvs)}")
        missing = lvm_missing(state, lvm)
        if missing is not None:
            return missing
        paths = [d.path for d in to_add]
        existing = lvm.vg(name)
        if existing is None:
            words = ["vgcreate", "-s", self.params.pesize, "--", name, *paths]
            summary = f"create volume group {name} on {', '.join(paths)}"
            extent = self._extent()
        else:
            words = ["vgextend", "--", name, *paths]
            summary = f"extend volume group {name} with {', '.join(paths)}"
            extent = existing.extent_size
        self._record(state, lvm, existing, to_add, extent)
        line = shlex.join(words)
        return Change([summary], [Command(line, line)])

    def _record(
        self,
        state: HostState,
        lvm: LvmState,
        existing: VolumeGroup | None,
        added: list[BlockDevice],
        extent: int,
    ) -> None:
        """The state after the change: new PVs in the VG, their LVM labels on the devices."""
        from provision.facts.storage import (
            BlockDevice,
            BlockDeviceFact,
            LvmFact,
            LvmState,
            PhysicalVolume,
            Signature,
            VolumeGroup,
        )

        name = self.params.vg
        pvs = list(lvm.pvs)
        grown = 0
        for device in added:
            uuid = f"planned-pv:{device.path}"
            usable = max(device.size - PE_START, 0) // extent * extent
            grown += usable
            pvs.append(PhysicalVolume(device.path, name, usable, uuid))
            labelled = BlockDevice(
                device.path,
                size=device.size,
                major_minor=device.major_minor,
                signatures=(Signature("LVM2_member", "0x218", uuid),),
            )
            state.set(BlockDeviceFact(device.path), labelled)
        if existing is None:
            vg = VolumeGroup(name, grown, grown, extent, f"planned-vg:{name}")
            vgs = (*lvm.vgs, vg)
        else:
            vg = VolumeGroup(
                name, existing.size + grown, existing.free + grown, extent, existing.uuid
            )
            vgs = tuple(vg if v.name == name else v for v in lvm.vgs)
        state.set(LvmFact(), LvmState(True, lvm.device_mapper, tuple(pvs), vgs, lvm.lvs))

    def assertions(self) -> list[Assertion]:
        name = self.params.vg
        script = shlex.join(["vgs", "--noheadings", "-o", "vg_name", "--", name])
        expect = {"equals": None, "in": None, "matches": rf"^\s*{re.escape(name)}\s*$", "rc": 0}
        return [Assertion("command", script, expect, f"volume group {name}")]
