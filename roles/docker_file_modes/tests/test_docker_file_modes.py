"""Checks owner and mode of the files role docker_file_modes manages."""

from typing import Any

import pytest
from testinfra.host import Host


def test_files_have_their_owner_and_mode(host: Host, role_vars: dict[str, Any]) -> None:
    if not role_vars["docker_file_modes_enabled"]:
        pytest.skip("docker_file_modes_enabled is false")
    config = host.file("/etc/docker")
    assert (config.user, config.group) == ("root", "root")
    assert config.mode == int(str(role_vars["docker_file_modes_config_dir_mode"]), 8)
    for entry in role_vars["docker_file_modes_files"]:
        found = host.file(entry["path"])
        assert (found.user, found.group) == (entry["owner"], entry["group"]), entry["path"]
        assert found.mode == int(str(entry["mode"]), 8), entry["path"]
