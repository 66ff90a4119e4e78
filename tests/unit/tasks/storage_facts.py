"""Simple case forms for the storage facts (lvm_vg, lvm_lv, filesystem, mount cases).

- `devices: {PATH: {size: 20g, major_minor: "252:16", signatures: [{type, uuid, label}]}}`
  (`{exists: false}` or not listed: no such device; `{block: false}`: not a block device)
- `lvm: {installed: true, device_mapper: true, pvs: [{name, vg, size, uuid}],
  vgs: [{name, size, free, extent_size}], lvs: [{name, vg, size, active}]}`
- `mountpoints: {PATH: {entries: 0, mounts: [{source, fstype, options, major_minor}]}}`
  (`{exists: false}` or not listed: no such directory; `{dir: false}`: a file)
- `filesystems: {DEV: {fstype, size, ftype, mounted_at, uuid}}` (not listed: none)

Sizes are bytes or LVM-style text: 4m, 20g (binary units).
"""

from __future__ import annotations

from typing import Any

from provision.facts.storage import (
    BlockDevice,
    BlockDeviceFact,
    Filesystem,
    FilesystemFact,
    LogicalVolume,
    LvmFact,
    LvmState,
    Mounted,
    MountPoint,
    MountPointFact,
    PhysicalVolume,
    Signature,
    VolumeGroup,
)

STORAGE_FACTS = (BlockDeviceFact, LvmFact, MountPointFact, FilesystemFact)
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def size(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text[-1:] in _UNITS:
        return int(float(text[:-1]) * _UNITS[text[-1]])
    return int(text)


def storage_value(fact: Any, facts: dict[str, Any]) -> Any:
    if isinstance(fact, BlockDeviceFact):
        spec = (facts.get("devices") or {}).get(fact.path)
        if spec is None or spec.get("exists", True) is False:
            return BlockDevice(fact.path, exists=False, is_block=False)
        if spec.get("block", True) is False:
            return BlockDevice(fact.path, exists=True, is_block=False)
        signatures = tuple(
            Signature(s["type"], str(s.get("offset", "0x0")), s.get("uuid"), s.get("label"))
            for s in spec.get("signatures") or []
        )
        return BlockDevice(
            fact.path,
            True,
            True,
            size(spec.get("size", "20g")),
            spec.get("major_minor", "252:16"),
            signatures,
        )
    if isinstance(fact, LvmFact):
        spec = facts.get("lvm") or {}
        return LvmState(
            spec.get("installed", True),
            spec.get("device_mapper", True),
            tuple(
                PhysicalVolume(p["name"], p.get("vg", ""), size(p.get("size", "20g")), p["uuid"])
                for p in spec.get("pvs") or []
            ),
            tuple(
                VolumeGroup(
                    v["name"],
                    size(v["size"]),
                    size(v.get("free", v["size"])),
                    size(v.get("extent_size", "4m")),
                    v.get("uuid", ""),
                )
                for v in spec.get("vgs") or []
            ),
            tuple(
                LogicalVolume(lv["name"], lv["vg"], size(lv["size"]), lv.get("active", True))
                for lv in spec.get("lvs") or []
            ),
        )
    if isinstance(fact, MountPointFact):
        spec = (facts.get("mountpoints") or {}).get(fact.path)
        if spec is None or spec.get("exists", True) is False:
            return MountPoint(fact.path, exists=False, is_dir=False)
        if spec.get("dir", True) is False:
            return MountPoint(fact.path, exists=True, is_dir=False)
        mounts = tuple(
            Mounted(
                m["source"],
                m.get("fstype", "xfs"),
                m.get("options", "rw"),
                m.get("major_minor", ""),
            )
            for m in spec.get("mounts") or []
        )
        return MountPoint(fact.path, True, True, spec.get("entries", 0), mounts)
    if isinstance(fact, FilesystemFact):
        spec = (facts.get("filesystems") or {}).get(fact.device)
        if spec is None:
            return Filesystem(fact.device)
        return Filesystem(
            fact.device,
            spec.get("fstype", ""),
            size(spec.get("size", 0)),
            spec.get("ftype"),
            spec.get("mounted_at", ""),
            spec.get("uuid", ""),
        )
    raise AssertionError(f"no simple form for {fact!r}")
