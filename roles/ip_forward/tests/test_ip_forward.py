"""Checks IPv4 forwarding, live, persisted, and what systemd-sysctl applies at boot."""

import re
from typing import Any

from testinfra.host import Host

from provision.facts.sysctl_boot import SysctlBootFact, effective, read_order

PERSISTED = re.compile(r"^\s*net\.ipv4\.ip_forward\s*=\s*1\s*$", re.MULTILINE)


def test_ip_forward_live(host: Host) -> None:
    assert host.sysctl("net.ipv4.ip_forward") == 1


def test_ip_forward_persisted(host: Host, role_vars: dict[str, Any]) -> None:
    conf = host.file(role_vars["ip_forward_sysctl_file"])
    assert conf.is_file
    assert PERSISTED.search(conf.content_string)


def test_ip_forward_at_boot(host: Host) -> None:
    fact = SysctlBootFact()
    result = host.run(fact.command())
    boot = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    at_boot = effective(read_order(boot), "net.ipv4.ip_forward")
    assert at_boot is not None, "no file read at boot sets net.ipv4.ip_forward"
    assert at_boot.value == "1", f"{at_boot.path}:{at_boot.line} sets it to {at_boot.value}"
