"""Host facts: one Fact per group (OS, kernel, memory, mounts, ...), read in the probe.

Each group is a shell snippet plus a pure parser with a typed value. A missing tool gives
the group's default (no LVM tools: no volume groups); an answer the parser cannot read
raises FactError. Which groups a run reads is decided by compile (only the ones its
`when:`, arguments and templates name); `provision facts` and `provision check` read all.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from provision.facts.base import FactError, tail, text

MISSING_TOOL = 127
MAX_RECORD_BYTES = 64 * 1024
LAST_APPLY_RECORD = "/var/lib/provision/last-apply.json"
# Where hosts keep that record instead (tests whose "hosts" are this machine point it at a
# temp folder); an absolute path of printable ASCII, else the default.
LAST_APPLY_RECORD_ENV = "PROVISION_HOST_RECORD"


def last_apply_record() -> str:
    """The path of the last apply's record on hosts: LAST_APPLY_RECORD, or the controller's
    $PROVISION_HOST_RECORD when that is an absolute path of printable ASCII (no `..`)."""
    path = os.environ.get(LAST_APPLY_RECORD_ENV, "")
    if (
        path.startswith("/")
        and len(path) < 1024
        and path.isascii()
        and path.isprintable()
        and "/../" not in f"{path}/"
    ):
        return path
    return LAST_APPLY_RECORD


def _sections(output: str, fact: str) -> dict[str, str]:
    """Split `@@name` sections (each header on a line of its own) of a grouped command."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@") and " " not in line.strip():
            current = found.setdefault(line.strip()[2:], [])
        elif current is None:
            if line.strip():
                raise FactError(f"{fact}: unexpected output before the first section: {line!r}")
        else:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def _section_rc(body: str, fact: str) -> tuple[str, int]:
    """A section that ends with `@@rc N` (the exit code of its command): (output, N)."""
    lines = body.splitlines()
    if not lines or not re.fullmatch(r"@@rc \d+", lines[-1].strip()):
        raise FactError(f"{fact}: the exit code of a command is missing from the output")
    return "\n".join(lines[:-1]), int(lines[-1].split()[1])


def _int(value: Any, what: str) -> int:
    """A size or count from JSON: a number, or digits as text (older util-linux, LVM)."""
    if isinstance(value, bool):
        raise FactError(f"unexpected {what}: {value!r}")
    if isinstance(value, int):
        return value
    if value is None or value == "":
        return 0
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip())
    raise FactError(f"unexpected {what}: {value!r}")


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("0", "1", 0, 1):
        return str(value) == "1"
    raise FactError(f"unexpected {what}: {value!r}")


def _json(data: str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FactError(f"{what}: output is not JSON ({exc})")


# ------------------------------------------------------------------ os (/etc/os-release)

_FAMILY_OF_ID = {
    "rhel": "RedHat",
    "rocky": "RedHat",
    "almalinux": "RedHat",
    "centos": "RedHat",
    "ol": "RedHat",
    "fedora": "RedHat",
    "debian": "Debian",
    "ubuntu": "Debian",
}
# ansible_distribution, as Ansible names each ID
DISTRIBUTION_OF_ID = {
    "rhel": "RedHat",
    "rocky": "Rocky",
    "almalinux": "AlmaLinux",
    "centos": "CentOS",
    "ol": "OracleLinux",
    "fedora": "Fedora",
    "debian": "Debian",
    "ubuntu": "Ubuntu",
}


@dataclass(frozen=True)
class OsInfo:
    id: str = ""
    name: str = ""
    version: str = ""
    major: int = 0
    id_like: tuple[str, ...] = ()
    family: str = ""
    pretty_name: str = ""

    @property
    def distribution(self) -> str:
        """Ansible's `ansible_distribution` (Rocky, RedHat, AlmaLinux...)."""
        if self.id in DISTRIBUTION_OF_ID:
            return DISTRIBUTION_OF_ID[self.id]
        return self.name.split()[0] if self.name else self.id.capitalize()


_OS_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)")


