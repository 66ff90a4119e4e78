"""A testinfra backend on provision's own SSH connection (same host-key checks, bastion)."""

from __future__ import annotations

import functools
from typing import Any

from testinfra.backend.paramiko import ParamikoBackend
from testinfra.host import Host

from provision.execution.runner import RunOptions, connect
from provision.project.hostconfig import HostConfig


class ProvisionBackend(ParamikoBackend):
    NAME = "provision"

    def __init__(self, connection: Any, sudo: bool) -> None:
        self._provision = connection
        super().__init__(connection.config.name, sudo=sudo)

    @functools.cached_property
    def client(self) -> Any:  # type: ignore[override]
        self._provision.open()
        return self._provision._conn.client


def testinfra_host(
    config: HostConfig, options: RunOptions, connection: Any = None
) -> tuple[Host, Any]:
    """A testinfra Host for one inventory host (on `connection` when one is open already),
    and the connection to close afterwards."""
    if config.connection == "local":
        import os

        import testinfra

        sudo = config.become and os.geteuid() != 0
        return testinfra.get_host("local://", sudo=sudo), None
    connection = connection or connect(config, options)
    sudo = config.become and config.user != "root"
    return Host(ProvisionBackend(connection, sudo)), connection
