"""`provision check`'s rules: facts and sizing in → level, measured value, threshold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest

from provision.check.reach import Reach, ReachFact
from provision.check.rules import CHECKS, CheckInput, Level, run_checks
from provision.check.run import HostCheck, check_document, check_exit_code, check_junit
from provision.check.sizing import Sizing, sizing_of
from provision.errors import InputError
from provision.facts.base import FactError
from provision.facts.host import (
    FactFailure,
    FirewalldInfo,
    HardwareInfo,
    KernelInfo,
    LogicalVolume,
    LvmInfo,
    Mount,
    OsInfo,
    SelinuxInfo,
    TimeInfo,
)
from provision.reporting.mask import Masker

GIB = 1024**3
ROOT = Mount("/", "/dev/mapper/rl-root", "xfs", "rw", 50 * GIB, 40 * GIB, 1)
DATA = Mount(
    "/var/lib/docker", "/dev/mapper/vg_docker-lv_docker", "xfs", "rw", 20 * GIB, 19 * GIB, 1
)
LVM = LvmInfo(
    True,
    (),
    (LogicalVolume("lv_docker", "vg_docker", 20 * GIB, "/dev/vg_docker/lv_docker", ""),),
    (),
)
GOOD = {
    "os": OsInfo("rocky", "Rocky Linux", "9.5", 9, ("rhel",), "RedHat", "Rocky Linux 9.5"),
    "uname": KernelInfo("5.14.0-503.el9.x86_64", "x86_64", "h"),
    "hardware": HardwareInfo(4, 8192, 6000, 0, 0),
    "mounts": (ROOT, DATA),
    "devices": (),
    "lvm": LVM,
    "selinux": SelinuxInfo("enforcing", "enforcing", "targeted", True),
    "firewalld": FirewalldInfo("active", "nftables"),
    "cgroup": 2,
    "time": TimeInfo("active", True, "chronyc"),
    "last_apply": None,
}
SIZING = Sizing(proxy="http://10.200.0.1:3128", cleanup_packages=("podman", "runc"))
REACH = (Reach("baseos", "http://10.200.0.1:8080/baseos/repodata/repomd.xml", 200, 0),)


def levels(check: str, facts: dict | None = None, sizing: Sizing = SIZING, **extra) -> list:
    inp = CheckInput(
        {**GOOD, **(facts or {})}, sizing, extra.get("packages", {}), extra.get("reach", REACH)
    )
    return [(r.level, r.measured) for r in run_checks(inp) if r.check == check]


def test_a_good_host_passes_everything() -> None:
    inp = CheckInput(GOOD, SIZING, {"podman": ("4",)}, REACH)
    results = run_checks(inp)
    assert {r.level for r in results} == {Level.PASS, Level.INFO}
    assert {name for name, _ in CHECKS} <= {r.check for r in results} | {
        "docker data space",
        "repositories",
    }


OS_CASES = [
    (OsInfo("rocky", "Rocky Linux", "9.5", 9, (), "RedHat"), Level.PASS),
    (OsInfo("rhel", "RHEL", "8.10", 8, (), "RedHat"), Level.PASS),
    (OsInfo("almalinux", "AlmaLinux", "10.0", 10, (), "RedHat"), Level.PASS),
    (OsInfo("rocky", "Rocky Linux", "7.9", 7, (), "RedHat"), Level.FAIL),
    (OsInfo("rocky", "Rocky Linux", "11.0", 11, (), "RedHat"), Level.FAIL),
    (OsInfo("centos", "CentOS Stream", "9", 9, (), "RedHat"), Level.WARN),
    (OsInfo("ol", "Oracle Linux", "9.4", 9, (), "RedHat"), Level.WARN),
    (OsInfo("debian", "Debian", "12", 12, (), "Debian"), Level.FAIL),
    (OsInfo(), Level.FAIL),
    (FactFailure("unexpected line"), Level.WARN),
]


@pytest.mark.parametrize(("value", "level"), OS_CASES)
def test_os(value, level) -> None:
    assert levels("os", {"os": value})[0][0] is level


@pytest.mark.parametrize(
    ("release", "level"),
    [
        ("5.14.0-503.el9.x86_64", Level.PASS),
        ("4.18.0-553.el8_10.x86_64", Level.PASS),
        ("6.12.0-55.el10.x86_64", Level.PASS),
        ("4.17.0", Level.FAIL),
        ("3.10.0-1160.el7.x86_64", Level.FAIL),
        ("weird", Level.WARN),
        ("", Level.WARN),
    ],
)
def test_kernel(release: str, level: Level) -> None:
    assert levels("kernel", {"uname": KernelInfo(release, "x86_64", "h")})[0][0] is level


@pytest.mark.parametrize(("version", "level"), [(2, Level.PASS), (1, Level.WARN), (0, Level.FAIL)])
def test_cgroup(version: int, level: Level) -> None:
    assert levels("cgroup", {"cgroup": version})[0][0] is level


@pytest.mark.parametrize(
    ("cpus", "containers", "per", "os", "level"),
    [
        (2, 2, 0.5, 1, Level.PASS),  # needs 2
        (1, 2, 0.5, 1, Level.FAIL),
        (4, 6, 0.5, 1, Level.PASS),  # needs 4
        (3, 6, 0.5, 1, Level.FAIL),
        (2, 1, 0.25, 1, Level.PASS),  # needs ceil(1.25) = 2
        (1, 1, 0.25, 1, Level.FAIL),
        (1, 0, 1, 0, Level.PASS),
        (0, 0, 1, 0, Level.PASS),  # nproc missing: 0 CPUs, nothing needed
    ],
)
def test_cpus(cpus: int, containers: int, per: float, os: float, level: Level) -> None:
    sizing = replace(SIZING, containers=containers, cpus_per_container=per, os_cpus=os)
    hw = HardwareInfo(cpus, 8192, 0, 0, 0)
    assert levels("cpus", {"hardware": hw}, sizing)[0][0] is level


@pytest.mark.parametrize(
    ("memory", "containers", "level"),
    [(2048, 2, Level.PASS), (2047, 2, Level.FAIL), (1024, 0, Level.PASS), (1023, 0, Level.FAIL)],
)
def test_memory(memory: int, containers: int, level: Level) -> None:
    sizing = replace(SIZING, containers=containers, memory_mb_per_container=512, os_memory_mb=1024)
    found = levels("memory", {"hardware": HardwareInfo(2, memory, 0, 0, 0)}, sizing)
    assert found[0][0] is level


def ext4_partition() -> Mount:
    return Mount("/var/lib/docker", "/dev/vdb1", "ext4", "rw", 30 * GIB, 29 * GIB)


@pytest.mark.parametrize(
    ("mounts", "lvm", "data_root", "level"),
    [
        ((ROOT, DATA), LVM, "/var/lib/docker", Level.PASS),
        ((ROOT,), LVM, "/var/lib/docker", Level.FAIL),  # on the root fs
        ((ROOT, DATA), LVM, "/srv/docker", Level.FAIL),  # data_root elsewhere: root fs
        ((ROOT, replace(DATA, mount="/srv/docker")), LVM, "/srv/docker", Level.PASS),
        ((ROOT, ext4_partition()), LvmInfo(), "/var/lib/docker", Level.WARN),  # not LVM
        (
            (ROOT, replace(DATA, device="/dev/vg_docker/lv_docker")),
            LVM,
            "/var/lib/docker",
            Level.PASS,
        ),
        ((), LVM, "/var/lib/docker", Level.FAIL),
        (  # the container lab: a directory of the machine's disk, bind-mounted
            (ROOT, replace(DATA, device="/dev/vda[/var/lib/provision-lab/hosts/r1/docker]")),
            LVM,
            "/var/lib/docker",
            Level.FAIL,
        ),
        (  # a bind mount stacked under a real LV: the LV (mounted last) counts
            (ROOT, replace(DATA, device="/dev/vda[/x]", fstype="ext4"), DATA),
            LVM,
            "/var/lib/docker",
            Level.PASS,
        ),
        (FactFailure("findmnt failed"), LVM, "/var/lib/docker", Level.WARN),
    ],
)
def test_docker_data_volume(mounts, lvm, data_root: str, level: Level) -> None:
    sizing = replace(SIZING, data_root=data_root)
    assert levels("docker data volume", {"mounts": mounts, "lvm": lvm}, sizing)[0][0] is level


@pytest.mark.parametrize(
    ("fstype", "ftype", "level"),
    [
        ("xfs", 1, Level.PASS),
        ("xfs", 0, Level.FAIL),
        ("xfs", None, Level.WARN),
        ("ext4", None, Level.PASS),
        ("btrfs", None, Level.FAIL),
        ("overlay", None, Level.FAIL),
    ],
)
def test_docker_data_filesystem(fstype: str, ftype, level: Level) -> None:
    mounts = (ROOT, replace(DATA, fstype=fstype, ftype=ftype))
    assert levels("docker data fs", {"mounts": mounts})[0][0] is level


@pytest.mark.parametrize(
    ("size_gib", "avail_gib", "want", "free", "size_level", "free_level"),
    [
        (20, 19, 20, 2, Level.PASS, Level.PASS),
        (19.7, 19, 20, 2, Level.PASS, Level.PASS),  # within file system overhead
        (10, 9, 20, 2, Level.FAIL, Level.PASS),
        (20, 1, 20, 2, Level.PASS, Level.FAIL),
        (100, 0, 10, 0, Level.PASS, Level.PASS),
    ],
)
def test_docker_data_space(size_gib, avail_gib, want, free, size_level, free_level) -> None:
    mounts = (
        ROOT,
        replace(DATA, size_total=int(size_gib * GIB), size_available=int(avail_gib * GIB)),
    )
    sizing = replace(SIZING, docker_data_gb=want, docker_min_free_gb=free)
    assert levels("docker data size", {"mounts": mounts}, sizing)[0][0] is size_level
    assert levels("docker data free", {"mounts": mounts}, sizing)[0][0] is free_level


@pytest.mark.parametrize(
    ("running", "configured", "allowed", "level"),
    [
        ("enforcing", "enforcing", (), Level.PASS),
        ("permissive", "enforcing", (), Level.WARN),  # reboot pending
        ("enforcing", "permissive", (), Level.WARN),
        ("permissive", "permissive", (), Level.WARN),
        ("disabled", "", (), Level.WARN),
        ("disabled", "", ("disabled",), Level.PASS),  # the lab allows it
        ("disabled", "enforcing", ("disabled",), Level.WARN),
    ],
)
def test_selinux(running: str, configured: str, allowed: tuple, level: Level) -> None:
    sizing = replace(SIZING, selinux_allowed=allowed)
    found = levels("selinux", {"selinux": SelinuxInfo(running, configured, "", True)}, sizing)
    assert found[0][0] is level


@pytest.mark.parametrize(
    ("state", "level"),
    [
        ("active", Level.PASS),
        ("inactive", Level.WARN),
        ("absent", Level.WARN),
        ("failed", Level.WARN),
    ],
)
def test_firewalld(state: str, level: Level) -> None:
    assert levels("firewalld", {"firewalld": FirewalldInfo(state, "nftables")})[0][0] is level


@pytest.mark.parametrize(
    ("time", "level"),
    [
        (TimeInfo("active", True, "chronyc"), Level.PASS),
        (TimeInfo("absent", True, "timedatectl"), Level.PASS),
        (TimeInfo("active", False, "chronyc"), Level.WARN),
        (TimeInfo("inactive", False, "none"), Level.FAIL),
        (TimeInfo("absent", False, "none"), Level.FAIL),
        (TimeInfo("absent", False, "none", ""), Level.FAIL),
        (TimeInfo("inactive", False, "timedatectl", "systemd-nspawn"), Level.WARN),
        (TimeInfo("absent", False, "none", "docker"), Level.WARN),
        (TimeInfo("active", False, "chronyc", "lxc"), Level.WARN),
        (TimeInfo("absent", True, "timedatectl", "systemd-nspawn"), Level.PASS),
    ],
)
def test_time(time: TimeInfo, level: Level) -> None:
    assert levels("time sync", {"time": time})[0][0] is level


def test_time_in_a_container_says_whose_clock_it_is() -> None:
    time = TimeInfo("inactive", False, "timedatectl", "systemd-nspawn")
    inp = CheckInput({**GOOD, "time": time}, SIZING, {}, REACH)
    (result,) = [r for r in run_checks(inp) if r.check == "time sync"]
    assert result.level is Level.WARN
    assert "systemd-nspawn container: its clock is the kernel's" in result.measured
    assert "the machine that runs it" in result.advice


@pytest.mark.parametrize(
    ("reach", "expected"),
    [
        (REACH, [Level.PASS]),
        ((Reach("baseos", "u", 301, 0),), [Level.PASS]),
        ((Reach("baseos", "u", 403, 0),), [Level.FAIL]),
        ((Reach("baseos", "u", 0, 7, "Failed to connect"),), [Level.FAIL]),
        (
            (Reach("baseos", "u", 0, 28, "timed out"), Reach("d", "u", 200, 0)),
            [Level.FAIL, Level.PASS],
        ),
        ((Reach("c", "u", 0, -1, "not asked"),), [Level.WARN]),
        ((), [Level.WARN]),
        (None, [Level.WARN]),  # no curl
        (FactFailure("awk failed"), [Level.WARN]),
    ],
)
def test_repositories(reach, expected: list[Level]) -> None:
    inp = CheckInput(GOOD, SIZING, {}, reach)
    found = [r.level for r in run_checks(inp) if r.check.startswith("repo")]
    assert found == expected


@pytest.mark.parametrize(
    ("packages", "measured"),
    [({"podman": ("1",), "runc": ("1",)}, "podman, runc"), ({"bash": ("5",)}, "none installed")],
)
def test_cleanup_is_information_only(packages: dict, measured: str) -> None:
    assert levels("cleanup", packages=packages) == [(Level.INFO, measured)]


def test_every_check_says_what_to_do_when_it_does_not_pass() -> None:
    bad = {
        "os": OsInfo("debian", "Debian", "12", 12, (), "Debian"),
        "uname": KernelInfo("3.10.0", "x86_64", "h"),
        "hardware": HardwareInfo(1, 512, 0, 0, 0),
        "mounts": (replace(ROOT, fstype="btrfs", size_total=GIB, size_available=0),),
        "selinux": SelinuxInfo("permissive", "enforcing", "", True),
        "firewalld": FirewalldInfo("absent", ""),
        "cgroup": 0,
        "time": TimeInfo("absent", False, "none"),
    }
    inp = CheckInput({**GOOD, **bad}, SIZING, {}, (Reach("r", "u", 0, 7, "x"),))
    results = run_checks(inp)
    assert all(r.level is not Level.PASS for r in results)
    for r in results:
        if r.level in (Level.FAIL, Level.WARN):
            assert r.advice and r.threshold and r.measured, r


# ------------------------------------------------------------------ sizing variables


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"sizing_containers": "many"}, "sizing_containers must be a number"),
        ({"sizing_containers": True}, "sizing_containers must be a number"),
        ({"sizing_os_memory_mb": -1}, "from 0 to 1e9"),
        ({"sizing_docker_data_gb": "nan"}, "from 0 to 1e9"),
        ({"sizing_docker_data_gb": [1]}, "must be a number"),
        ({"container_cleanup_packages": {"a": 1}}, "must be a list of names"),
        ({"docker_data_root": ["/x"]}, "docker_data_root must be text"),
    ],
)
def test_bad_sizing_is_an_input_error(variables: dict, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        sizing_of(variables)
    assert problem in str(caught.value)


def test_sizing_defaults_and_values() -> None:
    default = sizing_of({})
    assert (default.cpus_needed, default.memory_mb_needed) == (2, 2048)
    assert default.data_root == "/var/lib/docker"
    mine = sizing_of(
        {
            "sizing_containers": "8",
            "sizing_cpus_per_container": 0.25,
            "sizing_memory_mb_per_container": 256,
            "docker_data_root": "/srv/docker",
            "dnf_proxy": "http://10.200.0.1:3128",
            "container_cleanup_packages": ["podman"],
            "docker_legacy_packages": ["docker", "podman"],
            "selinux_allowed_modes": ["Enforcing", "Disabled"],
        }
    )
    assert (mine.cpus_needed, mine.memory_mb_needed) == (3, 3072)
    assert mine.cleanup_packages == ("podman", "docker")
    assert mine.selinux_allowed == ("enforcing", "disabled")
    assert mine.data_root == "/srv/docker" and mine.proxy == "http://10.200.0.1:3128"


# ------------------------------------------------------------------ the HEAD fact


def test_reach_command_quotes_the_proxy_and_url() -> None:
    fact = ReachFact("http://p:3128/'; touch /tmp/x; '", "http://r/$(reboot).repo")
    command = fact.command()
    assert "-x 'http://p:3128/'\"'\"'; touch /tmp/x; '\"'\"''" in command
    assert "'http://r/$(reboot).repo'" in command
    assert "--noproxy" in ReachFact("", "").command()


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("baseos\thttp://a/repodata/repomd.xml\t200\t0\t\n", [("baseos", 200, 0, True)]),
        ("a\thttp://a\t000\t7\tcurl: (7) refused\n", [("a", 0, 7, False)]),
        ("a\thttp://a\t407\t0\t\n", [("a", 407, 0, False)]),
        ("c\thttps://m?r=$stream\t000\tvar\n", [("c", 0, -1, False)]),
        ("c\tftp://m\t000\tscheme\n", [("c", 0, -1, False)]),
        ("", []),
    ],
)
def test_reach_parse(stdout: str, expected: list) -> None:
    found = ReachFact("", "").parse(0, stdout.encode(), b"")
    assert [(r.repo, r.code, r.curl_rc, r.ok) for r in found] == expected


@pytest.mark.parametrize("stdout", ["a\tb\n", "a\tb\tcode\t0\t\n", "a\tb\t200\tx\t\n"])
def test_reach_parse_refuses_garbage(stdout: str) -> None:
    with pytest.raises(FactError):
        ReachFact("", "").parse(0, stdout.encode(), b"")


PINNED = "http://10.200.0.1:8080/linux/centos/docker-ce.repo"
HOSTILE_TREES = (("Rocky", "x'; touch /tmp/owned; '"), ("RedHat", "$(reboot)"))


@pytest.mark.parametrize(
    ("os_id", "version", "url", "trees", "pin", "asked"),
    [
        ("rocky", "9.5", PINNED, None, True, "/linux/centos/9/ARCH/stable/repodata/repomd.xml"),
        ("rhel", "9.4", PINNED, None, True, "/linux/rhel/9/ARCH/stable/repodata/repomd.xml"),
        (
            "almalinux",
            "8.10",
            PINNED,
            None,
            True,
            "/linux/centos/8/ARCH/stable/repodata/repomd.xml",
        ),
        ("rocky", "10.0", PINNED, None, True, "/linux/centos/10/ARCH/stable/repodata/repomd.xml"),
        (
            "rocky",
            "9.5",
            PINNED,
            (("Rocky", "rhel"),),
            True,
            "/linux/rhel/9/ARCH/stable/repodata/repomd.xml",
        ),
        ("rocky", "9.5", PINNED, None, False, "/linux/centos/docker-ce.repo"),
        ("centos", "9", PINNED, None, True, "/linux/centos/docker-ce.repo"),
        ("rocky", "9.5", "http://m/own/docker.repo", None, True, "/own/docker.repo"),
        ("rocky", "9.5", PINNED, HOSTILE_TREES, True, "/linux/centos/docker-ce.repo"),
        ("rhel", "", PINNED, None, True, "/linux/centos/docker-ce.repo"),
    ],
)
def test_reach_asks_what_dnf_will_fetch(
    tmp_path: Path, os_id: str, version: str, url: str, trees, pin: bool, asked: str
) -> None:
    """The command runs for real here, with a curl that records what it was asked."""
    import platform
    import subprocess

    os_release = tmp_path / "os-release"
    os_release.write_text(f'ID="{os_id}"\nVERSION_ID="{version}"\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "asked"
    curl = bin_dir / "curl"
    curl.write_text(
        f'#!/bin/sh\nfor a; do last="$a"; done\nprintf "%s\\n" "$last" >> {log}\nprintf 200\n'
    )
    curl.chmod(0o755)
    fact = ReachFact("", url, os_release=str(os_release), pin_major=pin)
    if trees is not None:
        fact = ReachFact("", url, docker_trees=trees, os_release=str(os_release), pin_major=pin)
    done = subprocess.run(
        ["sh", "-c", fact.command()],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    found = [r for r in fact.parse(0, done.stdout, b"") if r.repo.startswith("docker-ce")]
    expected = (
        url[: url.rfind("/linux/")] + asked if "/linux/" in asked and "/linux/" in url else url
    )
    expected = expected.replace("ARCH", platform.machine())
    assert [r.url for r in found] == [expected]
    assert log.read_text().splitlines() == [expected]
    assert not Path("/tmp/owned").exists()


def test_reach_trees_from_variables() -> None:
    from provision.check.reach import DEFAULT_TREES, docker_trees

    assert docker_trees({}) == tuple(DEFAULT_TREES.items())
    assert docker_trees({"docker_repo_trees": "rhel"}) == tuple(DEFAULT_TREES.items())
    assert docker_trees({"docker_repo_trees": {"Rocky": "rhel"}}) == (("Rocky", "rhel"),)


def test_reach_without_curl_is_none() -> None:
    assert ReachFact("", "").parse(127, b"", b"") is None


# ------------------------------------------------------------------ reports


def test_exit_code_json_and_junit(tmp_path: Path) -> None:
    passing = HostCheck("ok1", run_checks(CheckInput(GOOD, SIZING, {}, REACH)))
    failing = HostCheck(
        "bad1", run_checks(CheckInput({**GOOD, "mounts": (ROOT,)}, SIZING, {}, REACH))
    )
    down = HostCheck("down", [], "cannot connect: secret-pw")
    assert check_exit_code([passing]) == 0
    assert check_exit_code([passing, failing]) == 1
    assert check_exit_code([down]) == 1
    masker = Masker(["secret-pw"])
    doc = json.loads(json.dumps(check_document([passing, failing, down], masker)))
    assert doc["exit_code"] == 1
    assert doc["hosts"]["ok1"]["status"] == "pass" and doc["hosts"]["bad1"]["status"] == "fail"
    volume = [r for r in doc["hosts"]["bad1"]["results"] if r["check"] == "docker data volume"]
    assert volume[0]["level"] == "FAIL" and "root file system" in volume[0]["measured"]
    assert "secret-pw" not in json.dumps(doc)
    xml = check_junit([passing, failing, down], masker)
    assert b"secret-pw" not in xml
    root = ElementTree.fromstring(xml)
    suites = {s.get("name"): s for s in root}
    assert suites["ok1"].get("failures") == "0"
    assert suites["bad1"].get("failures") == "1"
    assert suites["down"].get("errors") == "1"