def _os_value(raw: str, line: str) -> str:
    """One os-release value: bare, 'single quoted' or "double quoted" with \\ escapes."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r'\\([\\"$`])', r"\1", raw[1:-1])
    if raw[:1] in ("'", '"') or re.search(r"[\s'\"`$\\]", raw):
        raise FactError(f"unexpected quoting in /etc/os-release: {line!r}")
    return raw


def parse_os_release(data: str) -> OsInfo:
    values: dict[str, str] = {}
    for line in data.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _OS_LINE.fullmatch(stripped)
        if match is None:
            raise FactError(f"unexpected line in /etc/os-release: {line!r}")
        values[match.group(1)] = _os_value(match.group(2), line)
    os_id = values.get("ID", "").lower()
    version = values.get("VERSION_ID", "")
    major = 0
    if version:
        head = version.split(".")[0]
        if not head.isdigit():
            raise FactError(f"unexpected VERSION_ID in /etc/os-release: {version!r}")
        major = int(head)
    id_like = tuple(values.get("ID_LIKE", "").lower().split())
    family = _FAMILY_OF_ID.get(os_id, "")
    if not family:
        family = next((_FAMILY_OF_ID[i] for i in id_like if i in _FAMILY_OF_ID), "")
    name = values.get("NAME", "")
    info = OsInfo(os_id, name, version, major, id_like, family, values.get("PRETTY_NAME", name))
    if not family:
        info = OsInfo(os_id, name, version, major, id_like, info.distribution, info.pretty_name)
    return info


@dataclass(frozen=True)
class OsFact:
    group: ClassVar[str] = "os"
    slow: bool = False

    def command(self) -> str:
        return (
            "if [ -r /etc/os-release ]; then cat /etc/os-release; "
            "elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release; else exit 2; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> OsInfo:
        if rc == 2:
            return OsInfo()
        if rc != 0:
            raise FactError(f"cannot read /etc/os-release: {tail(stderr)}")
        return parse_os_release(text(stdout))

    def describe(self) -> str:
        return "host facts: os"


# ------------------------------------------------------------------ kernel, arch (uname)


@dataclass(frozen=True)
class KernelInfo:
    release: str = ""
    arch: str = ""
    hostname: str = ""


@dataclass(frozen=True)
class UnameFact:
    group: ClassVar[str] = "uname"
    slow: bool = False

    def command(self) -> str:
        return "uname -r && uname -m && uname -n"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> KernelInfo:
        if rc == MISSING_TOOL:
            return KernelInfo()
        lines = text(stdout).splitlines()
        if rc != 0 or len(lines) != 3 or not all(line.strip() for line in lines):
            raise FactError(f"unexpected uname output (exit {rc}): {text(stdout)!r}")
        return KernelInfo(*(line.strip() for line in lines))

    def describe(self) -> str:
        return "host facts: kernel"


# ------------------------------------------------------------------ cpu, memory, swap


@dataclass(frozen=True)
class HardwareInfo:
    cpus: int = 0
    memory_mb: int = 0
    memory_available_mb: int = 0
    swap_mb: int = 0
    swap_free_mb: int = 0


def parse_meminfo(data: str) -> dict[str, int]:
    """/proc/meminfo in kB, by key (`MemTotal: 24684096 kB`)."""
    values: dict[str, int] = {}
    for line in data.splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(r"([A-Za-z0-9_()]+):\s+(\d+)(?: kB)?\s*", line)
        if match is None:
            raise FactError(f"unexpected /proc/meminfo line: {line!r}")
        values[match.group(1)] = int(match.group(2))
    return values


@dataclass(frozen=True)
class HardwareFact:
    group: ClassVar[str] = "hardware"
    slow: bool = False

    def command(self) -> str:
        return "echo @@nproc; nproc 2>/dev/null; echo @@meminfo; cat /proc/meminfo"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> HardwareInfo:
        if rc != 0:
            raise FactError(f"cannot read /proc/meminfo: {tail(stderr)}")
        sections = _sections(text(stdout), "cpu and memory")
        cpus_text = sections.get("nproc", "").strip()
        if cpus_text and not cpus_text.isdigit():
            raise FactError(f"unexpected nproc output: {cpus_text!r}")
        mem = parse_meminfo(sections.get("meminfo", ""))
        if "MemTotal" not in mem:
            raise FactError("/proc/meminfo has no MemTotal")
        return HardwareInfo(
            cpus=int(cpus_text) if cpus_text else 0,
            memory_mb=mem["MemTotal"] // 1024,
            memory_available_mb=mem.get("MemAvailable", mem.get("MemFree", 0)) // 1024,
            swap_mb=mem.get("SwapTotal", 0) // 1024,
            swap_free_mb=mem.get("SwapFree", 0) // 1024,
        )

    def describe(self) -> str:
        return "host facts: cpu and memory"


# ------------------------------------------------------------------ mounts (findmnt)


@dataclass(frozen=True)
class Mount:
    mount: str
    device: str
    fstype: str
    options: str
    size_total: int  # bytes
    size_available: int  # bytes
    ftype: int | None = None  # xfs only: 1 = d_type, which overlay2 needs

    def as_dict(self) -> dict[str, Any]:
        return {
            "mount": self.mount,
            "device": self.device,
            "fstype": self.fstype,
            "options": self.options,
            "size_total": self.size_total,
            "size_available": self.size_available,
            "ftype": self.ftype,
        }


def _unescape_findmnt(raw: str) -> str:
    """findmnt -r writes a space as \\x20 (any byte as \\xHH)."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), raw)


