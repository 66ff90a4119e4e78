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


class SuBackend(ProvisionBackend):
    """For a host that becomes root with `su`: each check runs through the run's own
    connection as root (`su`, root's password on a pipe), never through `sudo`."""

    NAME = "provision-su"

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        line = self.get_command(command, *args)
        result = self._provision.run(line, become=True)
        return self.result(result.rc, self.encode(line), result.stdout, result.stderr)


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
    if sudo and config.become_method == "su":
        return Host(SuBackend(connection, False)), connection
    return Host(ProvisionBackend(connection, sudo)), connection
