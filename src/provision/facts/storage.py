"""Storage facts: a block device and its signatures, LVM, a mount point, a filesystem.

Each fact is a command plus a pure parser (tests/unit/facts/storage_cases hold captured
output of Debian bookworm's util-linux 2.38, lvm2 2.03.16 and xfsprogs 6.1, the tools the
lab hosts run; the output formats are the same on EL8/9/10).

- `BlockDeviceFact(path)`: `wipefs -J -n` (every signature: filesystem, partition table,
  LVM PV, RAID member, ...; read only), size (`blockdev --getsize64`), major:minor.
- `LvmFact()`: `pvs`, `vgs`, `lvs` as JSON in bytes, and whether the kernel has
  device-mapper (`/proc/misc`): without it no logical volume can be created or activated.
- `MountPointFact(path)`: what is mounted at a directory (`findmnt -J --mountpoint`, the top
  of a stack of mounts) and how many entries the directory holds as seen now.
- `FilesystemFact(dev)`: the filesystem type on a device (`blkid -p`), its size and, for
  xfs, `ftype` (`xfs_info`), ext2/3/4 size (`dumpe2fs -h`), and where it is mounted.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from provision.facts.base import FactError, tail, text

MISSING_TOOL = 127
#: a device path as the storage task types accept it: under /dev, no `..`, no spaces,
#: no shell or control characters (it reaches command lines as one quoted word anyway)
DEVICE_PATH = re.compile(r"/dev/[A-Za-z0-9_][A-Za-z0-9_.:+@/=-]*")
#: signature types that are partition tables (wipefs names them so)
PARTITION_TABLES = frozenset({"gpt", "dos", "PMBR", "atari", "bsd", "sun", "sgi", "mac"})


def device_problem(path: str) -> str | None:
    """None when `path` is a device path the storage types accept, else why not."""
    if not DEVICE_PATH.fullmatch(path):
        return (
            f"{path!r} is not a device path: /dev/NAME with letters, digits and _ . : + @ / = -"
            " only, no spaces, not starting with `-`"
        )
    if any(part in ("", ".", "..") for part in path.split("/")[1:]):
        return f"{path!r} is not a device path: an empty, `.` or `..` component"
    return None


# ------------------------------------------------------------------ block device


@dataclass(frozen=True)
class Signature:
    """One signature wipefs found: `type` is xfs, ext4, LVM2_member, gpt, dos, PMBR, ..."""

    type: str
    offset: str = "0x0"
    uuid: str | None = None
    label: str | None = None

    @property
    def is_partition_table(self) -> bool:
        return self.type in PARTITION_TABLES

    def describe(self) -> str:
        what = "a partition table" if self.is_partition_table else "a signature"
        if self.type == "LVM2_member":
            what = "an LVM physical volume"
        elif not self.is_partition_table:
            what = "a filesystem" if self.type not in ("swap",) else "swap"
        extra = [f"UUID {self.uuid}"] if self.uuid else []
        if self.label:
            extra.append(f"label {self.label!r}")
        shown = f" ({', '.join(extra)})" if extra else ""
        return f"{what} of type {self.type}{shown} at offset {self.offset}"


@dataclass(frozen=True)
class BlockDevice:
    path: str
    exists: bool = True
    is_block: bool = True
    size: int = 0
    major_minor: str = ""  # "253:0", as findmnt shows it
    signatures: tuple[Signature, ...] = ()

    @property
    def blank(self) -> bool:
        return self.exists and self.is_block and not self.signatures

    def signature(self, type_: str) -> Signature | None:
        return next((s for s in self.signatures if s.type == type_), None)


@dataclass(frozen=True)
class BlockDeviceFact:
    path: str
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.path)
        return (
            f"if [ ! -e {p} ]; then echo ABSENT; exit 0; fi; "
            f"if [ ! -b {p} ]; then echo NOTBLOCK; exit 0; fi; "
            "command -v wipefs >/dev/null || exit 127; "
            f"n=$(stat -L -c '%t %T' -- {p}) && s=$(blockdev --getsize64 {p}) || exit 3; "
            'printf "DEVICE %s %s\\n" "$s" "$n"; '
            f"wipefs -J -n -- {p} || exit 3"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> BlockDevice:
        if rc == MISSING_TOOL:
            raise FactError("wipefs (util-linux) is not installed on this host")
        if rc != 0:
            raise FactError(f"cannot read the block device {self.path}: {tail(stderr)}")
        return parse_block_device(self.path, text(stdout))

    def describe(self) -> str:
        return f"block device {self.path}"


_DEVICE_LINE = re.compile(r"DEVICE (\d+) ([0-9a-f]+) ([0-9a-f]+)")


def parse_block_device(path: str, output: str) -> BlockDevice:
    first, _, rest = output.partition("\n")
    first = first.strip()
    if first == "ABSENT":
        return BlockDevice(path, exists=False, is_block=False)
    if first == "NOTBLOCK":
        return BlockDevice(path, exists=True, is_block=False)
    match = _DEVICE_LINE.fullmatch(first)
    if not match:
        raise FactError(f"unexpected answer for the block device {path}: {first!r}")
    size = int(match.group(1))
    major_minor = f"{int(match.group(2), 16)}:{int(match.group(3), 16)}"
    return BlockDevice(path, True, True, size, major_minor, parse_wipefs(rest, path))


def parse_wipefs(output: str, path: str = "") -> tuple[Signature, ...]:
    """`wipefs -J` output: every signature found (empty output: none, as old wipefs says)."""
    if not output.strip():
        return ()
    data = _json(output, f"wipefs {path}")
    signatures = data.get("signatures") if isinstance(data, dict) else None
    if not isinstance(signatures, list):
        raise FactError(f"unexpected wipefs output for {path}: no `signatures` list")
    found = []
    for entry in signatures:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise FactError(f"unexpected wipefs entry for {path}: {entry!r}")
        found.append(
            Signature(
                entry["type"],
                str(entry.get("offset") or "0x0"),
                _optional_text(entry.get("uuid")),
                _optional_text(entry.get("label")),
            )
        )
    return tuple(found)


# ------------------------------------------------------------------ LVM


@dataclass(frozen=True)
class PhysicalVolume:
    name: str
    vg: str  # "" for a PV in no VG
    size: int
    uuid: str


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    size: int
    free: int
    extent_size: int
    uuid: str = ""

    @property
    def extents(self) -> int:
        return self.size // self.extent_size if self.extent_size else 0


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    vg: str
    size: int
    active: bool = True

    @property
    def path(self) -> str:
        return f"/dev/{self.vg}/{self.name}"


@dataclass(frozen=True)
class LvmState:
    installed: bool = True
    device_mapper: bool = True
    pvs: tuple[PhysicalVolume, ...] = ()
    vgs: tuple[VolumeGroup, ...] = ()
    lvs: tuple[LogicalVolume, ...] = ()

    def vg(self, name: str) -> VolumeGroup | None:
        return next((v for v in self.vgs if v.name == name), None)

    def lv(self, vg: str, name: str) -> LogicalVolume | None:
        return next((v for v in self.lvs if v.vg == vg and v.name == name), None)

    def pv_by_uuid(self, uuid: str) -> PhysicalVolume | None:
        return next((p for p in self.pvs if p.uuid == uuid), None)

    def pvs_of(self, vg: str) -> tuple[PhysicalVolume, ...]:
        return tuple(p for p in self.pvs if p.vg == vg)


LVM_REPORT = "--reportformat json --units b --nosuffix"
PV_FIELDS = "pv_name,vg_name,pv_size,pv_uuid"
VG_FIELDS = "vg_name,vg_size,vg_free,vg_extent_size,vg_uuid"
LV_FIELDS = "lv_name,vg_name,lv_size,lv_active"


@dataclass(frozen=True)
class LvmFact:
    slow: bool = False

    def command(self) -> str:
        return (
            "command -v lvm >/dev/null || { echo NOLVM; exit 0; }; "
            "if grep -qw device-mapper /proc/misc 2>/dev/null; then echo DM yes;"
            " else echo DM no; fi; "
            "LVM_SUPPRESS_FD_WARNINGS=1; export LVM_SUPPRESS_FD_WARNINGS; "
            f"echo @@pvs; lvm pvs {LVM_REPORT} -o {PV_FIELDS} || exit 3; "
            f"echo @@vgs; lvm vgs {LVM_REPORT} -o {VG_FIELDS} || exit 3; "
            f"echo @@lvs; lvm lvs {LVM_REPORT} -o {LV_FIELDS} || exit 3"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> LvmState:
        if rc != 0:
            raise FactError(f"cannot read LVM's state (exit {rc}): {tail(stderr)}")
        return parse_lvm(text(stdout))

    def describe(self) -> str:
        return "LVM physical volumes, volume groups and logical volumes"


def parse_lvm(output: str) -> LvmState:
    first, _, rest = output.partition("\n")
    if first.strip() == "NOLVM":
        return LvmState(installed=False, device_mapper=False)
    if first.strip() not in ("DM yes", "DM no"):
        raise FactError(f"unexpected answer for LVM: {first!r}")
    dm = first.strip() == "DM yes"
    parts = re.split(r"^@@(pvs|vgs|lvs)\n", rest, flags=re.M)
    if len(parts) != 7 or parts[0].strip() or parts[1::2] != ["pvs", "vgs", "lvs"]:
        raise FactError("unexpected LVM output: the pvs, vgs and lvs reports are not all there")
    pvs = tuple(
        PhysicalVolume(r["pv_name"], r.get("vg_name", ""), _bytes(r, "pv_size"), r["pv_uuid"])
        for r in _lvm_rows(parts[2], "pv")
    )
    vgs = tuple(
        VolumeGroup(
            r["vg_name"],
            _bytes(r, "vg_size"),
            _bytes(r, "vg_free"),
            _bytes(r, "vg_extent_size"),
            r.get("vg_uuid", ""),
        )
        for r in _lvm_rows(parts[4], "vg")
    )
    lvs = tuple(
        LogicalVolume(
            r["lv_name"], r["vg_name"], _bytes(r, "lv_size"), r.get("lv_active") == "active"
        )
        for r in _lvm_rows(parts[6], "lv")
    )
    return LvmState(True, dm, pvs, vgs, lvs)


def _lvm_rows(report: str, key: str) -> list[dict[str, str]]:
    data = _json(report, f"lvm {key}s")
    try:
        rows = data["report"][0][key]
    except (KeyError, IndexError, TypeError):
        raise FactError(f"unexpected lvm {key}s output: no report.{key} list") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise FactError(f"unexpected lvm {key}s output: {key} is not a list of rows")
    for row in rows:
        for name in (f"{key}_name",) if key != "pv" else ("pv_name", "pv_uuid"):
            if not isinstance(row.get(name), str) or not row[name]:
                raise FactError(f"unexpected lvm {key}s row without {name}: {row!r}")
    return rows


def _bytes(row: dict[str, str], key: str) -> int:
    value = row.get(key)
    if not isinstance(value, str) or not value.isdigit():
        raise FactError(f"unexpected lvm value {key}={value!r} (a size in bytes expected)")
    return int(value)


# ------------------------------------------------------------------ mount point


@dataclass(frozen=True)
class Mounted:
    source: str
    fstype: str
    options: str
    major_minor: str


@dataclass(frozen=True)
class MountPoint:
    path: str
    exists: bool = True
    is_dir: bool = True
    entries: int = 0  # entries in the directory as seen now (of the top mount, if any)
    mounts: tuple[Mounted, ...] = field(default_factory=tuple)  # bottom to top

    @property
    def top(self) -> Mounted | None:
        return self.mounts[-1] if self.mounts else None


@dataclass(frozen=True)
class MountPointFact:
    path: str
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.path)
        return (
            f"if [ -e {p} ] && [ ! -d {p} ]; then echo NOTDIR; exit 0; fi; "
            f"if [ -d {p} ]; then n=$(find {p} -mindepth 1 -maxdepth 1 -printf x | wc -c)"
            ' || exit 3; echo "ENTRIES $n"; else echo ABSENT; fi; '
            "command -v findmnt >/dev/null || exit 127; "
            f"findmnt -J -o SOURCE,FSTYPE,OPTIONS,MAJ:MIN --mountpoint {p}; r=$?; "
            "[ $r -le 1 ] || exit 3"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> MountPoint:
        if rc == MISSING_TOOL:
            raise FactError("findmnt (util-linux) is not installed on this host")
        if rc != 0:
            raise FactError(f"cannot read the mount point {self.path}: {tail(stderr)}")
        return parse_mount_point(self.path, text(stdout))

    def describe(self) -> str:
        return f"mount point {self.path}"


def parse_mount_point(path: str, output: str) -> MountPoint:
    first, _, rest = output.partition("\n")
    first = first.strip()
    if first == "NOTDIR":
        return MountPoint(path, exists=True, is_dir=False)
    if first == "ABSENT":
        exists, entries = False, 0
    elif re.fullmatch(r"ENTRIES \d+", first):
        exists, entries = True, int(first.split()[1])
    else:
        raise FactError(f"unexpected answer for the mount point {path}: {first!r}")
    return MountPoint(path, exists, exists, entries, parse_findmnt(rest, path))


def parse_findmnt(output: str, path: str = "") -> tuple[Mounted, ...]:
    """`findmnt -J` output (nothing at all when nothing is mounted there)."""
    if not output.strip():
        return ()
    data = _json(output, f"findmnt {path}")
    rows = data.get("filesystems") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise FactError(f"unexpected findmnt output for {path}: no `filesystems` list")
    found = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("source"), str):
            raise FactError(f"unexpected findmnt entry for {path}: {row!r}")
        found.append(
            Mounted(
                row["source"],
                str(row.get("fstype") or ""),
                str(row.get("options") or ""),
                str(row.get("maj:min") or ""),
            )
        )
    return tuple(found)


# ------------------------------------------------------------------ filesystem


@dataclass(frozen=True)
class Filesystem:
    device: str
    fstype: str = ""  # "" when the device holds no filesystem (or does not exist)
    size: int = 0  # bytes the filesystem spans (xfs: data blocks; ext*: block count)
    ftype: int | None = None  # xfs only: 1 means d_type, which overlay2 needs
    mounted_at: str = ""
    uuid: str = ""


@dataclass(frozen=True)
class FilesystemFact:
    device: str
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.device)
        return (
            f"if [ ! -b {p} ]; then echo NODEVICE; exit 0; fi; "
            f"t=$(blkid -p -s TYPE -o value -- {p}); "
            f"u=$(blkid -p -s UUID -o value -- {p}); "
            'echo "TYPE $t"; echo "UUID $u"; '
            f'echo "MOUNTED $(findmnt -n -o TARGET --source {p} | head -n 1)"; '
            'case "$t" in '
            f"xfs) command -v xfs_info >/dev/null || exit 127; xfs_info {p} || exit 3;; "
            f"ext2|ext3|ext4) dumpe2fs -h {p} 2>/dev/null || exit 3;; "
            "esac"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> Filesystem:
        if rc == MISSING_TOOL:
            raise FactError(
                f"{self.device} holds xfs but xfs_info is not installed (package xfsprogs)"
            )
        if rc != 0:
            raise FactError(f"cannot read the filesystem on {self.device}: {tail(stderr)}")
        return parse_filesystem(self.device, text(stdout))

    def describe(self) -> str:
        return f"filesystem on {self.device}"


def parse_filesystem(device: str, output: str) -> Filesystem:
    lines = output.split("\n")
    if lines[0].strip() == "NODEVICE":
        return Filesystem(device)
    if len(lines) < 3 or not all(
        lines[i].startswith(prefix) for i, prefix in enumerate(("TYPE", "UUID", "MOUNTED"))
    ):
        raise FactError(f"unexpected answer for the filesystem on {device}: {output[:200]!r}")
    fstype = lines[0][4:].strip()
    uuid = lines[1][4:].strip()
    mounted = lines[2][len("MOUNTED") :].strip()
    body = "\n".join(lines[3:])
    if fstype == "xfs":
        size, ftype = parse_xfs_info(body, device)
        return Filesystem(device, fstype, size, ftype, mounted, uuid)
    if fstype in ("ext2", "ext3", "ext4"):
        return Filesystem(device, fstype, parse_dumpe2fs(body, device), None, mounted, uuid)
    return Filesystem(device, fstype, 0, None, mounted, uuid)


_XFS_DATA = re.compile(r"^data\s+=\s*bsize=(\d+)\s+blocks=(\d+)", re.M)
_XFS_FTYPE = re.compile(r"^naming\s+=.*\bftype=(\d)", re.M)


def parse_xfs_info(output: str, device: str = "") -> tuple[int, int]:
    """(size in bytes, ftype) from `xfs_info`."""
    data = _XFS_DATA.search(output)
    ftype = _XFS_FTYPE.search(output)
    if not data or not ftype:
        raise FactError(f"unexpected xfs_info output for {device}: no data/naming lines")
    return int(data.group(1)) * int(data.group(2)), int(ftype.group(1))


def parse_dumpe2fs(output: str, device: str = "") -> int:
    values = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in output.splitlines())
    )
    count, size = values.get("Block count", ""), values.get("Block size", "")
    if not count.isdigit() or not size.isdigit():
        raise FactError(f"unexpected dumpe2fs output for {device}: no block count and size")
    return int(count) * int(size)


# ------------------------------------------------------------------ helpers


def _json(output: str, what: str) -> Any:
    try:
        return json.loads(output)
    except ValueError:
        raise FactError(f"unexpected {what} output (not JSON): {output.strip()[:200]!r}") from None


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)