def parse_mounts(listing: str, xfs: str) -> tuple[Mount, ...]:
    data = _json(listing, "findmnt")
    if not isinstance(data, dict) or not isinstance(data.get("filesystems"), list):
        raise FactError("findmnt: no `filesystems` list in its output")
    ftypes: dict[str, int] = {}
    for line in xfs.splitlines():
        if not line.strip():
            continue
        target, sep, value = line.partition("\t")
        if not sep or value.strip() not in ("", "ftype=0", "ftype=1"):
            raise FactError(f"unexpected xfs_info line: {line!r}")
        if value.strip():
            ftypes[_unescape_findmnt(target)] = int(value.strip()[-1])
    mounts = []
    for entry in data["filesystems"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
            raise FactError(f"findmnt: unexpected entry {entry!r}")
        target = entry["target"]
        fstype = str(entry.get("fstype") or "")
        mounts.append(
            Mount(
                target,
                str(entry.get("source") or ""),
                fstype,
                str(entry.get("options") or ""),
                _int(entry.get("size"), "findmnt size"),
                _int(entry.get("avail"), "findmnt avail"),
                ftypes.get(target) if fstype == "xfs" else None,
            )
        )
    return tuple(mounts)


def mount_of(mounts: tuple[Mount, ...], path: str) -> Mount | None:
    """The mount that holds `path` (the longest mount point above it; the last one mounted
    there when several are stacked)."""
    best: Mount | None = None
    clean = "/" + path.strip("/")
    for mount in mounts:
        point = "/" + mount.mount.strip("/")
        inside = clean == point or clean.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len("/" + best.mount.strip("/"))):
            best = mount
    return best


@dataclass(frozen=True)
class MountsFact:
    group: ClassVar[str] = "mounts"
    slow: bool = False

    def command(self) -> str:
        return (
            "command -v findmnt >/dev/null || exit 127; echo @@list; "
            "findmnt -J -b -l -o TARGET,SOURCE,FSTYPE,OPTIONS,SIZE,AVAIL || exit 3; "
            "echo @@xfs; findmnt -n -r -t xfs -o TARGET | while IFS= read -r t; do "
            'f=$(xfs_info "$(printf \'%b\' "$t")" 2>/dev/null '
            "| grep -o 'ftype=[01]' | head -n 1); printf '%s\\t%s\\n' \"$t\" \"$f\"; done"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[Mount, ...]:
        if rc == MISSING_TOOL:
            return ()
        if rc != 0:
            raise FactError(f"findmnt failed (exit {rc}): {tail(stderr)}")
        sections = _sections(text(stdout), "mounts")
        return parse_mounts(sections.get("list", ""), sections.get("xfs", ""))

    def describe(self) -> str:
        return "host facts: mounts"


# ------------------------------------------------------------------ block devices (lsblk)


@dataclass(frozen=True)
class BlockDevice:
    name: str  # kernel name, e.g. vdb, vg_docker-lv_docker
    path: str  # /dev/vdb
    size: int  # bytes
    type: str  # disk, part, lvm, loop, rom, crypt
    fstype: str  # filesystem or other signature (LVM2_member, xfs, ...), "" if none seen
    mountpoint: str
    parent: str  # the parent's path, "" for a whole disk
    holders: tuple[str, ...] = ()  # paths of devices built on this one
    ro: bool = False
    pttype: str = ""  # partition table (gpt, dos), "" if none seen
    aliases: tuple[str, ...] = ()  # other /dev nodes of the same device (a container's vdb)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "size": self.size,
            "type": self.type,
            "fstype": self.fstype,
            "mountpoint": self.mountpoint,
            "parent": self.parent,
            "holders": list(self.holders),
            "ro": self.ro,
            "pttype": self.pttype,
            "aliases": list(self.aliases),
        }


