"""Checks the backup directory, script, service and timer."""

from typing import Any

from testinfra.host import Host

SCRIPT = "/usr/local/sbin/provision-image-backup"


def test_directory(host: Host, role_vars: dict[str, Any]) -> None:
    directory = host.file(role_vars["docker_image_backup_dir"])
    assert directory.is_directory
    assert directory.user == "root"
    assert directory.mode == 0o700


def test_script(host: Host) -> None:
    script = host.file(SCRIPT)
    assert script.is_file
    assert script.mode == 0o750
    assert host.run(f"bash -n {SCRIPT}").rc == 0


def test_units(host: Host, role_vars: dict[str, Any]) -> None:
    for unit in ("provision-image-backup.service", "provision-image-backup.timer"):
        assert host.file(f"/etc/systemd/system/{unit}").is_file
    timer = host.service("provision-image-backup.timer")
    wanted = bool(role_vars["docker_image_backup_timer_enabled"])
    assert timer.is_enabled == wanted
    assert timer.is_running == wanted
