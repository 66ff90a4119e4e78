"""The variables `provision check` measures a host against, with their defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provision.errors import InputError, Location
from provision.facts.hostvars import FactsNeeded

# name: (default, what it is) -- docs/check.md lists the same
SIZING_VARIABLES: dict[str, tuple[Any, str]] = {
    "sizing_containers": (2, "containers planned on the host"),
    "sizing_cpus_per_container": (0.5, "CPUs each container needs"),
    "sizing_memory_mb_per_container": (512, "memory each container needs, MiB"),
    "sizing_os_cpus": (1, "CPUs kept for the host OS"),
    "sizing_os_memory_mb": (1024, "memory kept for the host OS, MiB"),
    "sizing_docker_data_gb": (10, "size of Docker's data file system, GiB"),
    "sizing_docker_min_free_gb": (2, "free space wanted in Docker's data file system, GiB"),
}


@dataclass(frozen=True)
class Sizing:
    containers: int = 2
    cpus_per_container: float = 0.5
    memory_mb_per_container: int = 512
    os_cpus: float = 1
    os_memory_mb: int = 1024
    docker_data_gb: float = 10
    docker_min_free_gb: float = 2
    data_root: str = "/var/lib/docker"
    proxy: str = ""
    docker_repo_url: str = ""
    cleanup_packages: tuple[str, ...] = ()
    selinux_allowed: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cpus_needed(self) -> int:
        return math.ceil(self.containers * self.cpus_per_container + self.os_cpus - 1e-9)

    @property
    def memory_mb_needed(self) -> int:
        return self.containers * self.memory_mb_per_container + self.os_memory_mb


def _number(variables: Mapping[str, Any], name: str, where: Location | None) -> float:
    default = SIZING_VARIABLES[name][0]
    value = _get(variables, name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"{name} must be a number, found {type(value).__name__}", where)
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{name} must be a number, found {value!r}", where)
    if not math.isfinite(number) or number < 0 or number > 1e9:
        raise InputError(f"{name} must be a number from 0 to 1e9, found {value!r}", where)
    return number


def _get(variables: Mapping[str, Any], name: str, default: Any) -> Any:
    try:
        return variables[name] if name in variables else default
    except KeyError:
        return default
    except FactsNeeded:
        raise InputError(f"{name} reads host facts: the check's variables cannot")


def _text(variables: Mapping[str, Any], name: str, default: str = "") -> str:
    value = _get(variables, name, default)
    if value is None:
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError(f"{name} must be text, found {type(value).__name__}")
    return str(value)


def _names(variables: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    found: list[str] = []
    for name in names:
        value = _get(variables, name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise InputError(f"{name} must be a list of names")
        found += [str(v) for v in value if str(v) not in found]
    return tuple(found)


def sizing_of(variables: Mapping[str, Any], origin: Any = None) -> Sizing:
    """The sizing a host is checked against: its variables, defaults for the others."""

    def where(name: str) -> Location | None:
        return origin(name) if origin is not None else None

    numbers = {name: _number(variables, name, where(name)) for name in SIZING_VARIABLES}
    return Sizing(
        containers=int(numbers["sizing_containers"]),
        cpus_per_container=numbers["sizing_cpus_per_container"],
        memory_mb_per_container=int(numbers["sizing_memory_mb_per_container"]),
        os_cpus=numbers["sizing_os_cpus"],
        os_memory_mb=int(numbers["sizing_os_memory_mb"]),
        docker_data_gb=numbers["sizing_docker_data_gb"],
        docker_min_free_gb=numbers["sizing_docker_min_free_gb"],
        data_root=_text(variables, "docker_data_root") or "/var/lib/docker",
        proxy=_text(variables, "dnf_proxy"),
        docker_repo_url=_text(variables, "docker_repo_url"),
        cleanup_packages=_names(variables, "container_cleanup_packages", "docker_legacy_packages"),
        selinux_allowed=tuple(s.lower() for s in _names(variables, "selinux_allowed_modes")),
    )
