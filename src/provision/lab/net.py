"""The lab network: one bridge on the machine, one network namespace per host.

No default route anywhere: hosts reach the bridge address (the lab's repos and proxy) and
each other, nothing else. The machine routes the whole lab range to "unreachable" as a
safety net (the bridge's /24 is more specific, so it still works).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from . import config
from .util import LabError, run

NETNS_DIR = Path("/run/netns")


def _ip_json(*args: str) -> list[dict]:
    proc = subprocess.run(["ip", "-j", *args], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    return json.loads(proc.stdout)


def link_exists(name: str) -> bool:
    return bool(_ip_json("link", "show", "dev", name))


def ensure_bridge() -> None:
    """The lab bridge with the lab's gateway address, and the safety route."""
    if not link_exists(config.BRIDGE):
        run(["ip", "link", "add", config.BRIDGE, "type", "bridge"])
    addrs = _ip_json("addr", "show", "dev", config.BRIDGE)
    have = {a.get("local") for i in addrs for a in i.get("addr_info", [])}
    if config.BRIDGE_ADDR not in have:
        run(["ip", "addr", "add", f"{config.BRIDGE_ADDR}/24", "dev", config.BRIDGE])
    run(["ip", "link", "set", config.BRIDGE, "up"])
    ensure_safety_route()


def ensure_safety_route() -> None:
    """The whole lab range answers "unreachable" on the machine. It stays after `lab down`:
    a plan of the lab inventory while the lab is down must fail here, not send its
    packets to whatever network the machine's default route leads to."""
    run(["ip", "route", "replace", "unreachable", config.SAFETY_ROUTE])


def remove_bridge() -> bool:
    """Remove the bridge (the safety route stays). True if it was there."""
    if link_exists(config.BRIDGE):
        run(["ip", "link", "del", config.BRIDGE])
        return True
    return False


def remove_safety_route() -> bool:
    """Remove the safety route (`lab clean` only). True if it was there."""
    routes = _ip_json("route", "show", "type", "unreachable", config.SAFETY_ROUTE)
    if routes:
        run(["ip", "route", "del", "unreachable", config.SAFETY_ROUTE])
        return True
    return False


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / config.netns_name(name)).exists()


def lab_netns() -> list[str]:
    """Host names that have a lab network namespace (running or left over)."""
    if not NETNS_DIR.is_dir():
        return []
    prefix = config.netns_name("")
    return sorted(p.name[len(prefix) :] for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def _netns_ok(name: str, address: str) -> bool:
    ns = config.netns_name(name)
    veth = _ip_json("link", "show", "dev", config.veth_name(name))
    if not veth or veth[0].get("master") != config.BRIDGE:
        return False
    addrs = _ip_json("-n", ns, "addr", "show", "dev", "eth0")
    have = {a.get("local") for i in addrs for a in i.get("addr_info", [])}
    routes = _ip_json("-n", ns, "route", "show", "default")
    return address in have and not routes


def ensure_netns(name: str, address: str) -> None:
    """Network namespace for host name: eth0 with address, bridged, no default route."""
    if netns_exists(name) and _netns_ok(name, address):
        return
    remove_netns(name)
    ns = config.netns_name(name)
    veth = config.veth_name(name)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", config.BRIDGE, "up"])
    run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    if not _netns_ok(name, address):
        raise LabError(f"network namespace {ns} did not come up as expected")


def remove_netns(name: str) -> bool:
    """Remove host name's veth and namespace (also a half-made or stale one)."""
    found = False
    veth = config.veth_name(name)
    if link_exists(veth):
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
        found = True
    path = NETNS_DIR / config.netns_name(name)
    if path.exists():
        found = True
        if subprocess.run(["ip", "netns", "del", path.name], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
            path.unlink(missing_ok=True)
    return found
