"""Fixed facts of the container lab: addresses, ports, paths, names.

Everything here that ends up inside the image (addresses, ports, repo paths) is part of the
image cache key (see ``image.BUILD_INPUTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

BRIDGE = "provlab0"
NET_PREFIX = "10.200.0"
BRIDGE_ADDR = f"{NET_PREFIX}.1"
#: the machine answers "unreachable" for the whole lab range: nothing can leak out
SAFETY_ROUTE = "10.200.0.0/16"
FIRST_HOST_OCTET = 11
MAX_HOSTS = 64  # addresses .11 to .74; the fleet benchmark wants at least 50
#: `lab up` without --hosts, and the hosts the committed inventories/lab.yml lists
DEFAULT_HOSTS = 3
REPO_PORT = 8080
PROXY_PORT = 3128

REPO_BASE = f"http://{BRIDGE_ADDR}:{REPO_PORT}"
PROXY_URL = f"http://{BRIDGE_ADDR}:{PROXY_PORT}"
#: where the BaseOS-like repo sits under REPO_BASE (the real Rocky layout)
BASEOS_PATH = "rocky/9/BaseOS/x86_64/os"
#: where the docker-ce repo sits under REPO_BASE (the real download.docker.com layout)
DOCKER_PATH = "docker-ce/linux/rhel"
BUSYBOX_PATH = "lab/busybox-rootfs.tar"
#: where the busybox rootfs tarball sits on every lab host
BUSYBOX_ON_HOST = "/opt/lab/busybox-rootfs.tar"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)

CACHE_ROOT = Path(os.environ.get("PROVISION_LAB_CACHE", "/var/cache/provision-lab"))
STATE_ROOT = Path(os.environ.get("PROVISION_LAB_STATE", "/var/lib/provision-lab"))
RUN_ROOT = Path(os.environ.get("PROVISION_LAB_RUN", "/run/provision-lab"))
CGROUP_NAME = "provision-lab"


def host_name(index: int) -> str:
    """Name of the index-th lab host (1-based)."""
    return f"rocky{index}"


def host_address(index: int) -> str:
    """Fixed address of the index-th lab host (1-based)."""
    if not 1 <= index <= MAX_HOSTS:
        raise ValueError(f"host index must be 1..{MAX_HOSTS}, got {index}")
    return f"{NET_PREFIX}.{FIRST_HOST_OCTET + index - 1}"


def host_index(name: str) -> int:
    """Inverse of host_name: rocky3 -> 3."""
    if not name.startswith("rocky") or not name[5:].isdigit():
        raise ValueError(f"not a lab host name: {name!r} (expected rocky1, rocky2, ...)")
    index = int(name[5:])
    host_address(index)
    return index


def netns_name(name: str) -> str:
    return f"provlab-{name}"


def veth_name(name: str) -> str:
    """Machine-side veth name (at most 15 characters)."""
    return f"vpl-{name}"[:15]
