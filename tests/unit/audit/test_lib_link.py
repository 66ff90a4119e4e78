"""1.1.7 / 1.1.9 on a merged-/usr host: /lib is a symbolic link to usr/lib, so systemd's
/lib/systemd/system/docker.service and an audit rule's /usr/lib/systemd/system/... (or the
other way round) name one file, and the rule counts. Where /lib is a real directory (or
was not seen) the names stay two: the exact-path comparison is unchanged."""

from __future__ import annotations

import shlex

import pytest

from provision.audit.checks import Status, check_by_id
from provision.audit.observe import LIB, Observations, Output, observe

from .helpers import FakeHost, docker_host, fi

P, F = Status.PASS, Status.FAIL
USR = "/usr/lib/systemd/system/"
OLD = "/lib/systemd/system/"
LINK = fi(LIB, 0o777, kind="symbolic link")
DIRECTORY = fi(LIB, 0o555, kind="directory")


def host(unit_dir: str, lib: object, live: list[str] | None, persisted: list[str]) -> Observations:
    """The engine with its units reported under `unit_dir`; /lib as `lib` (None: not stat'ed)."""
    obs = docker_host(audit_live=live, audit_persisted=persisted)
    obs.units = {
        unit: {"Id": unit, "FragmentPath": unit_dir + unit}
        for unit in ("docker.service", "docker.socket")
    }
    obs.files = {p: f for p, f in obs.files.items() if "/systemd/" not in p}
    for unit in ("docker.service", "docker.socket"):
        obs.files[unit_dir + unit] = fi(unit_dir + unit)
    if lib is not None:
        obs.files[LIB] = lib  # type: ignore[assignment]
    if live is None:
        obs.audit_live_error = "Cannot open netlink audit socket"
    return obs


def rules(rule_dir: str, *more: str) -> list[str]:
    return [
        f"-w {rule_dir}docker.service -p wa -k docker",
        f"-w {rule_dir}docker.socket -p wa -k docker",
        *more,
    ]


# (unit spelled under, /lib, loaded rules, persisted rules, status, in the detail)
CASES = {
    # the lab: Debian's systemd says /lib, the role writes /usr/lib, /lib is a link
    "lab-persisted-only": (OLD, LINK, None, rules(USR), P, "persisted rules"),
    "lab-loaded": (OLD, LINK, rules(USR), rules(USR), P, "loaded audit rule"),
    "lab-persisted-not-loaded": (OLD, LINK, [], rules(USR), F, "not loaded"),
    "lab-no-rule": (OLD, LINK, [], [], F, "no audit rule watches /lib/systemd"),
    # the other way round: the unit under /usr/lib, the rule under /lib
    "rule-under-lib": (USR, LINK, rules(OLD), [], P, "loaded audit rule"),
    "rule-under-lib-persisted": (USR, LINK, None, rules(OLD), P, "persisted rules"),
    # both spelled alike: as before, link or not
    "same-usr": (USR, LINK, rules(USR), [], P, "loaded"),
    "same-lib": (OLD, LINK, rules(OLD), [], P, "loaded"),
    "same-usr-directory": (USR, DIRECTORY, rules(USR), [], P, "loaded"),
    # /lib a real directory (no merged /usr): two files, the rule does not count
    "directory-lib-unit": (OLD, DIRECTORY, rules(USR), [], F, "no audit rule watches"),
    "directory-lib-rule": (USR, DIRECTORY, rules(OLD), [], F, "no audit rule watches"),
    "directory-persisted": (OLD, DIRECTORY, None, rules(USR), F, "no audit rule watches"),
    # /lib not seen (an older observation): exact paths only
    "lib-unknown": (OLD, None, rules(USR), [], F, "no audit rule watches"),
    # only /lib/... is folded: /lib64, /libexec, /usr/lib itself stay what they are
    "lib64-rule": (OLD, LINK, rules("/lib64/systemd/system/"), [], F, "no audit rule"),
    "libexec-rule": (OLD, LINK, rules("/libexec/systemd/system/"), [], F, "no audit rule"),
    "usr-usr-lib-rule": (OLD, LINK, rules("/usr/usr/lib/systemd/system/"), [], F, "no audit"),
    "parent-dir-rule": (OLD, LINK, ["-w /usr/lib/systemd/system -k docker"], [], F, "no audit"),
    "trailing-slash-rule": (OLD, LINK, rules(USR, "-w /usr/lib/ -k x"), [], P, "loaded"),
    "syscall-path-rule": (
        OLD,
        LINK,
        [
            f"-a always,exit -F path={USR}docker.service -F perm=wa -k docker",
            f"-a always,exit -F path={USR}docker.socket -F perm=wa -k docker",
        ],
        [],
        P,
        "loaded",
    ),
    # a link, but the rule names another unit's file
    "other-file": (OLD, LINK, rules(USR.replace("system/", "user/")), [], F, "no audit rule"),
}


@pytest.mark.parametrize("check_id", ["1.1.7", "1.1.9"])
@pytest.mark.parametrize(
    ("unit_dir", "lib", "live", "persisted", "status", "detail"),
    CASES.values(),
    ids=CASES.keys(),
)
def test_lib_and_usr_lib_are_one_path_when_lib_is_a_link(
    check_id: str,
    unit_dir: str,
    lib: object,
    live: list[str] | None,
    persisted: list[str],
    status: Status,
    detail: str,
) -> None:
    finding = check_by_id(check_id).decide(host(unit_dir, lib, live, persisted))
    assert finding.status is status, finding
    assert detail in finding.detail, finding
    unit = "docker.service" if check_id == "1.1.7" else "docker.socket"
    assert unit_dir + unit in finding.detail  # the path as systemd reports it


@pytest.mark.parametrize(
    ("path", "lib", "want"),
    [
        ("/lib/systemd/system/docker.service", LINK, "/usr/lib/systemd/system/docker.service"),
        ("/lib/x", LINK, "/usr/lib/x"),
        ("/lib", LINK, "/lib"),
        ("/lib64/x", LINK, "/lib64/x"),
        ("/library/x", LINK, "/library/x"),
        ("/usr/lib/x", LINK, "/usr/lib/x"),
        ("/etc/lib/x", LINK, "/etc/lib/x"),
        ("/lib/x", DIRECTORY, "/lib/x"),
        ("/lib/x", fi(LIB, 0o644), "/lib/x"),
        ("/lib/x", None, "/lib/x"),
    ],
)
def test_one_path(path: str, lib: object, want: str) -> None:
    obs = Observations()
    if lib is not None:
        obs.files[LIB] = lib  # type: ignore[assignment]
    assert obs.one_path(path) == want


def test_observe_stats_lib_without_following_it() -> None:
    fake = FakeHost(
        {"units": Output(0, f"Id=docker.service\nFragmentPath={OLD}docker.service\n")},
        stat_lines=(
            f"root|root|777|symbolic link|/lib\nroot|root|644|regular file|{OLD}docker.service\n"
        ),
    )
    obs = observe(fake)
    (stat,) = [c for c in fake.commands if "stat -c" in c]
    words = shlex.split(stat)
    assert LIB in words and "-L" not in words and "--dereference" not in words
    assert obs.files[LIB].kind == "symbolic link"
    assert obs.one_path(obs.unit_path("docker.service")) == USR + "docker.service"
