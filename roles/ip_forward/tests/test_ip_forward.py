"""Checks IPv4 forwarding, live and persisted."""

import re
from typing import Any

from testinfra.host import Host

PERSISTED = re.compile(r"^\s*net\.ipv4\.ip_forward\s*=\s*1\s*$", re.MULTILINE)


def test_ip_forward_live(host: Host) -> None:
    assert host.sysctl("net.ipv4.ip_forward") == 1


def test_ip_forward_persisted(host: Host, role_vars: dict[str, Any]) -> None:
    conf = host.file(role_vars["ip_forward_sysctl_file"])
    assert conf.is_file
    assert PERSISTED.search(conf.content_string)
