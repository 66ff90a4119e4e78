"""The checks: each a pure function of a host's facts and sizing → results.

A check reads the fact groups it needs from `CheckInput.facts`; a group that could not be
read on the host (a FactFailure) gives WARN with the reason, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from provision.check.reach import Reach
from provision.check.sizing import Sizing
from provision.facts.host import (
    FactFailure,
    FirewalldInfo,
    HardwareInfo,
    KernelInfo,
    LvmInfo,
    Mount,
    OsInfo,
    SelinuxInfo,
    TimeInfo,
    mount_of,
)

GIB = 1024**3
SUPPORTED_IDS = {"rhel": "RHEL", "rocky": "Rocky Linux", "almalinux": "AlmaLinux"}
SUPPORTED_MAJORS = (8, 9, 10)
MIN_KERNEL = (4, 18)  # EL8's kernel; Docker CE's overlay2 and cgroup v2 support need it
OVERLAY_FILESYSTEMS = ("xfs", "ext4")


class Level(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    INFO = "INFO"


@dataclass(frozen=True)
class Result:
    check: str
    level: Level
    measured: str
    threshold: str
    advice: str = ""


@dataclass(frozen=True)
class CheckInput:
    facts: dict[str, Any]  # group → parsed value or FactFailure
    sizing: Sizing
    packages: dict[str, tuple[str, ...]] | FactFailure | None = None
    reach: tuple[Reach, ...] | FactFailure | None = None  # None: no curl on the host


def _unread(check: str, value: Any) -> Result | None:
    if isinstance(value, FactFailure):
        return Result(check, Level.WARN, "could not be read", "-", value.message)
    return None


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"


def _one(check: str, threshold: str) -> Callable[..., list[Result]]:
    """`result(level, measured, advice="")`: the one result of `check` against `threshold`."""

    def result(level: Level, measured: str, advice: str = "") -> list[Result]:
        return [Result(check, level, measured, threshold, advice)]

    return result


def check_os(inp: CheckInput) -> list[Result]:
    os: OsInfo = inp.facts["os"]
    if bad := _unread("os", os):
        return [bad]
    shown = os.pretty_name or f"{os.id} {os.version}".strip() or "unknown (no /etc/os-release)"
    result = _one("os", "RHEL, Rocky Linux or AlmaLinux 8, 9 or 10")
    if os.id in SUPPORTED_IDS and os.major in SUPPORTED_MAJORS:
        return result(Level.PASS, shown)
    if os.family == "RedHat" and os.major in SUPPORTED_MAJORS:
        return result(
            Level.WARN,
            shown,
            "an EL rebuild the roles are not tested on; Docker CE's RHEL repository may still work",
        )
    return result(Level.FAIL, shown, "install a supported release")


def _kernel_version(release: str) -> tuple[int, int] | None:
    parts = release.split(".")
    if len(parts) >= 2 and parts[0].isdigit():
        minor = "".join(c for c in parts[1] if c.isdigit())
        if minor:
            return int(parts[0]), int(minor)
    return None


def check_kernel(inp: CheckInput) -> list[Result]:
    kernel: KernelInfo = inp.facts["uname"]
    if bad := _unread("kernel", kernel):
        return [bad]
    version = _kernel_version(kernel.release)
    threshold = f">= {MIN_KERNEL[0]}.{MIN_KERNEL[1]}"
    if version is None:
        return [Result("kernel", Level.WARN, kernel.release or "unknown", threshold)]
    if version < MIN_KERNEL:
        return [Result("kernel", Level.FAIL, kernel.release, threshold, "update the kernel")]
    return [Result("kernel", Level.PASS, f"{kernel.release} ({kernel.arch})", threshold)]


def check_cgroup(inp: CheckInput) -> list[Result]:
    version = inp.facts["cgroup"]
    if bad := _unread("cgroup", version):
        return [bad]
    result = _one("cgroup", "v2")
    if version == 2:
        return result(Level.PASS, "v2")
    if version == 1:
        return result(
            Level.WARN,
            "v1",
            "cgroup v1 is deprecated by Docker; boot with "
            "systemd.unified_cgroup_hierarchy=1 (EL8), EL9 and later use v2",
        )
    return result(Level.FAIL, "none mounted", "mount /sys/fs/cgroup")


def check_cpus(inp: CheckInput) -> list[Result]:
    hw: HardwareInfo = inp.facts["hardware"]
    if bad := _unread("cpus", hw):
        return [bad]
    s = inp.sizing
    need = s.cpus_needed
    result = _one(
        "cpus",
        f">= {need} ({s.containers} containers x {s.cpus_per_container:g} + {s.os_cpus:g} for "
        "the OS)",
    )
    if hw.cpus >= need:
        return result(Level.PASS, str(hw.cpus))
    return result(
        Level.FAIL, str(hw.cpus), "add CPUs, or plan fewer containers (sizing_containers)"
    )


def check_memory(inp: CheckInput) -> list[Result]:
    hw: HardwareInfo = inp.facts["hardware"]
    if bad := _unread("memory", hw):
        return [bad]
    s = inp.sizing
    need = s.memory_mb_needed
    result = _one(
        "memory",
        f">= {need} MiB ({s.containers} containers x {s.memory_mb_per_container} MiB + "
        f"{s.os_memory_mb} MiB for the OS)",
    )
    measured = f"{hw.memory_mb} MiB (swap {hw.swap_mb} MiB)"
    if hw.memory_mb >= need:
        return result(Level.PASS, measured)
    return result(Level.FAIL, measured, "add memory, or plan fewer or smaller containers")


def _data_mount(inp: CheckInput, check: str) -> tuple[Mount | None, Result | None]:
    mounts = inp.facts["mounts"]
    if bad := _unread(check, mounts):
        return None, bad
    real = tuple(m for m in mounts if m.size_total > 0 or m.mount == "/")
    return mount_of(real, inp.sizing.data_root), None


def _is_lv(mount: Mount, lvm: LvmInfo | FactFailure) -> bool:
    if mount.device.startswith("/dev/mapper/"):
        return True
    if isinstance(lvm, LvmInfo):
        paths = {lv.path for lv in lvm.lvs} | {f"/dev/{lv.vg}/{lv.name}" for lv in lvm.lvs}
        return mount.device in paths
    return False


def check_data_volume(inp: CheckInput) -> list[Result]:
    mount, bad = _data_mount(inp, "docker data volume")
    if bad:
        return [bad]
    root = inp.sizing.data_root
    result = _one(
        "docker data volume", f"{root} on its own logical volume, not the root file system"
    )
    advice = (
        "give Docker's data its own logical volume: the docker_storage role with "
        "docker_storage_device set to a spare disk"
    )
    if mount is None or mount.mount == "/":
        shown = f"on the root file system ({mount.device if mount else '?'})"
        return result(Level.FAIL, shown, advice)
    shown = f"{mount.mount} on {mount.device}"
    if "[" in mount.device:  # findmnt: DEVICE[/dir], a directory of DEVICE bind-mounted
        device = mount.device.split("[", 1)[0]
        shown = f"a directory of {device} bind-mounted at {mount.mount}: it shares {device}"
        return result(Level.FAIL, shown, advice)
    if _is_lv(mount, inp.facts.get("lvm", LvmInfo())):
        return result(Level.PASS, shown)
    return result(
        Level.WARN, shown, "its own file system, but not on LVM: it cannot grow without a new disk"
    )


def check_data_filesystem(inp: CheckInput) -> list[Result]:
    mount, bad = _data_mount(inp, "docker data fs")
    if bad:
        return [bad]
    if mount is None:
        return [Result("docker data fs", Level.WARN, "no mount found", "xfs ftype=1 or ext4")]
    result = _one("docker data fs", "xfs with ftype=1, or ext4 (overlay2 needs d_type)")
    shown = mount.fstype + (f" ftype={mount.ftype}" if mount.fstype == "xfs" else "")
    if mount.fstype == "ext4" or (mount.fstype == "xfs" and mount.ftype == 1):
        return result(Level.PASS, shown)
    if mount.fstype == "xfs" and mount.ftype is None:
        return result(
            Level.WARN,
            "xfs, ftype unknown",
            "xfs_info could not say; run `xfs_info " + mount.mount + "` on the host",
        )
    return result(
        Level.FAIL,
        shown,
        "make the file system again: mkfs.xfs -n ftype=1 (data on it is lost: move it first)",
    )


def check_data_space(inp: CheckInput) -> list[Result]:
    mount, bad = _data_mount(inp, "docker data size")
    if bad:
        return [bad]
    if mount is None:
        return []
    s = inp.sizing
    results = []
    size_need = int(s.docker_data_gb * GIB)
    size_threshold = f">= {s.docker_data_gb:g} GiB (sizing_docker_data_gb)"
    if mount.size_total >= size_need * 0.98:  # file system overhead
        results.append(
            Result("docker data size", Level.PASS, _gib(mount.size_total), size_threshold)
        )
    else:
        results.append(
            Result(
                "docker data size",
                Level.FAIL,
                _gib(mount.size_total),
                size_threshold,
                "grow the volume (lvextend -r) or give Docker a larger one",
            )
        )
    free_need = int(s.docker_min_free_gb * GIB)
    free_threshold = f">= {s.docker_min_free_gb:g} GiB free (sizing_docker_min_free_gb)"
    level = Level.PASS if mount.size_available >= free_need else Level.FAIL
    advice = "" if level is Level.PASS else "free space: docker system prune, or grow it"
    results.append(
        Result("docker data free", level, _gib(mount.size_available), free_threshold, advice)
    )
    return results


def check_selinux(inp: CheckInput) -> list[Result]:
    se: SelinuxInfo = inp.facts["selinux"]
    if bad := _unread("selinux", se):
        return [bad]
    measured = f"running {se.mode}, configured {se.config_mode or '(no /etc/selinux/config)'}"
    result = _one("selinux", "configured = running; enforcing")
    if se.config_mode and se.config_mode != se.mode:
        return result(
            Level.WARN,
            measured,
            "the configured mode takes effect at the next reboot: reboot before installing",
        )
    if se.mode == "enforcing" or se.mode in inp.sizing.selinux_allowed:
        return result(Level.PASS, measured)
    return result(
        Level.WARN,
        measured,
        "set SELINUX=enforcing in /etc/selinux/config and reboot (container-selinux "
        "confines the containers)",
    )


def check_firewalld(inp: CheckInput) -> list[Result]:
    fw: FirewalldInfo = inp.facts["firewalld"]
    if bad := _unread("firewalld", fw):
        return [bad]
    measured = fw.state + (f", backend {fw.backend}" if fw.backend else "")
    result = _one("firewalld", "active")
    if fw.state == "active":
        return result(Level.PASS, measured)
    return result(
        Level.WARN,
        measured,
        "install and start firewalld (systemctl enable --now firewalld), then restart "
        "docker so that it adds its zone",
    )


def check_time(inp: CheckInput) -> list[Result]:
    t: TimeInfo = inp.facts["time"]
    if bad := _unread("time sync", t):
        return [bad]
    measured = f"synchronised: {'yes' if t.synced else 'no'} ({t.source}), chronyd {t.chronyd}"
    result = _one("time sync", "synchronised")
    if t.synced:
        return result(Level.PASS, measured)
    if t.container:
        # A container has no clock of its own: it reads the kernel's, which only the machine
        # that runs it can set (chronyd inside would need CAP_SYS_TIME over the machine's
        # clock, and systemd skips it in containers). Not a fault of this host: WARN.
        return result(
            Level.WARN,
            f"{measured}; a {t.container} container: its clock is the kernel's",
            f"this host is a container ({t.container}): time sync is the job of the "
            "machine that runs it; check chronyd there (chronyc tracking)",
        )
    if t.chronyd == "active":
        return result(
            Level.WARN,
            measured,
            "chronyd runs but is not synchronised yet: check its servers (chronyc sources)",
        )
    return result(
        Level.FAIL,
        measured,
        "install and start chrony (systemctl enable --now chronyd): TLS and GPG checks "
        "need the right time",
    )


def check_repos(inp: CheckInput) -> list[Result]:
    via = f"through {inp.sizing.proxy}" if inp.sizing.proxy else "directly (no dnf_proxy)"
    if isinstance(inp.reach, FactFailure):
        return [Result("repositories", Level.WARN, "could not be listed", via, inp.reach.message)]
    if inp.reach is None:
        return [Result("repositories", Level.WARN, "curl is not installed", via, "install curl")]
    if not inp.reach:
        return [Result("repositories", Level.WARN, "no enabled repository", via)]
    results = []
    for reach in inp.reach:
        name = f"repo {reach.repo}"
        if reach.curl_rc == -1:
            results.append(Result(name, Level.WARN, reach.url, via, reach.error))
        elif reach.ok:
            results.append(Result(name, Level.PASS, f"HTTP {reach.code}", f"HEAD {via}"))
        else:
            got = f"HTTP {reach.code}" if reach.code else f"no answer (curl exit {reach.curl_rc})"
            detail = f": {reach.error}" if reach.error else ""
            results.append(
                Result(
                    name,
                    Level.FAIL,
                    f"{got} for {reach.url}{detail}",
                    f"HEAD {via} answers 2xx/3xx",
                    "check dnf_proxy and the repository URL; dnf would fail the same way",
                )
            )
    return results


def check_cleanup(inp: CheckInput) -> list[Result]:
    if isinstance(inp.packages, FactFailure):
        return [Result("cleanup", Level.WARN, "packages could not be read", "-", "")]
    if inp.packages is None:
        return []
    found = [p for p in inp.sizing.cleanup_packages if p in inp.packages]
    measured = ", ".join(found) if found else "none installed"
    return [
        Result(
            "cleanup",
            Level.INFO,
            measured,
            "packages container_cleanup removes",
            "these are removed by apply (container_cleanup role)" if found else "",
        )
    ]


CHECKS: tuple[tuple[str, Callable[[CheckInput], list[Result]]], ...] = (
    ("os", check_os),
    ("kernel", check_kernel),
    ("cgroup", check_cgroup),
    ("cpus", check_cpus),
    ("memory", check_memory),
    ("docker data volume", check_data_volume),
    ("docker data fs", check_data_filesystem),
    ("docker data space", check_data_space),
    ("selinux", check_selinux),
    ("firewalld", check_firewalld),
    ("time sync", check_time),
    ("repositories", check_repos),
    ("cleanup", check_cleanup),
)


def run_checks(inp: CheckInput) -> list[Result]:
    results: list[Result] = []
    for _name, check in CHECKS:
        results += check(inp)
    return results
