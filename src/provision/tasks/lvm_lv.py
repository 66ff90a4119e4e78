"""`lvm_lv`: a logical volume of a set size in a volume group; grown with `lvextend` when
the size grows, never shrunk (that would cut the filesystem on it).

Arguments follow community.general.lvol: `vg`, `lv`, `size`, `state` (present only: a
volume is never removed by provision). `size` is `20g`, `512m`, `1t` (binary units, as
LVM takes them; no unit: MiB) or `80%VG` (of the whole volume group, so the rest stays
free for growth or snapshots). A size that is not a whole number of extents is rounded up,
as lvcreate does.

Creating or extending a volume needs the kernel's device-mapper: a host without it (some
container hosts, see docs/lab.md) fails at plan time with that reason.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.facts.base import Fact
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg
from provision.tasks.lvm_vg import UNITS, lvm_missing, lvm_name_problem

if TYPE_CHECKING:
    from provision.facts.storage import LogicalVolume, LvmState, VolumeGroup

SIZE = re.compile(r"(?P<number>[0-9]{1,15}(?:\.[0-9]{1,6})?)(?P<unit>[bBsSkKmMgGtTpPeE]?)")
PERCENT = re.compile(r"(?P<percent>[1-9][0-9]?|100)%VG")
NO_DEVICE_MAPPER = (
    "this host's kernel has no device-mapper (/proc/misc lists no device-mapper), so no"
    " logical volume can be created or activated here"
)


def human(size: int) -> str:
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if size >= factor:
            return f"{size / factor:.2f} {unit}".replace(".00 ", " ")
    return f"{size} B"


def size_problem(size: str) -> str | None:
    if SIZE.fullmatch(size) or PERCENT.fullmatch(size):
        if SIZE.fullmatch(size) and float(SIZE.fullmatch(size).group("number")) <= 0:  # type: ignore[union-attr]
            return f"`size` must be more than 0, found {size!r}"
        return None
    return f"`size` must be like 20g, 512m or 80%VG, found {size!r}"


def absolute_bytes(size: str) -> int | None:
    """Bytes of an absolute size (`20g`), None for a percentage."""
    match = SIZE.fullmatch(size)
    if match is None:
        return None
    factor = UNITS[match.group("unit").lower()]
    whole, _, fraction = match.group("number").partition(".")
    return int(whole) * factor + int(fraction or "0") * factor // 10 ** len(fraction)


class LvmLv(TaskType):
    """`lvm_lv`: a logical volume of a set size

    `lvcreate`, then `lvextend` when the size grows; a smaller size fails (never shrunk).
    A size that is not a whole number of extents is rounded up, as lvcreate does. Fails at
    plan time on a kernel without device-mapper. Argument names follow
    community.general.lvol.
    """

    type_name = "lvm_lv"

    @dataclass(kw_only=True)
    class Params:
        vg: str = arg(doc="the volume group")
        lv: str = arg(doc="the logical volume's name")
        size: str = arg(
            doc="`20g`, `512m`, `1t` (binary units; no unit: MiB) or `80%VG` (of the whole"
            " volume group)"
        )
        state: str = arg(
            "present", choices=("present",), doc="a volume is never removed by provision"
        )

    params: Params

    def validate(self) -> None:
        for key, what in (("vg", "volume group"), ("lv", "logical volume")):
            problem = lvm_name_problem(getattr(self.params, key), what)
            if problem:
                raise self.fail(problem, arg=key)
        if self.params.lv.startswith(("snapshot", "pvmove")) or "_" + "mlog" in self.params.lv:
            raise self.fail(f"`lv` {self.params.lv!r} is a name LVM reserves", arg="lv")
        problem = size_problem(self.params.size)
        if problem:
            raise self.fail(problem, arg="size")

    def describe(self) -> str:
        return f"lvm_lv {self.params.vg}/{self.params.lv} {self.params.size}"

    @property
    def path(self) -> str:
        return f"/dev/{self.params.vg}/{self.params.lv}"

    def facts(self) -> list[Fact]:
        from provision.facts.storage import LvmFact

        return [LvmFact()]

    def _wanted(self, vg: VolumeGroup) -> tuple[int, list[str]]:
        """(bytes the volume must span, the lvcreate/lvextend size words)."""
        extent = vg.extent_size
        absolute = absolute_bytes(self.params.size)
        if absolute is not None:
            extents = -(-absolute // extent)
            return extents * extent, ["-L", f"{extents * extent}b"]
        percent = int(PERCENT.fullmatch(self.params.size).group("percent"))  # type: ignore[union-attr]
        return vg.extents * percent // 100 * extent, ["-l", f"{percent}%VG"]

    def plan(self, state: HostState) -> Outcome:
        from provision.facts.storage import LogicalVolume, LvmFact

        vg_name, lv_name = self.params.vg, self.params.lv
        lvm: LvmState = state.get(LvmFact())
        missing = lvm_missing(state, lvm)
        if missing is not None:
            return missing
        vg = lvm.vg(vg_name)
        if vg is None:
            if state.after_changes:
                return Deferred(
                    f"decided at apply: volume group {vg_name} does not exist yet", [LvmFact()]
                )
            return Failed(f"volume group {vg_name} does not exist (create it first: lvm_vg)")
        wanted, size_words = self._wanted(vg)
        if wanted <= 0:
            return Failed(
                f"size {self.params.size} of volume group {vg_name} is less than one extent"
            )
        current = lvm.lv(vg_name, lv_name)
        name = f"{vg_name}/{lv_name}"
        if current is None:
            if wanted > vg.free:
                return Failed(
                    f"volume group {vg_name} has {human(vg.free)} free, {name} needs"
                    f" {human(wanted)} ({self.params.size})"
                )
            if not lvm.device_mapper:
                return Failed(f"cannot create {name}: {NO_DEVICE_MAPPER}")
            words = ["lvcreate", "-y", "-n", lv_name, *size_words, "--", vg_name]
            self._record(state, lvm, vg, LogicalVolume(lv_name, vg_name, wanted), wanted)
            line = shlex.join(words)
            return Change(
                [f"create logical volume {name} ({human(wanted)}, {self.params.size})"],
                [Command(line, line)],
            )
        slack = vg.extent_size if absolute_bytes(self.params.size) is None else 0
        if current.size > wanted + slack:
            return Failed(
                f"{name} is {human(current.size)}; size {self.params.size} asks for"
                f" {human(wanted)}. provision never shrinks a volume (the filesystem on it"
                f" would be cut): set the size to at least {human(current.size)}"
            )
        if current.size >= wanted - slack:
            if not current.active:
                if not lvm.device_mapper:
                    return Failed(f"cannot activate {name}: {NO_DEVICE_MAPPER}")
                line = shlex.join(["lvchange", "-a", "y", "--", name])
                active = LogicalVolume(lv_name, vg_name, current.size, True)
                self._record(state, lvm, vg, active, 0)
                return Change([f"activate logical volume {name}"], [Command(line, line)])
            return NoOp(f"{name} is {human(current.size)} ({self.params.size})")
        grow = wanted - current.size
        if grow > vg.free:
            return Failed(
                f"volume group {vg_name} has {human(vg.free)} free; growing {name} to"
                f" {human(wanted)} needs {human(grow)}"
            )
        if not lvm.device_mapper:
            return Failed(f"cannot extend {name}: {NO_DEVICE_MAPPER}")
        line = shlex.join(["lvextend", *size_words, "--", name])
        self._record(state, lvm, vg, LogicalVolume(lv_name, vg_name, wanted, current.active), grow)
        return Change(
            [f"extend logical volume {name}: {human(current.size)} → {human(wanted)}"],
            [Command(line, line)],
        )

    def _record(
        self, state: HostState, lvm: LvmState, vg: VolumeGroup, lv: LogicalVolume, used: int
    ) -> None:
        """The state after the change: the volume, the VG's free space, the device node
        (blank when new) that a later `filesystem` or `mount` task reads."""
        from provision.facts.storage import (
            BlockDevice,
            BlockDeviceFact,
            Filesystem,
            FilesystemFact,
            LvmFact,
            LvmState,
            VolumeGroup,
        )

        lvs = tuple(x for x in lvm.lvs if (x.vg, x.name) != (lv.vg, lv.name)) + (lv,)
        smaller = VolumeGroup(vg.name, vg.size, vg.free - used, vg.extent_size, vg.uuid)
        vgs = tuple(smaller if v.name == vg.name else v for v in lvm.vgs)
        state.set(LvmFact(), LvmState(True, lvm.device_mapper, lvm.pvs, vgs, lvs))
        fact = BlockDeviceFact(self.path)
        before: BlockDevice | None = state.get(fact) if state.has(fact) else None
        if before is not None and before.exists:
            state.set(
                fact,
                BlockDevice(self.path, True, True, lv.size, before.major_minor, before.signatures),
            )
        else:
            state.set(fact, BlockDevice(self.path, size=lv.size))
            state.set(FilesystemFact(self.path), Filesystem(self.path))

    def assertions(self) -> list[Assertion]:
        name = f"{self.params.vg}/{self.params.lv}"
        script = shlex.join(["lvs", "--noheadings", "-o", "lv_name", "--", name])
        expect = {
            "equals": None,
            "in": None,
            "matches": rf"^\s*{re.escape(self.params.lv)}\s*$",
            "rc": 0,
        }
        return [Assertion("command", script, expect, f"logical volume {name}")]
