"""Checks the Docker CE repository file and its GPG key setting."""

import posixpath
import re
from typing import Any
from urllib.parse import urlparse

from testinfra.host import Host

GPGKEY_LINE = re.compile(r"^\s*gpgkey\s*=\s*(.*?)\s*$", re.MULTILINE)


def _repo_file(role_vars: dict[str, Any]) -> str:
    basename = posixpath.basename(urlparse(role_vars["docker_repo_url"]).path)
    return f"/etc/yum.repos.d/{basename}"


def test_dnf_plugins_core_installed(host: Host) -> None:
    assert host.package("dnf-plugins-core").is_installed


def test_repo_file_present(host: Host, role_vars: dict[str, Any]) -> None:
    assert host.file(_repo_file(role_vars)).is_file


def test_repo_gpgkey(host: Host, role_vars: dict[str, Any]) -> None:
    content = host.file(_repo_file(role_vars)).content_string
    keys = GPGKEY_LINE.findall(content)
    assert keys, "the repository file has no gpgkey= line"
    assert set(keys) == {role_vars["docker_gpg_key_url"]}


def test_repo_gpgcheck_not_disabled(host: Host, role_vars: dict[str, Any]) -> None:
    content = host.file(_repo_file(role_vars)).content_string
    assert not re.search(r"^\s*gpgcheck\s*=\s*0\s*$", content, re.MULTILINE)
