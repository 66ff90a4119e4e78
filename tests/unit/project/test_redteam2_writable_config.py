"""Red team 2: files that decide what provision runs on the controller must not be
writable by anyone. ansible.cfg names `vault_password_file`, and an executable vault
password file is run. Ansible ignores an ansible.cfg in a world-writable *folder*; a
world-writable ansible.cfg file in a private folder (or a world-writable password script)
was used and run all the same, so any local user could make provision run their
command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project import vault
from provision.project.ansiblecfg import find_config


def test_a_world_writable_ansible_cfg_file_is_ignored(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir(mode=0o755)
    home.mkdir()
    os.chmod(cwd, 0o755)
    path = cwd / "ansible.cfg"
    path.write_text("[defaults]\nvault_password_file = ./pw.sh\n")
    os.chmod(path, 0o666)
    found, warnings = find_config({}, cwd, home)
    assert found != path
    assert any("world-writable" in w and "ansible.cfg" in w for w in warnings)


def test_a_world_writable_home_ansible_cfg_is_ignored(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    os.chmod(cwd, 0o755)
    path = home / ".ansible.cfg"
    path.write_text("[defaults]\nforks = 3\n")
    os.chmod(path, 0o646)
    found, warnings = find_config({}, cwd, home)
    assert found != path
    assert any("world-writable" in w for w in warnings)


def test_a_private_ansible_cfg_is_still_used(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    os.chmod(cwd, 0o755)
    path = cwd / "ansible.cfg"
    path.write_text("[defaults]\nforks = 3\n")
    os.chmod(path, 0o644)
    assert find_config({}, cwd, home) == (path, [])


@pytest.mark.parametrize("mode", [0o777, 0o757])
def test_a_world_writable_password_script_is_not_run(tmp_path: Path, mode: int) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "pw.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho pw\n")
    os.chmod(script, mode)
    with pytest.raises(InputError, match="world-writable"):
        vault.load_secret(str(script))
    assert not marker.exists()


def test_a_private_password_script_is_run(tmp_path: Path) -> None:
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho the-pw\n")
    os.chmod(script, 0o700)
    assert vault.load_secret(str(script)).password == b"the-pw"
