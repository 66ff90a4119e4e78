"""Checks firewalld and SELinux against the security_baseline role's variables."""

from typing import Any

import pytest
from testinfra.host import Host


def test_firewalld_running(host: Host, role_vars: dict[str, Any]) -> None:
    if not role_vars["firewalld_required"]:
        pytest.skip("firewalld_required is false")
    assert host.service("firewalld").is_running


def test_firewalld_enabled_when_managed(host: Host, role_vars: dict[str, Any]) -> None:
    if not (role_vars["firewalld_required"] and role_vars["firewalld_ensure_running"]):
        pytest.skip("the role does not manage firewalld here")
    assert host.package("firewalld").is_installed
    assert host.service("firewalld").is_enabled


def test_selinux_mode_allowed(host: Host, role_vars: dict[str, Any]) -> None:
    mode = host.check_output("getenforce").strip()
    assert mode in role_vars["selinux_allowed_modes"]
