"""Host facts as templates see them: `facts.os.major` and the Ansible names.

Every name is tied to the one fact group it needs, so reading a name reads only that
group. Before the probe (at compile time) the values are not known: reading a name then
raises FactsNeeded with its group, which compile turns into "decide this per host at
plan time" and the planner into "probe these groups".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from provision.facts.host import BlockDevice, FactFailure, LvmInfo, OsInfo, SelinuxInfo

GroupValues = Mapping[str, Any]  # group name → its parsed value (only the groups probed)


class FactsNeeded(Exception):  # noqa: N818 - control flow, not an error
    """A template read host facts that are not known (yet): the groups it needs."""

    def __init__(self, groups: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(groups)))
        self.groups = groups


class FactUnreadable(Exception):  # noqa: N818
    """A template read a fact group whose answer could not be read on this host."""


def _need(values: GroupValues | None, group: str) -> Any:
    if values is None or group not in values:
        raise FactsNeeded(frozenset({group}))
    value = values[group]
    if isinstance(value, FactFailure):
        raise FactUnreadable(value.message)
    return value


def _os(v: OsInfo) -> dict[str, Any]:
    return {
        "id": v.id,
        "name": v.name,
        "version": v.version,
        "major": v.major,
        "family": v.family,
        "id_like": list(v.id_like),
        "pretty_name": v.pretty_name,
        "distribution": v.distribution,
    }


def _human_size(size: int) -> str:
    """Ansible's way of showing a device size: `20.00 GB`."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if value < 1024 or unit == "PB":
            return f"{value:.2f} {unit}" if unit != "bytes" else f"{int(value)} bytes"
        value /= 1024
    raise AssertionError


