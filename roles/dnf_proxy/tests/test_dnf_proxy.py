"""Checks /etc/dnf/dnf.conf [main] against the dnf_proxy role's variables."""

import configparser
from typing import Any

import pytest
from testinfra.host import Host

DNF_CONF = "/etc/dnf/dnf.conf"


def _main_section(host: Host) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(host.file(DNF_CONF).content_string)
    if not parser.has_section("main"):
        return {}
    return dict(parser.items("main"))


def test_proxy_url(host: Host, role_vars: dict[str, Any]) -> None:
    main = _main_section(host)
    if role_vars["dnf_proxy_state"] == "absent":
        assert "proxy" not in main
    elif role_vars["dnf_proxy"]:
        assert main.get("proxy") == role_vars["dnf_proxy"]
    else:
        pytest.skip("dnf_proxy is empty: the role leaves dnf.conf alone")


def test_proxy_username(host: Host, role_vars: dict[str, Any]) -> None:
    main = _main_section(host)
    if role_vars["dnf_proxy_state"] == "absent":
        assert "proxy_username" not in main
    elif role_vars["dnf_proxy"]:
        expected = role_vars["dnf_proxy_username"] or None
        assert main.get("proxy_username") == expected
    else:
        pytest.skip("dnf_proxy is empty: the role leaves dnf.conf alone")


def test_proxy_password(host: Host, role_vars: dict[str, Any]) -> None:
    # Compare into a bool first: pytest must never print the password on failure.
    main = _main_section(host)
    if role_vars["dnf_proxy_state"] == "absent":
        assert "proxy_password" not in main
    elif role_vars["dnf_proxy"]:
        expected = role_vars["dnf_proxy_password"] or None
        same = main.get("proxy_password") == expected
        assert same, "proxy_password in dnf.conf [main] differs from dnf_proxy_password"
    else:
        pytest.skip("dnf_proxy is empty: the role leaves dnf.conf alone")
