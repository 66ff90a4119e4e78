"""Checks the offline bundle is current and whole, and the offline repository file."""

import shlex
from typing import Any

import pytest
from testinfra.host import Host

REPO_FILE = "/etc/yum.repos.d/provision-offline.repo"


@pytest.fixture
def offline(role_vars: dict[str, Any]) -> str:
    if not role_vars.get("offline_bundle"):
        pytest.skip("offline_bundle is not set")
    return role_vars["offline_repo_dir"]


def test_current_bundle_is_whole(host: Host, offline: str) -> None:
    result = host.run(
        f"cd -- {shlex.quote(offline)}/current && sha256sum -c --strict --quiet SHA256SUMS"
    )
    assert result.rc == 0, f"bundle members differ: {result.stdout}{result.stderr}"


def test_repo_file_checks_signatures(host: Host, offline: str) -> None:
    content = host.file(REPO_FILE).content_string
    assert "gpgcheck=1" in content
    assert f"baseurl=file://{offline}/current/rpms/el" in content