def _ansible_devices(devices: tuple[BlockDevice, ...]) -> dict[str, Any]:
    """ansible_devices: whole devices by kernel name, partitions under each."""
    result: dict[str, Any] = {}
    by_path = {d.path: d for d in devices}
    for device in devices:
        if device.type == "part":
            continue
        result[device.name] = {
            "size": _human_size(device.size),
            "sectors": str(device.size // 512),
            "holders": [by_path[h].name if h in by_path else h for h in device.holders],
            "partitions": {},
            "removable": "0",
        }
    for device in devices:
        if device.type == "part":
            parent = by_path.get(device.parent.split(",")[0])
            if parent is not None and parent.name in result:
                result[parent.name]["partitions"][device.name] = {
                    "size": _human_size(device.size),
                    "sectors": str(device.size // 512),
                    "holders": [by_path[h].name if h in by_path else h for h in device.holders],
                }
    return result


def _ansible_lvm(lvm: LvmInfo) -> dict[str, Any]:
    """ansible_lvm: sizes in GiB as text, as Ansible's setup module gives them."""

    def g(size: int) -> str:
        return f"{size / 1024**3:.2f}"

    return {
        "vgs": {
            v.name: {
                "size_g": g(v.size),
                "free_g": g(v.free),
                "num_lvs": str(v.lv_count),
                "num_pvs": str(v.pv_count),
            }
            for v in lvm.vgs
        },
        "lvs": {lv.name: {"size_g": g(lv.size), "vg": lv.vg} for lv in lvm.lvs},
        "pvs": {p.name: {"size_g": g(p.size), "free_g": g(p.free), "vg": p.vg} for p in lvm.pvs},
    }


def _selinux(v: SelinuxInfo) -> dict[str, Any]:
    return {"mode": v.mode, "config_mode": v.config_mode, "type": v.type}


def _ansible_selinux(v: SelinuxInfo) -> dict[str, Any] | bool:
    if not v.tools:
        return {"status": "Missing selinux Python library"}  # what Ansible says without it
    if v.mode == "disabled":
        return {"status": "disabled", "config_mode": v.config_mode, "type": v.type}
    return {"status": "enabled", "mode": v.mode, "config_mode": v.config_mode, "type": v.type}


# facts.NAME: (group, value from the group's parsed value)
FACT_KEYS: dict[str, tuple[str, Any]] = {
    "os": ("os", _os),
    "kernel": ("uname", lambda v: v.release),
    "arch": ("uname", lambda v: v.arch),
    "hostname": ("uname", lambda v: v.hostname),
    "cpus": ("hardware", lambda v: v.cpus),
    "memory_mb": ("hardware", lambda v: v.memory_mb),
    "memory_available_mb": ("hardware", lambda v: v.memory_available_mb),
    "swap_mb": ("hardware", lambda v: v.swap_mb),
    "mounts": ("mounts", lambda v: [m.as_dict() for m in v]),
    "devices": ("devices", lambda v: [d.as_dict() for d in v]),
    "lvm": ("lvm", lambda v: v.as_dict()),
    "selinux": ("selinux", _selinux),
    "firewalld": ("firewalld", lambda v: {"state": v.state, "backend": v.backend}),
    "cgroup_version": ("cgroup", lambda v: v),
    "time": (
        "time",
        lambda v: {
            "synced": v.synced,
            "chronyd": v.chronyd,
            "source": v.source,
            "container": v.container,  # systemd-detect-virt --container; "" on a VM/metal
        },
    ),
    "last_apply": ("last_apply", lambda v: v),
}

# ansible_NAME (and ansible_facts.NAME): (group, value), as Ansible's setup module names them
ANSIBLE_KEYS: dict[str, tuple[str, Any]] = {
    "distribution": ("os", lambda v: v.distribution),
    "distribution_version": ("os", lambda v: v.version),
    "distribution_major_version": ("os", lambda v: str(v.major) if v.version else ""),
    "os_family": ("os", lambda v: v.family),
    "kernel": ("uname", lambda v: v.release),
    "architecture": ("uname", lambda v: v.arch),
    "machine": ("uname", lambda v: v.arch),
    "hostname": ("uname", lambda v: v.hostname.split(".")[0]),
    "nodename": ("uname", lambda v: v.hostname),
    "processor_vcpus": ("hardware", lambda v: v.cpus),
    "processor_nproc": ("hardware", lambda v: v.cpus),
    "memtotal_mb": ("hardware", lambda v: v.memory_mb),
    "memfree_mb": ("hardware", lambda v: v.memory_available_mb),
    "swaptotal_mb": ("hardware", lambda v: v.swap_mb),
    "swapfree_mb": ("hardware", lambda v: v.swap_free_mb),
    "mounts": ("mounts", lambda v: [m.as_dict() for m in v]),
    "devices": ("devices", _ansible_devices),
    "lvm": ("lvm", _ansible_lvm),
    "selinux": ("selinux", _ansible_selinux),
}
ANSIBLE_NAMES = {f"ansible_{k}": v for k, v in ANSIBLE_KEYS.items()}
ROOT_NAMES = frozenset({"facts", "ansible_facts", *ANSIBLE_NAMES})


class FactsView(Mapping):
    """`facts` (or `ansible_facts`) in a template: each key reads only its own group."""

    def __init__(self, keys: Mapping[str, tuple[str, Any]], values: GroupValues | None) -> None:
        self._keys = keys
        self._values = values

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        group, project = self._keys[key]
        return project(_need(self._values, group))

    def require_all(self) -> None:
        known = self._values or {}
        missing = {g for g, _ in self._keys.values() if g not in known}
        if missing:
            raise FactsNeeded(frozenset(missing))

    def __iter__(self) -> Iterator[str]:
        self.require_all()
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"FactsView({sorted(self._keys)})"


class PendingFact:
    """An `ansible_*` value whose group is not probed (yet). Jinja looks every name of an
    expression up before it runs it, so the lookup itself cannot raise (`false and
    ansible_distribution == 'Rocky'` is decided without facts); any use of the value
    raises FactsNeeded."""

    __slots__ = ("group",)

    def __init__(self, group: str) -> None:
        self.group = group

    def _need(self, *args: Any, **kwargs: Any) -> Any:
        raise FactsNeeded(frozenset({self.group}))

    def __repr__(self) -> str:
        return f"<host fact not probed: {self.group}>"

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _need  # type: ignore[assignment]
    __bool__ = __str__ = __len__ = __iter__ = __contains__ = __getitem__ = _need
    __int__ = __float__ = __index__ = __format__ = __hash__ = __getattr__ = _need  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _need
    __truediv__ = __floordiv__ = __mod__ = __rmod__ = __pow__ = __neg__ = _need


def root_value(name: str, values: GroupValues | None) -> Any:
    """The value of a top-level name (`facts`, `ansible_facts`, `ansible_distribution`...);
    a PendingFact when its group was not probed."""
    if name == "facts":
        return FactsView(FACT_KEYS, values)
    if name == "ansible_facts":
        return FactsView(ANSIBLE_KEYS, values)
    group, project = ANSIBLE_NAMES[name]
    if values is None or group not in values:
        return PendingFact(group)
    return project(_need(values, group))


def raise_if_pending(value: Any) -> None:
    """FactsNeeded when a rendered value holds a fact not probed (a lone `{{ ansible_x }}`
    keeps its native value, which would otherwise travel on unread)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, PendingFact):
            raise FactsNeeded(frozenset({item.group}))
        if isinstance(item, FactsView):
            item.require_all()
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def groups_of_root(name: str) -> frozenset[str]:
    """Every group a top-level name may read (all of them for `facts`)."""
    if name == "facts":
        return frozenset(g for g, _ in FACT_KEYS.values())
    if name == "ansible_facts":
        return frozenset(g for g, _ in ANSIBLE_KEYS.values())
    return frozenset({ANSIBLE_NAMES[name][0]})


def group_of_key(root: str, key: str) -> str | None:
    """The group of `facts.KEY` / `ansible_facts.KEY` (None for an unknown key)."""
    keys = FACT_KEYS if root == "facts" else ANSIBLE_KEYS
    entry = keys.get(key)
    return entry[0] if entry else None


def all_values(values: GroupValues) -> dict[str, Any]:
    """`facts.*` and `ansible_*` of the probed groups, as plain data (for printing)."""
    result: dict[str, Any] = {"facts": {}, "ansible": {}}
    for keys, into, prefix in ((FACT_KEYS, "facts", ""), (ANSIBLE_KEYS, "ansible", "ansible_")):
        for key, (group, project) in keys.items():
            if group not in values:
                continue
            value = values[group]
            if isinstance(value, FactFailure):
                result[into][prefix + key] = {"error": value.message}
            else:
                result[into][prefix + key] = project(value)
    return result
