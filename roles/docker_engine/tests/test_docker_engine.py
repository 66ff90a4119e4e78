"""Checks Docker CE packages, daemon.json, the proxy drop-in, the service and users."""

import json
from typing import Any

import pytest
from testinfra.host import Host

DROP_IN = "/etc/systemd/system/docker.service.d/http-proxy.conf"


def expected_daemon_json(role_vars: dict[str, Any]) -> dict[str, Any]:
    """daemon.json as the role's template builds it from the variables."""
    options = {
        "cgroup-parent": role_vars.get("docker_cgroup_parent", ""),
        "data-root": role_vars["docker_data_root"],
        "default-ulimits": role_vars["docker_default_ulimits"],
        "default-shm-size": role_vars.get("docker_default_shm_size", ""),
        "insecure-registries": role_vars["docker_insecure_registries"],
        "live-restore": role_vars["docker_live_restore"] or None,
        "log-driver": role_vars["docker_log_driver"],
        "log-opts": role_vars["docker_log_opts"],
        "registry-mirrors": role_vars["docker_registry_mirrors"],
        "storage-driver": role_vars["docker_storage_driver"],
    }
    config = {key: value for key, value in options.items() if value}
    hardening = {
        "icc": False if not role_vars.get("docker_icc", True) else None,
        "no-new-privileges": True if role_vars.get("docker_no_new_privileges") else None,
        "userland-proxy": False if not role_vars.get("docker_userland_proxy", True) else None,
    }
    config.update({key: value for key, value in hardening.items() if value is not None})
    config.update(role_vars["docker_daemon_extra"])
    return config


def expected_proxy_env(role_vars: dict[str, Any]) -> dict[str, str]:
    env = {
        "HTTP_PROXY": role_vars["docker_http_proxy"],
        "HTTPS_PROXY": role_vars["docker_https_proxy"],
        "NO_PROXY": role_vars["docker_no_proxy"],
    }
    if not (env["HTTP_PROXY"] or env["HTTPS_PROXY"]):
        return {}
    return {key: value for key, value in env.items() if value}


def _evr_without_epoch(evr: str) -> str:
    return evr.split(":", 1)[1] if ":" in evr else evr


def test_packages_installed(host: Host, role_vars: dict[str, Any]) -> None:
    missing = [name for name in role_vars["docker_packages"] if not host.package(name).is_installed]
    assert missing == []


def test_version_pin(host: Host, role_vars: dict[str, Any]) -> None:
    version = role_vars["docker_version"]
    if not version:
        pytest.skip("docker_version is not pinned")
    for name in ("docker-ce", "docker-ce-cli"):
        evr = host.check_output("rpm -q --qf '%%{EPOCH}:%%{VERSION}-%%{RELEASE}' %s", name)
        assert _evr_without_epoch(evr).startswith(version), f"{name} is {evr}, pinned {version}"


def test_etc_docker(host: Host) -> None:
    etc_docker = host.file("/etc/docker")
    assert etc_docker.is_directory
    assert etc_docker.mode == 0o755


def test_daemon_json(host: Host, role_vars: dict[str, Any]) -> None:
    daemon_json = host.file("/etc/docker/daemon.json")
    assert daemon_json.is_file
    assert daemon_json.user == "root"
    assert daemon_json.mode == 0o644
    assert json.loads(daemon_json.content_string) == expected_daemon_json(role_vars)


def test_proxy_drop_in(host: Host, role_vars: dict[str, Any]) -> None:
    expected = expected_proxy_env(role_vars)
    if not expected:
        assert not host.file(DROP_IN).exists
        return
    assert host.file(DROP_IN).is_file
    shown = host.check_output("systemctl show --property=Environment docker")
    for key, value in expected.items():
        assert f"{key}={value}" in shown, f"{key} not set for docker.service"


def test_service(host: Host) -> None:
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled


def test_docker_users(host: Host, role_vars: dict[str, Any]) -> None:
    if not role_vars["docker_users"]:
        pytest.skip("docker_users is empty")
    outside = [name for name in role_vars["docker_users"] if "docker" not in host.user(name).groups]
    assert outside == []
