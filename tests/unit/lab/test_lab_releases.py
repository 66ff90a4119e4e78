"""`lab up --os`: the release table, the option's parsing, the identity files each release
writes (read back by the real os-release parser), and the docker-ce paths the repo server
answers for every tree and major version the roles compute."""

from __future__ import annotations

import pytest

from provision.facts.host import parse_os_release
from provision.lab import config
from provision.lab.releases import (
    DEFAULT,
    IDENTITY_PATHS,
    RELEASES,
    identity_files,
    parse_os_options,
)
from provision.lab.server import served_path


@pytest.mark.parametrize(
    ("key", "os_id", "distribution", "major", "vendor_file"),
    [
        ("rocky8", "rocky", "Rocky", 8, "/etc/rocky-release"),
        ("rocky10", "rocky", "Rocky", 10, "/etc/rocky-release"),
        ("alma8", "almalinux", "AlmaLinux", 8, "/etc/almalinux-release"),
        ("alma9", "almalinux", "AlmaLinux", 9, "/etc/almalinux-release"),
        ("alma10", "almalinux", "AlmaLinux", 10, "/etc/almalinux-release"),
        ("rhel8", "rhel", "RedHat", 8, None),
        ("rhel9", "rhel", "RedHat", 9, None),
        ("rhel10", "rhel", "RedHat", 10, None),
    ],
)
def test_identity_files_read_back_as_that_release(
    key: str, os_id: str, distribution: str, major: int, vendor_file: str | None
) -> None:
    files = identity_files(key)
    assert set(files) == set(IDENTITY_PATHS)
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        info = parse_os_release(files[path] or "")
        assert (info.id, info.distribution, info.major, info.family) == (
            os_id,
            distribution,
            major,
            "RedHat",
        )
    line = files["/etc/redhat-release"] or ""
    assert line.endswith(")\n") and f" release {major}" in line
    assert files["/etc/system-release"] == line
    assert (files["/etc/system-release-cpe"] or "").startswith("cpe:/o:")
    others = {"/etc/rocky-release", "/etc/almalinux-release"} - {vendor_file}
    assert all(files[p] is None for p in others)  # the image's rocky-release goes
    if vendor_file:
        assert files[vendor_file] == line


def test_the_default_release_writes_nothing() -> None:
    assert DEFAULT == "rocky9" and identity_files(DEFAULT) == {}


@pytest.mark.parametrize(
    ("values", "count", "expected"),
    [
        ((), 3, {"rocky1": "rocky9", "rocky2": "rocky9", "rocky3": "rocky9"}),
        (("rocky8",), 2, {"rocky1": "rocky8", "rocky2": "rocky8"}),
        (("rocky2=rhel9",), 3, {"rocky1": "rocky9", "rocky2": "rhel9", "rocky3": "rocky9"}),
        (("rocky8", "rocky1=rocky10"), 2, {"rocky1": "rocky10", "rocky2": "rocky8"}),
        (("rocky1=alma9", "rhel8"), 2, {"rocky1": "rhel8", "rocky2": "rhel8"}),  # later wins
        (("rocky1=rocky9",), 1, {"rocky1": "rocky9"}),
    ],
)
def test_os_options(values: tuple[str, ...], count: int, expected: dict[str, str]) -> None:
    assert parse_os_options(values, count) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rocky7", "unknown release 'rocky7'"),
        ("debian12", "unknown release 'debian12'"),
        ("", "unknown release ''"),
        ("rocky2=", "unknown release ''"),
        ("rocky9=rocky8", "'rocky9' is not one of the hosts up (rocky1, rocky2)"),
        ("host2=rocky8", "'host2' is not one of the hosts up"),
        ("=rocky8", None),  # an empty host name is every host
        ("rocky1=rocky8\n", "unknown release 'rocky8\\n'"),
        ("rocky1=../rocky8", "unknown release '../rocky8'"),
        ("-rocky8", "unknown release '-rocky8'"),
        ("ROCKY8", "unknown release 'ROCKY8'"),
        ("rocky1=rocky8=x", "unknown release 'rocky8=x'"),
        ("rocky8\u2028", "unknown release"),
    ],
)
def test_bad_os_options_name_what_was_expected(value: str, message: str | None) -> None:
    if message is None:
        assert parse_os_options((value,), 2) == {"rocky1": "rocky8", "rocky2": "rocky8"}
        return
    with pytest.raises(ValueError) as caught:
        parse_os_options((value,), 2)
    assert message in str(caught.value)
    if "unknown release" in message:
        assert "rocky8, rocky9, rocky10" in str(caught.value)


BUILT = f"/{config.DOCKER_PATH}/9/x86_64/stable"


@pytest.mark.parametrize("tree", ["rhel", "centos"])
@pytest.mark.parametrize("major", ["8", "9", "10"])
def test_every_tree_and_major_the_roles_compute_is_served(tree: str, major: str) -> None:
    asked = f"/docker-ce/linux/{tree}/{major}/x86_64/stable/repodata/repomd.xml"
    assert served_path(asked) == f"{BUILT}/repodata/repomd.xml"


@pytest.mark.parametrize(
    ("asked", "served"),
    [
        ("/docker-ce/linux/centos/gpg", f"/{config.DOCKER_PATH}/gpg"),
        ("/docker-ce/linux/centos/docker-ce.repo", f"/{config.DOCKER_PATH}/docker-ce.repo"),
        ("/docker-ce/linux/rhel/gpg", "/docker-ce/linux/rhel/gpg"),
        ("/docker-ce/linux/centos/7/x86_64/stable/", "/docker-ce/linux/centos/7/x86_64/stable/"),
        ("/docker-ce/linux/centos/9.4/x86_64/", "/docker-ce/linux/centos/9.4/x86_64/"),
        ("/docker-ce/linux/fedora/9/x", "/docker-ce/linux/fedora/9/x"),
        ("/rocky/9/BaseOS/x86_64/os/", "/rocky/9/BaseOS/x86_64/os/"),
        ("/x/docker-ce/linux/centos/9/", "/x/docker-ce/linux/centos/9/"),
    ],
)
def test_other_paths_are_served_as_asked(asked: str, served: str) -> None:
    assert served_path(asked) == served


def test_every_release_has_a_known_major() -> None:
    assert {r.major for r in RELEASES.values()} == {"8", "9", "10"}
    assert set(RELEASES) == {f"{d}{m}" for d in ("rocky", "alma", "rhel") for m in (8, 9, 10)}
