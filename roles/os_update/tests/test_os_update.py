"""Checks that no updates (or no security updates) are pending after os_update."""

from typing import Any

import pytest
from testinfra.host import Host

# dnf check-update exits 100 when updates are available, 0 when none, 1 on error.
NO_UPDATES = 0
UPDATES_PENDING = 100


def test_no_pending_updates(host: Host, role_vars: dict[str, Any]) -> None:
    if not role_vars["os_update_enabled"]:
        pytest.skip("os_update_enabled is false")
    args = ["dnf", "-q", "check-update"]
    if role_vars["os_update_security_only"]:
        args.append("--security")
    if role_vars.get("docker_version"):
        # A pinned docker-ce is expected to lag behind the repository.
        args.append("--exclude=docker-ce,docker-ce-cli")
    result = host.run(" ".join(args))
    assert result.rc in (NO_UPDATES, UPDATES_PENDING), f"dnf check-update failed: {result.stderr}"
    assert result.rc == NO_UPDATES, f"updates still pending:\n{result.stdout}"
