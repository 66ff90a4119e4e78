"""Each check's decision over hand-made observations: pass, fail, info and n/a cases,
table-driven. The audit-rule and file checks are generated per row of their tables; every
check of the table must be covered by at least two cases with different outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from provision.audit.checks import AUDITED, CHECKS, FILES, Status, check_by_id
from provision.audit.observe import Observations
from provision.audit.run import judge

from .helpers import SERVICE, SOCKET, docker_host, fi

P, F, INFO, NA = Status.PASS, Status.FAIL, Status.INFO, Status.NA
Case = tuple[str, Callable[[], Observations], Status, str]


def cfg(**settings: object) -> Callable[[], Observations]:
    """The engine with these daemon.json settings (keys with `_` spelled `-`)."""
    return lambda: docker_host(daemon_json={k.replace("_", "-"): v for k, v in settings.items()})


def args(*argv: str) -> Callable[[], Observations]:
    return lambda: docker_host(dockerd_args=["/usr/bin/dockerd", *argv])


def info(**docker_info: object) -> Callable[[], Observations]:
    return lambda: docker_host(docker_info=docker_info)


def no_docker() -> Observations:
    return Observations()


def with_files(*extra: object, drop: tuple[str, ...] = ()) -> Callable[[], Observations]:
    def build() -> Observations:
        obs = docker_host()
        for path in drop:
            obs.files.pop(path, None)
        for f in extra:
            obs.files[f.path] = f  # type: ignore[attr-defined]
        return obs

    return build


HAND: list[Case] = [
    # 1.1.1 separate partition
    ("1.1.1", lambda: docker_host(mount_target="/var/lib/docker"), P, "is a mount point"),
    ("1.1.1", lambda: docker_host(fstab=[("/dev/vg/docker", "/var/lib/docker")]), P, "fstab"),
    ("1.1.1", lambda: docker_host(mount_target="/"), F, "is on /, not its own"),
    ("1.1.1", docker_host, F, "root filesystem"),
    ("1.1.1", with_files(drop=("/var/lib/docker",)), F, "does not exist"),
    (
        "1.1.1",
        lambda: docker_host(daemon_json={"data-root": "/srv/docker"}, mount_target="/srv/docker"),
        P,
        "/srv/docker is a mount point",
    ),
    # the container lab: a directory of the machine's disk bound onto /var/lib/docker
    (
        "1.1.1",
        lambda: docker_host(
            mount_target="/var/lib/docker",
            mount_source="/dev/vda[/var/lib/provision-lab/hosts/rocky1/docker]",
            mount_fstype="ext4",
        ),
        P,
        "a bind mount of /var/lib/provision-lab/hosts/rocky1/docker on /dev/vda (ext4);"
        " check that /dev/vda is not the root filesystem's disk",
    ),
    (
        "1.1.1",
        lambda: docker_host(
            mount_target="/var/lib/docker",
            mount_source="/dev/mapper/vg-docker",
            mount_fstype="xfs",
        ),
        P,
        "/var/lib/docker is a mount point (/dev/mapper/vg-docker, xfs)",
    ),
    (
        "1.1.1",
        lambda: docker_host(mount_target="/var/lib/docker", mount_source="/dev/sdb1[/docker]"),
        P,
        "a bind mount of /docker on /dev/sdb1; check",
    ),
    # a mount of another path does not count
    ("1.1.1", lambda: docker_host(mount_target="/var/lib"), F, "is on /var/lib"),
    # 1.1.2 trusted users (manual)
    ("1.1.2", lambda: docker_host(docker_group=["alice", "bob"]), INFO, "alice, bob"),
    ("1.1.2", docker_host, INFO, "none"),
    ("1.1.2", no_docker, NA, "not installed"),
    # 2.2 icc
    ("2.2", cfg(icc=False), P, "icc: False"),
    ("2.2", cfg(icc=True), F, "want false"),
    ("2.2", docker_host, F, "engine default: true"),
    ("2.2", args("--icc=false"), P, "icc"),
    ("2.2", args("--icc=0"), P, "icc"),
    ("2.2", args("--icc"), F, "want false"),
    # the command line wins over daemon.json
    (
        "2.2",
        lambda: docker_host(
            daemon_json={"icc": False}, dockerd_args=["/usr/bin/dockerd", "--icc=true"]
        ),
        F,
        "want false",
    ),
    ("2.2", no_docker, NA, "not installed"),
    ("2.2", lambda: docker_host(daemon_json_error="not valid JSON"), F, "not valid JSON"),
    # 2.3 log level
    ("2.3", docker_host, P, "not set"),
    ("2.3", cfg(log_level="info"), P, "info"),
    ("2.3", cfg(log_level="debug"), F, "want info"),
    ("2.3", args("-l", "warn"), F, "warn"),
    ("2.3", args("-D"), F, "debug is on"),
    ("2.3", cfg(debug=True), F, "debug is on"),
    # 2.4 iptables
    ("2.4", docker_host, P, "engine default"),
    ("2.4", cfg(iptables=False), F, "want true"),
    ("2.4", args("--iptables=false"), F, "want true"),
    ("2.4", cfg(iptables=True), P, "iptables"),
    # 2.5 insecure registries
    ("2.5", docker_host, P, "no insecure"),
    ("2.5", cfg(insecure_registries=["10.0.0.1:5000"]), F, "10.0.0.1:5000"),
    (
        "2.5",
        args("--insecure-registry", "r:5000", "--insecure-registry=s:5000"),
        F,
        "r:5000, s:5000",
    ),
    ("2.5", cfg(insecure_registries=[]), P, "no insecure"),
    # 2.6 aufs
    ("2.6", info(Driver="aufs"), F, "aufs"),
    (
        "2.6",
        lambda: docker_host(docker_info=None, daemon_json={"storage-driver": "aufs"}),
        F,
        "aufs",
    ),
    ("2.6", info(Driver="overlay2"), P, "overlay2"),
    ("2.6", lambda: docker_host(docker_info=None), P, "engine default"),
    # 2.7 TLS on TCP
    ("2.7", docker_host, NA, "does not listen on TCP"),
    ("2.7", cfg(hosts=["unix:///var/run/docker.sock"]), NA, "TCP"),
    ("2.7", cfg(hosts=["tcp://0.0.0.0:2375"]), F, "without TLS"),
    ("2.7", cfg(hosts="tcp://0.0.0.0:2375"), F, "without TLS"),
    ("2.7", cfg(hosts=["tcp://0.0.0.0:2376"], tls=True), F, "no client verification"),
    ("2.7", cfg(hosts=["tcp://0.0.0.0:2376"], tlsverify=True), P, "with tlsverify"),
    ("2.7", args("-H", "tcp://1.2.3.4:2376", "--tlsverify"), P, "tcp://1.2.3.4:2376"),
    # 2.8 default ulimits (manual)
    ("2.8", docker_host, INFO, "not set"),
    ("2.8", cfg(default_ulimits={"nofile": {"Soft": 1024, "Hard": 2048}}), P, "nofile"),
    ("2.8", no_docker, NA, "not installed"),
    # 2.9 userns
    ("2.9", docker_host, F, "not set"),
    ("2.9", cfg(userns_remap="default"), P, "default"),
    ("2.9", cfg(userns_remap=""), F, "not set"),
    # 2.10 cgroup parent
    ("2.10", docker_host, P, "not set"),
    ("2.10", cfg(cgroup_parent="containers.slice"), INFO, "containers.slice"),
    # 2.11 base size
    ("2.11", docker_host, P, "not set"),
    ("2.11", cfg(storage_opts=["dm.basesize=20G"]), F, "dm.basesize"),
    ("2.11", cfg(storage_opts=["overlay2.size=1G"]), P, "not set"),
    # 2.12 authorization
    ("2.12", docker_host, F, "no authorization plugin"),
    ("2.12", cfg(authorization_plugins=["authz-broker"]), P, "authz-broker"),
    ("2.12", args("--authorization-plugin=opa"), P, "opa"),
    # 2.13 central logging
    ("2.13", docker_host, F, "json-file"),
    ("2.13", info(LoggingDriver="journald"), P, "journald"),
    (
        "2.13",
        lambda: docker_host(docker_info=None, daemon_json={"log-driver": "syslog"}),
        P,
        "syslog",
    ),
    ("2.13", lambda: docker_host(docker_info=None), F, "json-file"),
    ("2.13", info(LoggingDriver="local"), F, "local"),
    # 2.14 no-new-privileges
    ("2.14", docker_host, F, "not set"),
    ("2.14", cfg(no_new_privileges=True), P, "true"),
    ("2.14", cfg(no_new_privileges=False), F, "not set"),
    ("2.14", args("--no-new-privileges"), P, "true"),
    ("2.14", cfg(no_new_privileges="true"), F, "not set"),  # a string is not a boolean
    # 2.15 live restore
    ("2.15", docker_host, F, "live-restore off"),
    ("2.15", cfg(live_restore=True), P, "true"),
    ("2.15", info(LiveRestoreEnabled=True), P, "true"),
    ("2.15", info(LiveRestoreEnabled=False, Swarm={"LocalNodeState": "active"}), NA, "Swarm"),
    ("2.15", info(Swarm={"LocalNodeState": "inactive"}), F, "off"),
    # 2.16 userland proxy
    ("2.16", docker_host, F, "engine default: true"),
    ("2.16", cfg(userland_proxy=False), P, "userland-proxy"),
    ("2.16", args("--userland-proxy=false"), P, "userland-proxy"),
    ("2.16", cfg(userland_proxy=True), F, "want false"),
    # 2.17 seccomp (manual)
    ("2.17", cfg(seccomp_profile="/etc/docker/seccomp.json"), INFO, "/etc/docker/seccomp.json"),
    ("2.17", info(SecurityOptions=["name=seccomp,profile=default"]), INFO, "default seccomp"),
    ("2.17", lambda: docker_host(docker_info=None), INFO, "no seccomp-profile"),
    ("2.17", no_docker, NA, "not installed"),
    # 2.18 experimental
    ("2.18", docker_host, P, "off"),
    ("2.18", cfg(experimental=True), F, "on"),
    ("2.18", info(ExperimentalBuild=True), F, "on"),
    # 2.P1 log rotation
    ("2.P1", docker_host, F, "without max-size"),
    ("2.P1", cfg(log_opts={"max-size": "10m", "max-file": "3"}), P, "max-size 10m, max-file 3"),
    ("2.P1", cfg(log_opts={"max-file": "3"}), F, "without max-size"),
    ("2.P1", info(LoggingDriver="local"), P, "local default"),
    ("2.P1", info(LoggingDriver="journald"), NA, "keeps no log files"),
    ("2.P1", args("--log-opt", "max-size=5m"), F, "without max-size"),  # not merged: key=value
    # 3.7 / 3.8 registry certificates
    ("3.7", docker_host, NA, "no registry certificates"),
    ("3.8", docker_host, NA, "no registry certificates"),
    (
        "3.7",
        lambda: docker_host(certs=[fi("/etc/docker/certs.d/r/ca.crt", 0o444)]),
        P,
        "1 registry",
    ),
    (
        "3.7",
        lambda: docker_host(certs=[fi("/etc/docker/certs.d/r/ca.crt", 0o444, owner="bob")]),
        F,
        "/etc/docker/certs.d/r/ca.crt",
    ),
    ("3.8", lambda: docker_host(certs=[fi("/etc/docker/certs.d/r/ca.crt", 0o400)]), P, "all 0444"),
    (
        "3.8",
        lambda: docker_host(certs=[fi("/etc/docker/certs.d/r/ca.crt", 0o644)]),
        F,
        "ca.crt (0644)",
    ),
]


def _audit_cases() -> list[Case]:
    cases: list[Case] = []
    for check_id, _what, path_of in AUDITED:
        path = path_of(docker_host()) or "/x"

        def present(
            live: list[str] | None = None,
            persisted: list[str] | None = None,
            error: str = "",
            path: str = path,
        ) -> Callable[[], Observations]:
            def build() -> Observations:
                obs = docker_host(
                    audit_live=live, audit_persisted=persisted or [], audit_live_error=error
                )
                obs.files.setdefault(path, fi(path))
                return obs

            return build

        cases += [
            (check_id, present([f"-w {path} -p wa -k docker"]), P, "loaded audit rule"),
            (check_id, present([f"-w {path}/ -p wa -k docker"]), P, "loaded audit rule"),
            (check_id, present([f"-a always,exit -F path={path} -k docker"]), P, "loaded"),
            (check_id, present([]), F, "no audit rule watches"),
            # a longer path with the same prefix is not a watch of this path
            (check_id, present([f"-w {path}x -p wa"]), F, "no audit rule watches"),
            (check_id, present([], [f"-w {path} -k docker"]), F, "not loaded"),
            (
                check_id,
                present(None, [f"-w {path} -k docker"], "Cannot open netlink audit socket"),
                P,
                "persisted rules",
            ),
            (
                check_id,
                present(None, [], "Cannot open netlink audit socket"),
                F,
                "Cannot open netlink audit socket",
            ),
        ]
        cases.append((check_id, lambda p=path: _without(p), NA, "not found"))
    return cases


def _without(path: str) -> Observations:
    obs = docker_host(audit_live=[f"-w {path} -k docker"])
    obs.files.pop(path, None)
    obs.units = {} if path in (SERVICE, SOCKET) else obs.units
    return obs


def _file_cases() -> list[Case]:
    cases: list[Case] = []
    for owner_id, mode_id, _what, path_of, owner, group, most, _var in FILES:
        probe = docker_host(
            daemon_json={"tlscacert": "/c/ca.pem", "tlscert": "/c/cert.pem", "tlskey": "/c/key.pem"}
        )
        path = path_of(probe)

        def build(
            mode: int,
            who: str = owner,
            grp: str = group,
            present: bool = True,
            path: str = path,
            probe: Observations = probe,
        ) -> Callable[[], Observations]:
            def make() -> Observations:
                obs = replace(probe, files=dict(probe.files))
                obs.files.pop(path, None)
                if present:
                    obs.files[path] = fi(path, mode, who, grp)
                return obs

            return make

        looser = most | 0o002 if most & 0o002 == 0 else most | 0o1000
        cases += [
            (owner_id, build(most), P, f"{owner}:{group}"),
            (owner_id, build(most, who="nobody"), F, f"want {owner}:{group}"),
            (owner_id, build(most, grp="wheel"), F, "nobody:wheel" if False else "wheel"),
            (owner_id, build(most, present=False), NA, "not found"),
            (mode_id, build(most), P, f"mode {most:04o}"),
            (mode_id, build(most & 0o400), P, "mode"),
            (mode_id, build(looser), F, f"want {most:04o} or stricter"),
            (mode_id, build(most | 0o4000), F, "or stricter"),  # setuid is never allowed
            (mode_id, build(most, present=False), NA, "not found"),
        ]
    return cases


CASES = HAND + _audit_cases() + _file_cases()


@pytest.mark.parametrize(
    ("check_id", "build", "status", "seen"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_decision(
    check_id: str, build: Callable[[], Observations], status: Status, seen: str
) -> None:
    finding = check_by_id(check_id).decide(build())
    assert (finding.status, seen in finding.detail) == (status, True), finding


def test_every_check_has_cases_with_two_outcomes() -> None:
    outcomes: dict[str, set[Status]] = {}
    for check_id, _b, status, _s in CASES:
        outcomes.setdefault(check_id, set()).add(status)
    thin = [c.id for c in CHECKS if len(outcomes.get(c.id, set())) < 2]
    assert thin == []


@pytest.mark.parametrize("check", [c for c in CHECKS if c.id.startswith(("2.", "3.1", "3.2"))])
def test_daemon_checks_are_na_without_docker(check: object) -> None:
    assert check.decide(Observations()).status is NA  # type: ignore[attr-defined]


def test_table_is_well_formed() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 60
    for check in CHECKS:
        assert check.title and check.how and check.remedy and check.variable, check.id
        assert check.level in (1, 2), check.id
        assert "\n" not in check.title + check.how + check.remedy + check.variable
    assert [c.id for c in CHECKS if not c.scored] == ["1.1.2", "2.8", "2.17"]


def test_fresh_engine_host_scores() -> None:
    audit = judge("h", docker_host())
    assert (audit.passed, audit.failed) == (17, 15)
    assert audit.score == 53.1


def test_a_crashing_decision_fails_that_check_only() -> None:
    obs = docker_host(daemon_json={"log-opts": "max-size=1m"})  # not a mapping
    audit = judge("h", obs)
    statuses = {c.id: f for c, f in audit.results}
    assert statuses["2.P1"].status is F
    assert len(audit.results) == 60
