"""The shipped roles planned against fake host facts, one case per OS and major version:
the docker-ce repository path (tree and pinned major), the packages each EL release needs,
EL10's kernel module, and the support matrix refusing any other OS at plan time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provision.facts.host import OsFact
from provision.planning.model import Failed, HostState, NoOp
from provision.planning.planner import bind_facts
from provision.project.compile import compile_run

REPO = Path(__file__).resolve().parents[3]
ROLES = ("docker_repo", "docker_engine")

OS_RELEASE = {
    "rhel": 'ID="rhel"\nNAME="Red Hat Enterprise Linux"\nVERSION_ID="{v}"\nID_LIKE="fedora"\n',
    "rocky": 'ID="rocky"\nNAME="Rocky Linux"\nVERSION_ID="{v}"\nID_LIKE="rhel centos fedora"\n',
    "almalinux": 'ID="almalinux"\nNAME="AlmaLinux"\nVERSION_ID="{v}"\nID_LIKE="rhel"\n',
    "centos": 'ID="centos"\nNAME="CentOS Stream"\nVERSION_ID="{v}"\nID_LIKE="rhel fedora"\n',
    "ol": 'ID="ol"\nNAME="Oracle Linux Server"\nVERSION_ID="{v}"\nID_LIKE="fedora"\n',
    "fedora": 'ID=fedora\nNAME="Fedora Linux"\nVERSION_ID={v}\n',
    "debian": 'ID=debian\nNAME="Debian GNU/Linux"\nVERSION_ID="{v}"\n',
}
MIRROR = "https://download.docker.com"


def compiled_tasks(tmp_path: Path, extra_vars: str = "") -> list[Any]:
    (tmp_path / "inv.yml").write_text(
        "all:\n  vars:\n    docker_gpg_fingerprint: 060A61C51B558A7F742B77AAC52FEB6B621E9F35\n"
        + extra_vars
        + "  hosts:\n    h1: {ansible_connection: local}\n"
    )
    roles = "".join(f"    - {name}\n" for name in ROLES)
    (tmp_path / "play.yml").write_text(f"- hosts: all\n  become: true\n  roles:\n{roles}")
    (tmp_path / "roles").symlink_to(REPO / "roles")
    result = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    return result.plays[0][1][0].tasks


def bound(tmp_path: Path, os_id: str, version: str, extra_vars: str = "") -> list[Any]:
    tasks = compiled_tasks(tmp_path, extra_vars)
    os = OsFact().parse(0, OS_RELEASE[os_id].format(v=version).encode(), b"")
    result = bind_facts(tasks, [], {"os": os})
    assert result.missing == frozenset()
    return [t for t in result.tasks if t.task is not None]


def of_type(tasks: list[Any], type_name: str) -> list[Any]:
    return [t.task for t in tasks if t.task.type_name == type_name]


def packages(tasks: list[Any]) -> list[list[str]]:
    return [list(t.params.name) for t in of_type(tasks, "package")]


SUPPORTED = [
    # os id, VERSION_ID, docker-ce tree, major in the baseurl, OS packages, kernel modules
    ("rhel", "8.10", "rhel", "8", ["container-selinux", "iptables"], []),
    ("rhel", "9.4", "rhel", "9", ["container-selinux", "iptables-nft"], []),
    ("rhel", "9.6", "rhel", "9", ["container-selinux", "iptables-nft"], []),
    (
        "rhel",
        "10.0",
        "rhel",
        "10",
        ["container-selinux", "iptables-nft", "kernel-modules-extra"],
        ["xt_addrtype"],
    ),
    ("rocky", "8.10", "centos", "8", ["container-selinux", "iptables"], []),
    ("rocky", "9.5", "centos", "9", ["container-selinux", "iptables-nft"], []),
    (
        "rocky",
        "10.0",
        "centos",
        "10",
        ["container-selinux", "iptables-nft", "kernel-modules-extra"],
        ["xt_addrtype"],
    ),
    ("almalinux", "8.9", "centos", "8", ["container-selinux", "iptables"], []),
    ("almalinux", "9.4", "centos", "9", ["container-selinux", "iptables-nft"], []),
    (
        "almalinux",
        "10.0",
        "centos",
        "10",
        ["container-selinux", "iptables-nft", "kernel-modules-extra"],
        ["xt_addrtype"],
    ),
]


@pytest.mark.parametrize(("os_id", "version", "tree", "major", "os_packages", "modules"), SUPPORTED)
def test_each_supported_release_gets_its_repo_packages_and_modules(
    tmp_path: Path,
    os_id: str,
    version: str,
    tree: str,
    major: str,
    os_packages: list[str],
    modules: list[str],
) -> None:
    tasks = bound(tmp_path, os_id, version)
    check = of_type(tasks, "assert")[0]
    assert isinstance(check.plan(HostState({})), NoOp)
    repos = of_type(tasks, "repo")
    assert len(repos) == 1, [r.describe() for r in repos]
    repo = repos[0].params
    assert repo.url is None and repo.id == "docker-ce-stable"
    assert repo.baseurl == f"{MIRROR}/linux/{tree}/{major}/$basearch/stable"
    assert "$releasever" not in repo.baseurl
    assert repo.file == "/etc/yum.repos.d/docker-ce.repo"
    assert repo.gpgkey == "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce"
    installed = packages(tasks)
    assert os_packages in installed
    others = [p for p in installed if "container-selinux" in p]
    assert others == [os_packages]  # one release's list, not the others'
    docker_ce = [p for p in installed if "docker-ce" in p]
    assert docker_ce == [
        [
            "docker-ce",
            "docker-ce-cli",
            "containerd.io",
            "docker-buildx-plugin",
            "docker-compose-plugin",
        ]
    ]
    # the OS packages come before docker-ce (it requires container-selinux and iptables)
    assert installed.index(os_packages) < installed.index(docker_ce[0])
    assert [t.params.name for t in of_type(tasks, "kernel_module")] == modules


@pytest.mark.parametrize(
    ("os_id", "version", "shown"),
    [
        ("centos", "9", "CentOS 9"),
        ("ol", "9.4", "OracleLinux 9.4"),
        ("fedora", "41", "Fedora 41"),
        ("debian", "12", "Debian 12"),
        ("rocky", "7.9", "Rocky 7.9"),
        ("rhel", "11.0", "RedHat 11.0"),
        ("almalinux", "6.10", "AlmaLinux 6.10"),
    ],
)
def test_an_unsupported_os_fails_the_host_at_plan_time(
    tmp_path: Path, os_id: str, version: str, shown: str
) -> None:
    tasks = bound(tmp_path, os_id, version)
    check = of_type(tasks, "assert")[0]
    outcome = check.plan(HostState({}))
    assert isinstance(outcome, Failed)
    assert f"found {shown} " in outcome.message
    for matrix in ("AlmaLinux 8/9/10", "RedHat 8/9/10", "Rocky 8/9/10", "docs/support.md"):
        assert matrix in outcome.message, outcome.message
    # the support check is the role's first task: nothing of it is planned before
    assert tasks[0].task is check


def test_no_os_release_is_refused_with_what_was_found(tmp_path: Path) -> None:
    tasks = compiled_tasks(tmp_path)
    result = bind_facts(tasks, [], {"os": OsFact().parse(2, b"", b"")})
    check = next(t.task for t in result.tasks if t.task and t.task.type_name == "assert")
    outcome = check.plan(HostState({}))
    assert isinstance(outcome, Failed)
    assert "found an unknown OS" in outcome.message and "ID (none)" in outcome.message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://10.200.0.1:8080/docker-ce/linux/rhel/docker-ce.repo",
            "http://10.200.0.1:8080/docker-ce/linux/centos/9/$basearch/stable",
        ),
        (
            "https://mirror.example.internal/docker/linux/centos/docker-ce.repo",
            "https://mirror.example.internal/docker/linux/centos/9/$basearch/stable",
        ),
        (
            "https://mirror.example.internal/linux/linux/rhel/docker-ce.repo",
            "https://mirror.example.internal/linux/linux/centos/9/$basearch/stable",
        ),
    ],
)
def test_a_mirror_laid_out_like_docker_keeps_its_root(
    tmp_path: Path, url: str, expected: str
) -> None:
    tasks = bound(tmp_path, "rocky", "9.5", f"    docker_repo_url: {url}\n")
    (repo,) = of_type(tasks, "repo")
    assert repo.params.baseurl == expected


@pytest.mark.parametrize(
    ("extra", "url"),
    [
        (
            "    docker_repo_url: https://mirror.example.internal/own/docker.repo\n",
            "https://mirror.example.internal/own/docker.repo",
        ),
        (
            "    docker_repo_pin_major: false\n",
            "https://download.docker.com/linux/rhel/docker-ce.repo",
        ),
    ],
)
def test_another_layout_or_no_pin_adds_the_repo_file_as_is(
    tmp_path: Path, extra: str, url: str
) -> None:
    tasks = bound(tmp_path, "rocky", "9.5", extra)
    (repo,) = of_type(tasks, "repo")
    assert repo.params.url == url and repo.params.baseurl is None


def test_a_tree_map_override_moves_rocky_to_the_rhel_tree(tmp_path: Path) -> None:
    extra = "    docker_repo_trees: {RedHat: rhel, Rocky: rhel, AlmaLinux: rhel}\n"
    (repo,) = of_type(bound(tmp_path, "rocky", "8.10", extra), "repo")
    assert repo.params.baseurl == f"{MIRROR}/linux/rhel/8/$basearch/stable"


def test_the_choice_needs_only_the_os_facts(tmp_path: Path) -> None:
    """Every decision reads the `os` group only, and no argument reads facts: the probe
    of a converged host stays one remote command (no second round for built tasks)."""
    tasks = compiled_tasks(tmp_path)
    deferred = [t for t in tasks if t.pending is not None]
    assert deferred and all(t.pending.groups == {"os"} for t in deferred)
    assert all(
        t.pending.task is not None for t in deferred if t.task is None and t.pending.build is None
    )
    assert [t.name for t in deferred if t.pending.task is None] == [
        "the host's OS is in the support matrix"
    ]
