"""Newline injection on the lab: a value with a line break never reaches a host's files.

`docker_http_proxy` holding a line break plus `ExecStartPre=/bin/touch /tmp/pwn` would add
a command that systemd runs as root at the engine's next restart; `dnf_proxy` holding one
would add a key to dnf.conf. Each run must end with exit 2 before any host is touched: the
drop-in and dnf.conf stay byte for byte as they were, and no marker appears anywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
DROP_IN = "/etc/systemd/system/docker.service.d/http-proxy.conf"
MARKER = "/tmp/pwn"
BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]
SEEDED = (
    "# Managed by provision (role docker_engine): proxy for the Docker engine.\n"
    "[Service]\n"
    'Environment="HTTP_PROXY=http://proxy.lab:3128"\n'
)


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _digest(host: object, path: str) -> str:
    return run_on(host, f"sha256sum {path} 2>/dev/null || echo missing", check=False).stdout  # type: ignore[arg-type]


def test_docker_proxy_line_break_is_refused_and_the_drop_in_untouched(
    lab_hosts: LabSession, tmp_path: Path
) -> None:
    host = lab_hosts.hosts[0]
    run_on(
        host,
        f"rm -f {MARKER}; mkdir -p {DROP_IN.rsplit('/', 1)[0]};"
        f" printf '%s' '{SEEDED}' > {DROP_IN}; touch -d '2020-01-01' {DROP_IN}",
    )
    before = run_on(host, f"sha256sum {DROP_IN}; stat -c %Y {DROP_IN}").stdout
    Path(MARKER).unlink(missing_ok=True)
    for index, char in enumerate(BREAKS):
        payload = f"http://proxy.lab:3128{char}ExecStartPre=/bin/touch {MARKER}{char}#"

        def inject(data: dict, payload: str = payload) -> None:
            hosts_of(data)["rocky1"]["docker_http_proxy"] = payload

        inventory = derived_inventory(lab_hosts.inventory, tmp_path / f"inv{index}.yml", inject)
        for command in ("plan", "apply"):
            result = provision(command, str(inventory), "--limit", "rocky1")
            shown = result.stdout + result.stderr
            assert result.returncode == 2, (repr(char), command, shown)
            assert "docker_http_proxy" in shown and "http-proxy.conf.j2" in shown, shown
            assert "Traceback" not in shown
    assert run_on(host, f"sha256sum {DROP_IN}; stat -c %Y {DROP_IN}").stdout == before
    run_on(host, "systemctl daemon-reload", check=False)
    shown = run_on(host, "systemctl show -p ExecStartPre docker", check=False).stdout
    assert MARKER not in shown
    assert run_on(host, f"test -e {MARKER}", check=False).returncode != 0
    assert not Path(MARKER).exists()


def test_dnf_proxy_line_break_is_refused_and_dnf_conf_untouched(
    lab_hosts: LabSession, tmp_path: Path
) -> None:
    host = lab_hosts.hosts[1]
    before = _digest(host, "/etc/dnf/dnf.conf")
    for index, char in enumerate(BREAKS):

        def inject(data: dict, char: str = char) -> None:
            hosts_of(data)["rocky2"]["dnf_proxy"] = f"http://proxy.lab:3128{char}sslverify=0"

        inventory = derived_inventory(lab_hosts.inventory, tmp_path / f"inv{index}.yml", inject)
        result = provision("apply", str(inventory), "--limit", "rocky2")
        shown = result.stdout + result.stderr
        assert result.returncode == 2, (repr(char), shown)
        assert "`line` (from `{{ dnf_proxy }}`)" in shown, shown
    assert _digest(host, "/etc/dnf/dnf.conf") == before
    assert "sslverify" not in run_on(host, "cat /etc/dnf/dnf.conf").stdout
