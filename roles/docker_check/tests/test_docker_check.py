"""Checks that the Docker engine answers and reports the configured storage driver."""

from typing import Any

import pytest
from testinfra.host import Host


def test_engine_answers(host: Host) -> None:
    result = host.run("docker info --format '{{.ServerVersion}}'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip()


def test_storage_driver(host: Host, role_vars: dict[str, Any]) -> None:
    expected = role_vars["docker_storage_driver"]
    if not expected:
        pytest.skip("docker_storage_driver is empty: the engine picks the driver")
    driver = host.check_output("docker info --format '{{.Driver}}'").strip()
    assert driver == expected


def test_engine_lists_containers(host: Host) -> None:
    # The engine must be able to list containers without pulling anything.
    assert host.run("docker ps --all --quiet").rc == 0


def test_imported_image_runs(host: Host, role_vars: dict[str, Any]) -> None:
    tarball = role_vars.get("docker_check_image_tarball") or ""
    if not tarball:
        pytest.skip("docker_check_image_tarball is empty: no image to import")
    host.check_output(f"docker import {tarball} provision/check:latest")
    out = host.check_output("docker run --rm provision/check:latest sh -c 'echo engine runs'")
    assert out.strip() == "engine runs"
