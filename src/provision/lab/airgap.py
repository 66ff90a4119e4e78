"""`provision lab up --airgap`: the hosts lose every route to the lab's "internet".

The lab's package server and proxy listen on the bridge address on this machine. An
air-gapped lab host may not open any connection to this machine: an nftables table on
the machine's input hook rejects every new connection that comes in on the lab bridge
from a host address (replies to this machine's own connections, such as provision's
SSH, still pass: conntrack state established). The hosts still reach each other (the
bridge switches that traffic; it never enters this machine's IP stack), and nothing
routes off the lab network anyway (net.py: no default route, the safety route). Root on
a host cannot undo it: the rules live on the machine, outside the hosts' namespaces.

The machine's `nft` is used when it has one, else the lab image's own (run chrooted into
the image's root filesystem: the rules still go to this machine's kernel).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

from . import config
from .util import LabError

TABLE = "provision_lab_airgap"
STATE_FILE = "airgap"  # under config.RUN_ROOT: the addresses air-gapped, one a line


def rules(addresses: list[str]) -> str:
    """The nft script: one table, flushed and rewritten whole (idempotent)."""
    elements = ", ".join(addresses)
    return (
        f"table inet {TABLE} {{}}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        f"  set airgapped {{ type ipv4_addr; elements = {{ {elements} }} }}\n"
        "  chain input {\n"
        "    type filter hook input priority -10; policy accept;\n"
        f'    iifname "{config.BRIDGE}" ip saddr @airgapped ct state established,related accept\n'
        f'    iifname "{config.BRIDGE}" ip saddr @airgapped meta l4proto tcp'
        " reject with tcp reset\n"
        f'    iifname "{config.BRIDGE}" ip saddr @airgapped'
        " reject with icmp type admin-prohibited\n"
        "  }\n"
        "}\n"
    )


def nft_command(rootfs: Path | None) -> list[str]:
    """How to run nft here: the machine's, else the lab image's (chrooted)."""
    own = shutil.which("nft")
    if own:
        return [own]
    if rootfs is not None:
        for candidate in ("usr/sbin/nft", "sbin/nft"):
            if (rootfs / candidate).is_file():
                return ["chroot", str(rootfs), "/" + candidate]
    raise LabError(
        "--airgap needs nftables: install it (apt-get install nftables), or rebuild the lab"
        " image (`provision lab clean`), which carries nft"
    )


def _nft(rootfs: Path | None, *args: str, script: str | None = None) -> None:
    cmd = [*nft_command(rootfs), *args]
    proc = subprocess.run(cmd, input=script, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"nft {' '.join(args)} failed: {proc.stderr.strip()}")


def state_path() -> Path:
    return config.RUN_ROOT / STATE_FILE


def airgapped() -> list[str]:
    """The host addresses air-gapped now (as recorded when the rules were written)."""
    try:
        return [a for a in state_path().read_text().split() if a]
    except OSError:
        return []


def enable(addresses: list[str], rootfs: Path | None) -> None:
    """Air-gap these hosts (the table is rewritten whole: other hosts are let go)."""
    lab = ipaddress.ip_network(f"{config.NET_PREFIX}.0/24")
    for address in addresses:
        try:
            inside = ipaddress.ip_address(address) in lab
        except ValueError:
            inside = False
        if not inside:
            raise LabError(f"{address!r} is not a lab address")
    _nft(rootfs, "-f", "-", script=rules(addresses))
    state_path().parent.mkdir(parents=True, exist_ok=True)
    state_path().write_text("".join(f"{a}\n" for a in addresses))


def disable(rootfs: Path | None) -> bool:
    """Remove the rules (a lab without them, or `lab down`). True if they were there."""
    was = bool(airgapped())
    state_path().unlink(missing_ok=True)
    try:
        command = nft_command(rootfs)
    except LabError:
        return was  # no nft anywhere: no rules can have been written
    proc = subprocess.run(
        [*command, "delete", "table", "inet", TABLE], capture_output=True, text=True
    )
    return was or proc.returncode == 0
