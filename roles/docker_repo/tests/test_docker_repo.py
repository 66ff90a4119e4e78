"""Checks the Docker CE repository file, its GPG key setting and the pinned key."""

import posixpath
import re
from typing import Any
from urllib.parse import urlparse

from testinfra.host import Host

from provision.facts.openpgp import normalise_fingerprint
from provision.facts.rpm_keys import RpmKeysFact, check_key_file

GPGKEY_LINE = re.compile(r"^\s*gpgkey\s*=\s*(.*?)\s*$", re.MULTILINE)


def _repo_file(role_vars: dict[str, Any]) -> str:
    basename = posixpath.basename(urlparse(role_vars["docker_repo_url"]).path)
    return f"/etc/yum.repos.d/{basename}"


def test_dnf_plugins_core_installed(host: Host) -> None:
    assert host.package("dnf-plugins-core").is_installed


def test_repo_file_present(host: Host, role_vars: dict[str, Any]) -> None:
    assert host.file(_repo_file(role_vars)).is_file


def test_repo_gpgkey_is_the_checked_copy(host: Host, role_vars: dict[str, Any]) -> None:
    content = host.file(_repo_file(role_vars)).content_string
    keys = GPGKEY_LINE.findall(content)
    assert keys, "the repository file has no gpgkey= line"
    assert set(keys) == {f"file://{role_vars['docker_gpg_key_file']}"}


def test_repo_gpgcheck_not_disabled(host: Host, role_vars: dict[str, Any]) -> None:
    content = host.file(_repo_file(role_vars)).content_string
    assert not re.search(r"^\s*gpgcheck\s*=\s*0\s*$", content, re.MULTILINE)


def test_pinned_key_imported(host: Host, role_vars: dict[str, Any]) -> None:
    fingerprint = normalise_fingerprint(role_vars["docker_gpg_fingerprint"])
    fact = RpmKeysFact(fingerprint, "/dev/null")
    result = host.run(fact.listing())
    keys = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    assert keys.with_fingerprint(fingerprint), f"no rpm key with fingerprint {fingerprint}"


def test_kept_key_file_is_the_pinned_key(host: Host, role_vars: dict[str, Any]) -> None:
    fingerprint = normalise_fingerprint(role_vars["docker_gpg_fingerprint"])
    kept = host.file(role_vars["docker_gpg_key_file"])
    assert kept.is_file
    assert check_key_file(kept.content, fingerprint) is None
