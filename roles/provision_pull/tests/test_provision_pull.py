"""Checks the pull tool, provision-pull.service and provision-pull.timer."""

from typing import Any

from testinfra.host import Host

SERVICE = "/etc/systemd/system/provision-pull.service"
TIMER = "/etc/systemd/system/provision-pull.timer"


def _tool_dir(role_vars: dict[str, Any]) -> str:
    return f"{role_vars['provision_pull_root']}/{role_vars['provision_pull_version']}"


def test_tool_runs(host: Host, role_vars: dict[str, Any]) -> None:
    python = role_vars["provision_pull_python"]
    result = host.run(f"PYTHONPATH={_tool_dir(role_vars)} {python} -m provision pull --help")
    assert result.rc == 0, result.stderr
    assert "Fetch the project and apply it to this machine" in result.stdout


def test_service_unit(host: Host, role_vars: dict[str, Any]) -> None:
    unit = host.file(SERVICE)
    assert unit.is_file and unit.mode == 0o644
    text = unit.content_string
    assert "Type=oneshot" in text
    assert f"-m provision pull {role_vars['provision_pull_source']}" in text
    assert f"PYTHONPATH={_tool_dir(role_vars)}" in text


def test_timer(host: Host, role_vars: dict[str, Any]) -> None:
    text = host.file(TIMER).content_string
    assert f"OnUnitActiveSec={role_vars['provision_pull_interval']}" in text
    assert f"RandomizedDelaySec={role_vars['provision_pull_random_delay']}" in text
    if role_vars["provision_pull_timer_enabled"]:
        timer = host.service("provision-pull.timer")
        assert timer.is_enabled and timer.is_running
