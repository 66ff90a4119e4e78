"""Checks the offline bundle is current and whole, and the offline repository file; in
mirror mode, that the mirror serves it and the other hosts read it from there."""

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


def _reads_mirror(role_vars: dict[str, Any], host: Host) -> bool:
    if role_vars.get("offline_repo_mode") != "mirror":
        return False
    return "baseurl=http://" in host.file(REPO_FILE).content_string


def test_current_bundle_is_whole(host: Host, offline: str, role_vars: dict[str, Any]) -> None:
    if _reads_mirror(role_vars, host):
        pytest.skip("this host reads the mirror: it keeps no bundle")
    result = host.run(
        f"cd -- {shlex.quote(offline)}/current && sha256sum -c --strict --quiet SHA256SUMS"
    )
    assert result.rc == 0, f"bundle members differ: {result.stdout}{result.stderr}"


def test_repo_file_checks_signatures(host: Host, offline: str, role_vars: dict[str, Any]) -> None:
    content = host.file(REPO_FILE).content_string
    assert "gpgcheck=1" in content
    if _reads_mirror(role_vars, host):
        assert f"baseurl={role_vars['offline_repo_mirror_url']}/rpms/el" in content
        assert f"gpgkey=file://{role_vars['offline_repo_mirror_keyring']}" in content
        assert host.file(role_vars["offline_repo_mirror_keyring"]).is_file
    else:
        assert f"baseurl=file://{offline}/current/rpms/el" in content


def test_mirror_answers(host: Host, offline: str, role_vars: dict[str, Any]) -> None:
    if role_vars.get("offline_repo_mode") != "mirror":
        pytest.skip("offline_repo_mode is not mirror")
    url = f"{role_vars['offline_repo_mirror_url']}/rpms/"
    result = host.run("curl -fsS -m 10 -o /dev/null --noproxy '*' %s", url)
    assert result.rc == 0, f"the mirror {url} does not answer: {result.stderr}"
