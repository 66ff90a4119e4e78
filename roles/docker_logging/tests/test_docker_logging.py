"""Checks rsyslog, the forwarding file, the engine's log driver, and that a container's
line arrives where the driver sends it."""

import time
import uuid
from typing import Any

import pytest
from testinfra.host import Host

FORWARD = "/etc/rsyslog.d/60-provision-forward.conf"


def test_rsyslog_installed_and_running(host: Host, role_vars: dict[str, Any]) -> None:
    assert host.package(role_vars["docker_logging_rsyslog_package"]).is_installed
    service = host.service(role_vars["docker_logging_rsyslog_service"])
    assert service.is_running
    assert service.is_enabled


def test_rsyslog_config_is_valid(host: Host) -> None:
    result = host.run("rsyslogd -N1")
    assert result.rc == 0, result.stdout + result.stderr


def test_forwarding(host: Host, role_vars: dict[str, Any]) -> None:
    target = role_vars["docker_logging_forward_host"]
    forward = host.file(FORWARD)
    if not target:
        assert not forward.exists
        return
    text = forward.content_string
    assert f'target="{target}"' in text
    assert f'port="{role_vars["docker_logging_forward_port"]}"' in text
    assert 'protocol="tcp"' in text and 'queue.saveOnShutdown="on"' in text


def test_engine_log_driver(host: Host, role_vars: dict[str, Any]) -> None:
    if not host.service("docker").is_running:
        pytest.skip("the Docker engine is not running")
    driver = host.check_output("docker info --format '{{.LoggingDriver}}'").strip()
    assert driver == role_vars["docker_log_driver"]


def _wait_for(host: Host, command: str, marker: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    out = ""
    while time.monotonic() < deadline:
        out = host.run(command).stdout
        if marker in out:
            break
        time.sleep(0.5)
    return out


def test_container_line_arrives(host: Host, role_vars: dict[str, Any]) -> None:
    image = role_vars.get("docker_logging_verify_image") or ""
    if not image:
        pytest.skip("docker_logging_verify_image is empty: no image to run")
    driver = role_vars["docker_log_driver"]
    address = role_vars["docker_log_opts"].get("syslog-address", "")
    if driver == "none" or (driver == "syslog" and address and not address.startswith("unix")):
        pytest.skip(f"the {driver} driver sends lines off this host ({address or 'nowhere'})")
    name = f"provision-verify-log-{uuid.uuid4().hex[:8]}"
    marker = f"provision-verify-line-{uuid.uuid4().hex}"
    host.check_output(f"docker run --name {name} {image} echo {marker}")
    try:
        if driver in ("json-file", "local"):
            out = host.check_output(f"docker logs {name}")
        elif driver == "journald":
            out = _wait_for(host, f"journalctl -o cat CONTAINER_NAME={name}", marker)
        else:  # syslog through /dev/log: journald, then rsyslog's imjournal
            out = _wait_for(host, f"grep -F {marker} /var/log/messages", marker)
    finally:
        host.run(f"docker rm -f {name}")
    assert marker in out, f"the container's line did not arrive ({driver})"
