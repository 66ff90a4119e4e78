"""Checks that the conflicting container packages are gone."""

from typing import Any

from testinfra.host import Host


def test_conflicting_packages_absent(host: Host, role_vars: dict[str, Any]) -> None:
    names = role_vars["container_cleanup_packages"] + role_vars["docker_legacy_packages"]
    installed = [name for name in names if host.package(name).is_installed]
    assert installed == []


def test_no_podman_docker_shim(host: Host) -> None:
    # podman-docker installs /usr/bin/docker as a wrapper script around podman.
    if host.file("/usr/bin/docker").exists:
        owner = host.run("rpm -qf /usr/bin/docker").stdout
        assert "podman" not in owner
