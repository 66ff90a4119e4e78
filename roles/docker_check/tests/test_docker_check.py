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


def test_registry_image_pulls_and_runs(host: Host, role_vars: dict[str, Any]) -> None:
    image = role_vars.get("docker_check_registry_image") or ""
    if not image:
        pytest.skip("docker_check_registry_image is empty: no private registry image to pull")
    pulled = host.run("docker pull %s", image)
    assert pulled.rc == 0, f"docker pull {image} failed: {pulled.stderr.strip()[-500:]}"
    args = [str(a) for a in role_vars.get("docker_check_registry_args") or []]
    ran = host.run("docker run --rm " + " ".join(["%s"] * (1 + len(args))), image, *args)
    assert ran.rc == 0, f"docker run {image} failed: {ran.stderr.strip()[-500:]}"