def parse_blkid(data: str) -> dict[str, dict[str, str]]:
    """`blkid -o export`: KEY=value blocks, one per device, split by blank lines."""
    found: dict[str, dict[str, str]] = {}
    block: dict[str, str] = {}
    for line in [*data.splitlines(), ""]:
        if not line.strip():
            if block:
                if "DEVNAME" not in block:
                    raise FactError(f"blkid: a block without DEVNAME: {block!r}")
                found[block["DEVNAME"]] = block
            block = {}
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_]+", key):
            raise FactError(f"unexpected blkid line: {line!r}")
        block[key] = re.sub(r"\\(.)", r"\1", value)
    return found


def parse_nodes(data: str) -> dict[str, list[str]]:
    """`PATH MAJOR:MINOR` lines (major and minor in hex, from stat) → paths by `maj:min`."""
    nodes: dict[str, list[str]] = {}
    for line in data.splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(r"(/dev/\S+) ([0-9a-f]+):([0-9a-f]+)", line.strip())
        if match is None:
            raise FactError(f"unexpected device node line: {line!r}")
        key = f"{int(match.group(2), 16)}:{int(match.group(3), 16)}"
        nodes.setdefault(key, []).append(match.group(1))
    return nodes


def parse_lsblk(data: str, blkid: str = "", nodes: str = "") -> tuple[BlockDevice, ...]:
    parsed = _json(data, "lsblk")
    if not isinstance(parsed, dict) or not isinstance(parsed.get("blockdevices"), list):
        raise FactError("lsblk: no `blockdevices` list in its output")
    rows: dict[str, dict[str, Any]] = {}
    parents: dict[str, list[str]] = {}
    for entry in parsed["blockdevices"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise FactError(f"lsblk: unexpected entry {entry!r}")
        path = entry["name"]
        if not path.startswith("/"):
            raise FactError(f"lsblk: expected a device path, found {path!r}")
        parent = entry.get("pkname") or ""
        if path in rows:  # a device with several parents is listed once per parent
            if parent:
                parents[path].append(parent)
            continue
        rows[path] = entry
        parents[path] = [parent] if parent else []
    holders: dict[str, list[str]] = {}
    for path, own in parents.items():
        for parent in own:
            holders.setdefault(parent, []).append(path)
    signatures = parse_blkid(blkid)
    by_number = parse_nodes(nodes)
    devices = []
    for path, entry in rows.items():
        name = path.removeprefix("/dev/mapper/").removeprefix("/dev/")
        seen = signatures.get(path, {})
        devices.append(
            BlockDevice(
                name=name,
                path=path,
                size=_int(entry.get("size"), "lsblk size"),
                type=str(entry.get("type") or ""),
                fstype=str(entry.get("fstype") or seen.get("TYPE", "")),
                mountpoint=str(entry.get("mountpoint") or ""),
                parent=",".join(parents[path]),
                holders=tuple(holders.get(path, ())),
                ro=_bool(entry.get("ro", False), "lsblk ro"),
                pttype=seen.get("PTTYPE", ""),
                aliases=tuple(
                    p for p in by_number.get(str(entry.get("maj:min") or ""), []) if p != path
                ),
            )
        )
    return tuple(devices)


@dataclass(frozen=True)
class DevicesFact:
    group: ClassVar[str] = "devices"
    slow: bool = False

    def command(self) -> str:
        return (
            "command -v lsblk >/dev/null || exit 127; echo @@lsblk; "
            "lsblk -J -b -l -p -o NAME,MAJ:MIN,SIZE,TYPE,FSTYPE,MOUNTPOINT,PKNAME,RO || exit 3; "
            # signatures udev has not recorded (no udev in a container); no cache written
            "echo @@blkid; blkid -c /dev/null -o export 2>/dev/null; "
            # the /dev nodes by device number: a container may name a disk otherwise
            'echo @@nodes; for n in /dev/*; do [ -b "$n" ] && stat -L -c \'%n %t:%T\' "$n"; '
            "done 2>/dev/null; true"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[BlockDevice, ...]:
        if rc == MISSING_TOOL:
            return ()
        if rc != 0:
            raise FactError(f"lsblk failed (exit {rc}): {tail(stderr)}")
        sections = _sections(text(stdout), "block devices")
        return parse_lsblk(
            sections.get("lsblk", ""), sections.get("blkid", ""), sections.get("nodes", "")
        )

    def describe(self) -> str:
        return "host facts: block devices"


# ------------------------------------------------------------------ LVM (vgs, lvs, pvs)


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    size: int
    free: int
    pv_count: int
    lv_count: int


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    vg: str
    size: int
    path: str
    attr: str


@dataclass(frozen=True)
class PhysicalVolume:
    name: str  # device path
    vg: str  # "" when in no VG
    size: int
    free: int


@dataclass(frozen=True)
class LvmInfo:
    available: bool = False  # the LVM tools are installed
    vgs: tuple[VolumeGroup, ...] = ()
    lvs: tuple[LogicalVolume, ...] = ()
    pvs: tuple[PhysicalVolume, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "vgs": [vars(v) for v in self.vgs],
            "lvs": [vars(v) for v in self.lvs],
            "pvs": [vars(v) for v in self.pvs],
        }


def _report_rows(data: str, kind: str) -> list[dict[str, Any]]:
    """The rows of one `--reportformat json` report: {"report": [{kind: [...]}]}."""
    parsed = _json(data, kind + "s")
    try:
        rows = parsed["report"][0][kind]
    except (KeyError, IndexError, TypeError):
        raise FactError(f"{kind}s: unexpected JSON report shape")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise FactError(f"{kind}s: unexpected JSON report rows")
    return rows


LVM_COMMANDS = {
    "vg": "vgs --reportformat json --units b --nosuffix "
    "-o vg_name,vg_size,vg_free,pv_count,lv_count",
    "lv": "lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_size,lv_path,lv_attr",
    "pv": "pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_size,pv_free",
}


def parse_lvm(sections: dict[str, str]) -> LvmInfo:
    reports: dict[str, list[dict[str, Any]]] = {}
    for kind in LVM_COMMANDS:
        if kind not in sections:
            raise FactError(f"LVM: the {kind}s section is missing from the output")
        body, rc = _section_rc(sections[kind], "LVM")
        if rc != 0:
            raise FactError(f"{kind}s failed (exit {rc})")
        reports[kind] = _report_rows(body, kind)

    def field_(row: dict[str, Any], key: str) -> Any:
        if key not in row:
            raise FactError(f"LVM: no {key} in {row!r}")
        return row[key]

    vgs = tuple(
        VolumeGroup(
            str(field_(r, "vg_name")),
            _int(field_(r, "vg_size"), "vg_size"),
            _int(field_(r, "vg_free"), "vg_free"),
            _int(field_(r, "pv_count"), "pv_count"),
            _int(field_(r, "lv_count"), "lv_count"),
        )
        for r in reports["vg"]
    )
    lvs = tuple(
        LogicalVolume(
            str(field_(r, "lv_name")),
            str(field_(r, "vg_name")),
            _int(field_(r, "lv_size"), "lv_size"),
            str(r.get("lv_path") or ""),
            str(r.get("lv_attr") or ""),
        )
        for r in reports["lv"]
    )
    pvs = tuple(
        PhysicalVolume(
            str(field_(r, "pv_name")),
            str(r.get("vg_name") or ""),
            _int(field_(r, "pv_size"), "pv_size"),
            _int(field_(r, "pv_free"), "pv_free"),
        )
        for r in reports["pv"]
    )
    return LvmInfo(True, vgs, lvs, pvs)


@dataclass(frozen=True)
class LvmFact:
    group: ClassVar[str] = "lvm"
    slow: bool = True

    def command(self) -> str:
        parts = [
            "LVM_SUPPRESS_FD_WARNINGS=1; export LVM_SUPPRESS_FD_WARNINGS",
            "command -v vgs >/dev/null || exit 127",
        ]
        for kind, line in LVM_COMMANDS.items():
            parts.append(f'echo @@{kind}; {line}; echo "@@rc $?"')
        return "; ".join(parts)

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> LvmInfo:
        if rc == MISSING_TOOL:
            return LvmInfo()
        if rc != 0:
            raise FactError(f"LVM tools failed (exit {rc}): {tail(stderr)}")
        try:
            return parse_lvm(_sections(text(stdout), "LVM"))
        except FactError as exc:
            detail = tail(stderr)
            raise FactError(f"{exc}{': ' + detail if detail else ''}")

    def describe(self) -> str:
        return "host facts: LVM"


# ------------------------------------------------------------------ SELinux

_SELINUX_MODES = ("enforcing", "permissive", "disabled")


@dataclass(frozen=True)
class SelinuxInfo:
    mode: str = "disabled"  # running: enforcing, permissive, disabled
    config_mode: str = ""  # SELINUX= in /etc/selinux/config ("" without the file)
    type: str = ""  # SELINUXTYPE=
    tools: bool = False  # getenforce is installed


def parse_selinux(getenforce: str, config: str | None) -> SelinuxInfo:
    running = getenforce.strip()
    tools = running != "ABSENT"
    mode = running.lower() if tools else "disabled"
    if mode not in _SELINUX_MODES:
        raise FactError(f"unexpected getenforce output: {running!r}")
    config_mode = selinux_type = ""
    if config is not None:
        for line in config.splitlines():
            key, sep, value = line.strip().partition("=")
            if not sep or key.startswith("#"):
                continue
            value = value.strip().strip("\"'")
            if key.strip() == "SELINUX":
                config_mode = value.lower()
                if config_mode not in _SELINUX_MODES:
                    raise FactError(f"unexpected SELINUX= in /etc/selinux/config: {value!r}")
            elif key.strip() == "SELINUXTYPE":
                selinux_type = value
    return SelinuxInfo(mode, config_mode, selinux_type, tools)


@dataclass(frozen=True)
class SelinuxFact:
    group: ClassVar[str] = "selinux"
    slow: bool = False

    def command(self) -> str:
        return (
            "echo @@running; if command -v getenforce >/dev/null; then getenforce || exit 3; "
            "else echo ABSENT; fi; "
            "if [ -r /etc/selinux/config ]; then echo @@config; cat /etc/selinux/config; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> SelinuxInfo:
        if rc != 0:
            raise FactError(f"getenforce failed (exit {rc}): {tail(stderr)}")
        sections = _sections(text(stdout), "SELinux")
        return parse_selinux(sections.get("running", ""), sections.get("config"))

    def describe(self) -> str:
        return "host facts: SELinux"


# ------------------------------------------------------------------ firewalld, chronyd


def _unit_state(show: str, unit: str) -> str:
    """`systemctl show -p LoadState -p ActiveState`: the ActiveState, "absent" when the
    unit is not installed."""
    values = dict(line.partition("=")[::2] for line in show.splitlines() if "=" in line)
    if "LoadState" not in values or "ActiveState" not in values:
        raise FactError(f"unexpected systemctl output for {unit}: {show!r}")
    if values["LoadState"] == "not-found":
        return "absent"
    return values["ActiveState"]


@dataclass(frozen=True)
class FirewalldInfo:
    state: str = "absent"  # active, inactive, failed, ... ; absent: not installed
    backend: str = ""  # FirewallBackend (nftables when the file does not set it)


def parse_firewalld(show: str, conf: str | None) -> FirewalldInfo:
    state = _unit_state(show, "firewalld.service")
    backend = ""
    if conf is not None:
        backend = "nftables"  # firewalld's default since 0.6 (EL8 and later)
        for line in conf.splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.strip() == "FirewallBackend":
                backend = value.strip().lower()
                if backend not in ("nftables", "iptables"):
                    raise FactError(f"unexpected FirewallBackend: {value.strip()!r}")
    return FirewalldInfo(state, backend)


@dataclass(frozen=True)
class FirewalldFact:
    group: ClassVar[str] = "firewalld"
    slow: bool = False

    def command(self) -> str:
        return (
            "command -v systemctl >/dev/null || exit 127; echo @@unit; "
            "systemctl show -p LoadState -p ActiveState firewalld.service || exit 3; "
            "if [ -r /etc/firewalld/firewalld.conf ]; then echo @@conf; "
            "cat /etc/firewalld/firewalld.conf; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> FirewalldInfo:
        if rc == MISSING_TOOL:
            return FirewalldInfo()
        if rc != 0:
            raise FactError(f"systemctl show firewalld failed (exit {rc}): {tail(stderr)}")
        sections = _sections(text(stdout), "firewalld")
        return parse_firewalld(sections.get("unit", ""), sections.get("conf"))

    def describe(self) -> str:
        return "host facts: firewalld"


@dataclass(frozen=True)
class TimeInfo:
    chronyd: str = "absent"  # chronyd.service's ActiveState, absent: not installed
    synced: bool = False
    source: str = "none"  # what said so: chronyc, timedatectl, none
    container: str = ""  # systemd-detect-virt --container (systemd-nspawn, docker...); "": none


def parse_time(show: str, tracking: str | None, timedatectl: str | None) -> TimeInfo:
    chronyd = _unit_state(show, "chronyd.service")
    if tracking is not None:
        body, rc = _section_rc(tracking, "time")
        if rc == 0:
            for line in body.splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip() == "Leap status":
                    status = value.strip()
                    if status not in (
                        "Normal",
                        "Not synchronised",
                        "Insert second",
                        "Delete second",
                    ):
                        raise FactError(f"unexpected chronyc leap status: {status!r}")
                    return TimeInfo(chronyd, status != "Not synchronised", "chronyc")
            raise FactError("chronyc tracking printed no Leap status")
    if timedatectl is not None:
        body, rc = _section_rc(timedatectl, "time")
        answer = body.strip()
        if rc == 0 and answer in ("yes", "no"):
            return TimeInfo(chronyd, answer == "yes", "timedatectl")
        if rc == 0:
            raise FactError(f"unexpected timedatectl answer: {answer!r}")
    return TimeInfo(chronyd, False, "none")


_VIRT_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def parse_container(answer: str | None) -> str:
    """systemd-detect-virt --container's answer: the container manager, "" for none (or
    no systemd-detect-virt on the host)."""
    if answer is None:
        return ""
    value = answer.strip()
    if value in ("", "none"):
        return ""
    if not _VIRT_NAME.fullmatch(value):
        raise FactError(f"unexpected systemd-detect-virt answer: {value!r}")
    return value


@dataclass(frozen=True)
class TimeFact:
    group: ClassVar[str] = "time"
    slow: bool = True

    def command(self) -> str:
        return (
            "command -v systemctl >/dev/null || exit 127; echo @@unit; "
            "systemctl show -p LoadState -p ActiveState chronyd.service || exit 3; "
            "if systemctl -q is-active chronyd.service && command -v chronyc >/dev/null; "
            'then echo @@tracking; timeout 5 chronyc -n tracking 2>/dev/null; echo "@@rc $?"; '
            "fi; if command -v timedatectl >/dev/null; then echo @@timedatectl; "
            "timeout 5 timedatectl show -p NTPSynchronized --value 2>/dev/null; "
            'echo "@@rc $?"; fi; if command -v systemd-detect-virt >/dev/null; then '
            "echo @@container; systemd-detect-virt --container 2>/dev/null; fi; true"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> TimeInfo:
        if rc == MISSING_TOOL:
            return TimeInfo()
        if rc != 0:
            raise FactError(f"systemctl show chronyd failed (exit {rc}): {tail(stderr)}")
        sections = _sections(text(stdout), "time")
        info = parse_time(
            sections.get("unit", ""), sections.get("tracking"), sections.get("timedatectl")
        )
        return replace(info, container=parse_container(sections.get("container")))

    def describe(self) -> str:
        return "host facts: time sync"


# ------------------------------------------------------------------ cgroup version


@dataclass(frozen=True)
class CgroupFact:
    group: ClassVar[str] = "cgroup"
    slow: bool = False

    def command(self) -> str:
        return "[ -e /sys/fs/cgroup ] || exit 2; stat -fc %T /sys/fs/cgroup"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> int:
        if rc == 2:
            return 0  # no cgroup file system mounted
        answer = text(stdout).strip()
        if rc != 0:
            raise FactError(f"stat /sys/fs/cgroup failed (exit {rc}): {tail(stderr)}")
        if answer == "cgroup2fs":
            return 2
        if answer in ("tmpfs", "cgroupfs"):
            return 1
        raise FactError(f"unexpected file system type of /sys/fs/cgroup: {answer!r}")

    def describe(self) -> str:
        return "host facts: cgroup version"


# ------------------------------------------------------------------ the last apply's record


@dataclass(frozen=True)
class LastApplyFact:
    """The record of the last apply, if one was left on the host (a JSON object)."""

    group: ClassVar[str] = "last_apply"
    slow: bool = False

    def command(self) -> str:
        path = shlex.quote(last_apply_record())
        return f"[ -f {path} ] || exit 2; head -c {MAX_RECORD_BYTES + 1} {path}"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> dict[str, Any] | None:
        path = last_apply_record()
        if rc == 2:
            return None
        if rc != 0:
            raise FactError(f"cannot read {path}: {tail(stderr)}")
        if len(stdout) > MAX_RECORD_BYTES:
            raise FactError(f"{path} is larger than {MAX_RECORD_BYTES} bytes")
        record = _json(text(stdout), path)
        if not isinstance(record, dict):
            raise FactError(f"{path} is not a JSON object")
        return record

    def describe(self) -> str:
        return "host facts: last apply"


# ------------------------------------------------------------------ the groups

GROUP_FACTS: dict[str, Any] = {
    fact.group: fact
    for fact in (
        OsFact(),
        UnameFact(),
        HardwareFact(),
        MountsFact(),
        DevicesFact(),
        LvmFact(),
        SelinuxFact(),
        FirewalldFact(),
        CgroupFact(),
        TimeFact(),
        LastApplyFact(),
    )
}
GROUPS: tuple[str, ...] = tuple(GROUP_FACTS)


def group_facts(groups: set[str] | frozenset[str] | tuple[str, ...]) -> list[Any]:
    """The Facts to probe for these groups, in a fixed order."""
    return [GROUP_FACTS[g] for g in GROUPS if g in groups]


@dataclass
class FactFailure:
    """A group whose answer could not be read (`provision facts` and `check` go on)."""

    message: str


@dataclass(frozen=True)
class Tolerant:
    """A group fact whose parse error becomes a FactFailure value instead of failing the
    whole probe (for `provision facts` and `provision check`, which report each group)."""

    fact: Any
    slow: bool = field(default=False)

    def command(self) -> str:
        return self.fact.command()

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> Any:
        try:
            return self.fact.parse(rc, stdout, stderr)
        except FactError as exc:
            return FactFailure(str(exc))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return FactFailure(f"{self.fact.describe()}: cannot read the answer ({exc})")

    def describe(self) -> str:
        return self.fact.describe()


def tolerant_facts(groups: tuple[str, ...] = GROUPS) -> list[Tolerant]:
    return [Tolerant(GROUP_FACTS[g], GROUP_FACTS[g].slow) for g in groups]
