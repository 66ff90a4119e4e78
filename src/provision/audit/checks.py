"""The audit's table: the host and daemon checks of the CIS Docker Benchmark (v1.6.0
numbering, the checks Docker Bench for Security runs in its sections 1, 2 and 3).

Each row: id, title, level (CIS profile level 1 or 2), scored (counts in the score) or
manual (shown, never counted), how provision checks it, the remedy, and the variable of
this project's roles that applies the remedy. `decide(observations)` is pure: it returns
PASS, FAIL, INFO (a manual check's finding) or NA (nothing to check on this host, e.g. the
file does not exist, or Docker is not installed) with what it saw.

Written for provision from the benchmark's published recommendations; the decisions are
our own (e.g. an audit watch counts only for the exact path, not a substring of a line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from provision.audit.observe import (
    CONTAINERD_SOCK,
    DAEMON_JSON,
    DOCKER_SOCK,
    Observations,
    bind_source,
    setting,
    tls_paths,
    watched_paths,
)


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INFO = "info"
    NA = "n/a"


@dataclass(frozen=True)
class Finding:
    status: Status
    detail: str


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    level: int
    scored: bool
    how: str
    remedy: str
    variable: str
    decide: Callable[[Observations], Finding]

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]


def ok(detail: str) -> Finding:
    return Finding(Status.PASS, detail)


def bad(detail: str) -> Finding:
    return Finding(Status.FAIL, detail)


def info(detail: str) -> Finding:
    return Finding(Status.INFO, detail)


def na(detail: str) -> Finding:
    return Finding(Status.NA, detail)


NO_DOCKER = "Docker is not installed (no dockerd, no docker.service)"
AUDIT_VAR = "docker_audit_rules_enabled, docker_audit_rules_paths (role docker_audit_rules)"
MODES_VAR = "docker_file_modes_enabled (role docker_file_modes)"


def _needs_docker(decide: Callable[[Observations], Finding]) -> Callable[[Observations], Finding]:
    def wrapped(obs: Observations) -> Finding:
        if not obs.docker_installed:
            return na(NO_DOCKER)
        if obs.daemon_json_error:
            return bad(obs.daemon_json_error)
        return decide(obs)

    return wrapped


# ------------------------------------------------------------------ section 1: host


def _partition(obs: Observations) -> Finding:
    root = obs.data_root
    if obs.mount_target == root:
        seen = ", ".join(x for x in (obs.mount_source, obs.mount_fstype) if x)
        device, directory = bind_source(obs.mount_source)
        if device:
            # a directory of another filesystem bound here: a mount point, as the benchmark
            # asks (Docker Bench: `mountpoint`), but its own disk only if that device is
            # not the one the root filesystem uses (the container lab: docs/lab.md)
            return ok(
                f"{root} is a mount point: a bind mount of {directory} on {device}"
                f"{f' ({obs.mount_fstype})' if obs.mount_fstype else ''}; check that"
                f" {device} is not the root filesystem's disk"
            )
        return ok(f"{root} is a mount point" + (f" ({seen})" if seen else ""))
    for device, mount in obs.fstab:
        if mount == root:
            return ok(f"{root} is in /etc/fstab ({device})")
    if root not in obs.files:
        return bad(f"{root} does not exist and /etc/fstab has no entry for it")
    return bad(f"{root} is on {obs.mount_target or 'the root filesystem'}, not its own")


def _trusted_users(obs: Observations) -> Finding:
    if not obs.docker_installed:
        return na(NO_DOCKER)
    members = ", ".join(obs.docker_group) or "none"
    return info(f"docker group members (root-equivalent): {members}")


def _audited(
    path_of: Callable[[Observations], str], what: str
) -> Callable[[Observations], Finding]:
    def decide(obs: Observations) -> Finding:
        path = path_of(obs)
        if not path or path not in obs.files:
            return na(f"{path or what} not found")

        def watched(rules: list[str]) -> bool:  # /lib/X and /usr/lib/X: one file (merged /usr)
            return obs.one_path(path) in {obs.one_path(p) for p in watched_paths(rules)}

        if obs.audit_live is not None:
            if watched(obs.audit_live):
                return ok(f"{path} is watched by a loaded audit rule")
            if watched(obs.audit_persisted):
                return bad(f"{path}: rule persisted but not loaded (run augenrules --load)")
            return bad(f"no audit rule watches {path}")
        if watched(obs.audit_persisted):
            return ok(
                f"{path} is watched in the persisted rules; the loaded rules could not be read"
                f" ({obs.audit_live_error})"
            )
        return bad(
            f"no audit rule watches {path} (loaded rules unreadable: {obs.audit_live_error})"
        )

    return decide


def _fixed(path: str) -> Callable[[Observations], str]:
    return lambda obs: path


def _unit(unit: str) -> Callable[[Observations], str]:
    return lambda obs: obs.unit_path(unit)


def _data_root(obs: Observations) -> str:
    return obs.data_root


AUDITED = (
    ("1.1.3", "dockerd", _fixed("/usr/bin/dockerd")),
    ("1.1.4", "/run/containerd", _fixed("/run/containerd")),
    ("1.1.5", "/var/lib/docker", _data_root),
    ("1.1.6", "/etc/docker", _fixed("/etc/docker")),
    ("1.1.7", "docker.service", _unit("docker.service")),
    ("1.1.8", "containerd.sock", _fixed(CONTAINERD_SOCK)),
    ("1.1.9", "docker.socket", _unit("docker.socket")),
    ("1.1.10", "/etc/default/docker", _fixed("/etc/default/docker")),
    ("1.1.11", "/etc/docker/daemon.json", _fixed(DAEMON_JSON)),
    ("1.1.12", "/etc/containerd/config.toml", _fixed("/etc/containerd/config.toml")),
    ("1.1.13", "/etc/sysconfig/docker", _fixed("/etc/sysconfig/docker")),
    ("1.1.14", "/usr/bin/containerd", _fixed("/usr/bin/containerd")),
    ("1.1.15", "/usr/bin/containerd-shim", _fixed("/usr/bin/containerd-shim")),
    ("1.1.16", "/usr/bin/containerd-shim-runc-v1", _fixed("/usr/bin/containerd-shim-runc-v1")),
    ("1.1.17", "/usr/bin/containerd-shim-runc-v2", _fixed("/usr/bin/containerd-shim-runc-v2")),
    ("1.1.18", "/usr/bin/runc", _fixed("/usr/bin/runc")),
)


def _audit_checks() -> list[Check]:
    checks = []
    for check_id, what, path_of in AUDITED:
        checks.append(
            Check(
                check_id,
                f"Auditing is configured for {what}",
                2 if check_id != "1.1.3" else 1,
                True,
                f"a loaded audit rule (`auditctl -l`) watches {what}'s exact path (`-w PATH` or"
                " `-F path=`/`-F dir=`); where the loaded rules cannot be read, the persisted"
                " rules in /etc/audit/rules.d and audit.rules; n/a when the path does not exist",
                f"add `-w {what if what.startswith('/') else 'PATH'} -k docker` to"
                " /etc/audit/rules.d/docker.rules, then `augenrules --load`",
                AUDIT_VAR,
                _audited(path_of, what),
            )
        )
    return checks


# ------------------------------------------------------------------ section 2: daemon


def _flag_is(key: str, wanted: object, default: object) -> Callable[[Observations], Finding]:
    @_needs_docker
    def decide(obs: Observations) -> Finding:
        value = setting(obs, key)
        shown = "not set (engine default: " + str(default).lower() + ")" if value is None else value
        effective = default if value is None else value
        if effective == wanted:
            return ok(f"{key}: {shown}")
        return bad(f"{key}: {shown}, want {str(wanted).lower()}")

    return decide


@_needs_docker
def _log_level(obs: Observations) -> Finding:
    value = setting(obs, "log-level")
    if setting(obs, "debug") is True:
        return bad("debug is on")
    if value in (None, "", "info"):
        return ok(f"log-level: {value or 'not set (info)'}")
    return bad(f"log-level: {value}, want info")


@_needs_docker
def _insecure(obs: Observations) -> Finding:
    value = setting(obs, "insecure-registries") or []
    if value:
        return bad("insecure registries: " + ", ".join(map(str, value)))
    return ok("no insecure registries")


@_needs_docker
def _aufs(obs: Observations) -> Finding:
    driver = (obs.docker_info or {}).get("Driver") or setting(obs, "storage-driver")
    if driver == "aufs":
        return bad("storage driver aufs")
    return ok(f"storage driver: {driver or 'engine default'}")


@_needs_docker
def _tls(obs: Observations) -> Finding:
    hosts = setting(obs, "hosts") or []
    if isinstance(hosts, str):
        hosts = [hosts]
    tcp = [h for h in hosts if isinstance(h, str) and h.startswith("tcp://")]
    if not tcp:
        return na("the daemon does not listen on TCP")
    if setting(obs, "tlsverify") is True:
        return ok(f"TCP {', '.join(tcp)} with tlsverify")
    if setting(obs, "tls") is True:
        return bad(f"TCP {', '.join(tcp)} with TLS but no client verification (tlsverify)")
    return bad(f"TCP {', '.join(tcp)} without TLS")


@_needs_docker
def _ulimits(obs: Observations) -> Finding:
    value = setting(obs, "default-ulimits")
    if value:
        return ok(
            f"default-ulimits: {', '.join(sorted(value)) if isinstance(value, dict) else value}"
        )
    return info("default-ulimits not set (containers inherit the engine's limits)")


@_needs_docker
def _userns(obs: Observations) -> Finding:
    value = setting(obs, "userns-remap")
    if value:
        return ok(f"userns-remap: {value}")
    return bad("userns-remap not set: root in a container is root on the host")


@_needs_docker
def _cgroup_parent(obs: Observations) -> Finding:
    value = setting(obs, "cgroup-parent")
    if value:
        return info(f"cgroup-parent: {value} (confirm it is the slice you meant)")
    return ok("cgroup-parent not set (the engine's default)")


@_needs_docker
def _basesize(obs: Observations) -> Finding:
    opts = setting(obs, "storage-opts") or []
    if any("dm.basesize" in str(o) for o in opts):
        return bad("storage-opts sets dm.basesize")
    return ok("dm.basesize not set")


@_needs_docker
def _authz(obs: Observations) -> Finding:
    value = setting(obs, "authorization-plugins") or []
    if value:
        return ok("authorization plugins: " + ", ".join(map(str, value)))
    return bad("no authorization plugin: anyone with the socket may do anything")


REMOTE_DRIVERS = (
    "journald",
    "syslog",
    "fluentd",
    "gelf",
    "awslogs",
    "splunk",
    "gcplogs",
    "etwlogs",
)
FILE_DRIVERS = ("json-file", "local")


def _log_driver(obs: Observations) -> str:
    info_driver = (obs.docker_info or {}).get("LoggingDriver")
    return str(info_driver or setting(obs, "log-driver") or "json-file")


@_needs_docker
def _central_logging(obs: Observations) -> Finding:
    driver = _log_driver(obs)
    if driver in REMOTE_DRIVERS:
        return ok(f"log driver {driver} (the host's log system or a remote receiver)")
    return bad(f"log driver {driver}: container logs stay in files on this host")


@_needs_docker
def _no_new_privs(obs: Observations) -> Finding:
    if setting(obs, "no-new-privileges") is True:
        return ok("no-new-privileges: true")
    return bad("no-new-privileges not set: setuid binaries in containers can gain privileges")


@_needs_docker
def _live_restore(obs: Observations) -> Finding:
    info_value = (obs.docker_info or {}).get("LiveRestoreEnabled")
    if info_value is True or setting(obs, "live-restore") is True:
        return ok("live-restore: true")
    swarm = ((obs.docker_info or {}).get("Swarm") or {}).get("LocalNodeState")
    if swarm == "active":
        return na("Swarm mode is active (live-restore does not apply)")
    return bad("live-restore off: a restart of dockerd stops the containers")


@_needs_docker
def _seccomp(obs: Observations) -> Finding:
    profile = setting(obs, "seccomp-profile")
    if profile:
        return info(f"daemon-wide seccomp profile: {profile}")
    options = (obs.docker_info or {}).get("SecurityOptions") or []
    if any("name=seccomp,profile=default" in str(o) for o in options):
        return info("Docker's default seccomp profile is applied")
    if obs.docker_info is None:
        return info("no seccomp-profile set (Docker's default profile applies)")
    return info("seccomp is not listed in the engine's security options")


@_needs_docker
def _experimental(obs: Observations) -> Finding:
    value = setting(obs, "experimental")
    running = (obs.docker_info or {}).get("ExperimentalBuild")
    if value is True or running is True:
        return bad("experimental features are on")
    return ok("experimental: off")


@_needs_docker
def _log_rotation(obs: Observations) -> Finding:
    driver = _log_driver(obs)
    if driver not in FILE_DRIVERS:
        return na(f"log driver {driver} keeps no log files of its own")
    opts = setting(obs, "log-opts") or {}
    size = opts.get("max-size") if isinstance(opts, dict) else None
    if driver == "local" or size:
        return ok(
            f"{driver}: max-size {size or '20m (local default)'}, max-file "
            f"{(opts or {}).get('max-file', 'default')}"
        )
    return bad(f"{driver} without max-size: a chatty container can fill the disk")


# ------------------------------------------------------------------ section 3: files


def _owned(
    path_of: Callable[[Observations], str], what: str, owner: str, group: str
) -> Callable[[Observations], Finding]:
    def decide(obs: Observations) -> Finding:
        path = path_of(obs)
        found = obs.files.get(path) if path else None
        if found is None:
            return na(f"{path or what} not found")
        if (found.owner, found.group) == (owner, group):
            return ok(f"{path} {found.owner}:{found.group}")
        return bad(f"{path} is {found.owner}:{found.group}, want {owner}:{group}")

    return decide


def _mode(
    path_of: Callable[[Observations], str], what: str, most: int
) -> Callable[[Observations], Finding]:
    def decide(obs: Observations) -> Finding:
        path = path_of(obs)
        found = obs.files.get(path) if path else None
        if found is None:
            return na(f"{path or what} not found")
        if found.mode & ~most & 0o7777:
            return bad(f"{path} has mode {found.mode:04o}, want {most:04o} or stricter")
        return ok(f"{path} mode {found.mode:04o}")

    return decide


def _certs_owned(obs: Observations) -> Finding:
    if not obs.certs:
        return na("no registry certificates in /etc/docker/certs.d")
    wrong = [c.path for c in obs.certs if (c.owner, c.group) != ("root", "root")]
    if wrong:
        return bad("not root:root: " + ", ".join(wrong))
    return ok(f"{len(obs.certs)} registry certificate files, all root:root")


def _certs_mode(obs: Observations) -> Finding:
    if not obs.certs:
        return na("no registry certificates in /etc/docker/certs.d")
    wrong = [f"{c.path} ({c.mode:04o})" for c in obs.certs if c.mode & ~0o444 & 0o7777]
    if wrong:
        return bad("more than 0444: " + ", ".join(wrong))
    return ok(f"{len(obs.certs)} registry certificate files, all 0444 or stricter")


def _tls_file(key: str) -> Callable[[Observations], str]:
    return lambda obs: tls_paths(obs).get(key, "")


FILES = (
    # id owner, id mode, title, path, owner, group, most, variable
    ("3.1", "3.2", "docker.service", _unit("docker.service"), "root", "root", 0o644, MODES_VAR),
    ("3.3", "3.4", "docker.socket", _unit("docker.socket"), "root", "root", 0o644, MODES_VAR),
    ("3.5", "3.6", "/etc/docker", _fixed("/etc/docker"), "root", "root", 0o755, MODES_VAR),
    (
        "3.9",
        "3.10",
        "the TLS CA certificate (tlscacert)",
        _tls_file("tlscacert"),
        "root",
        "root",
        0o444,
        "—",
    ),
    (
        "3.11",
        "3.12",
        "the daemon's TLS certificate (tlscert)",
        _tls_file("tlscert"),
        "root",
        "root",
        0o444,
        "—",
    ),
    (
        "3.13",
        "3.14",
        "the daemon's TLS key (tlskey)",
        _tls_file("tlskey"),
        "root",
        "root",
        0o400,
        "—",
    ),
    (
        "3.15",
        "3.16",
        "docker.sock",
        _fixed(DOCKER_SOCK),
        "root",
        "docker",
        0o660,
        "— (the engine creates it so)",
    ),
    (
        "3.17",
        "3.18",
        "daemon.json",
        _fixed(DAEMON_JSON),
        "root",
        "root",
        0o644,
        "role docker_engine (always root:root 0644); " + MODES_VAR,
    ),
    (
        "3.19",
        "3.20",
        "/etc/default/docker",
        _fixed("/etc/default/docker"),
        "root",
        "root",
        0o644,
        MODES_VAR,
    ),
    (
        "3.21",
        "3.22",
        "/etc/sysconfig/docker",
        _fixed("/etc/sysconfig/docker"),
        "root",
        "root",
        0o644,
        MODES_VAR,
    ),
    (
        "3.23",
        "3.24",
        "containerd.sock",
        _fixed(CONTAINERD_SOCK),
        "root",
        "root",
        0o660,
        "— (containerd creates it so)",
    ),
)


def _file_checks() -> list[Check]:
    checks = []
    for owner_id, mode_id, what, path_of, owner, group, most, variable in FILES:
        target = what if what.startswith(("/", "the ")) else f"the {what} file"
        checks.append(
            Check(
                owner_id,
                f"Ownership of {target} is {owner}:{group}",
                1,
                True,
                f"`stat` owner and group of {what}; n/a when it does not exist",
                f"chown {owner}:{group} on {what}",
                variable,
                _owned(path_of, what, owner, group),
            )
        )
        checks.append(
            Check(
                mode_id,
                f"Permissions of {target} are {most:04o} or stricter",
                1,
                True,
                f"`stat` mode of {what} has no bit beyond {most:04o}; n/a when it does not exist",
                f"chmod {most:04o} on {what}",
                variable,
                _mode(path_of, what, most),
            )
        )
    return checks


# ------------------------------------------------------------------ the table

CHECKS: list[Check] = [
    Check(
        "1.1.1",
        "A separate partition for containers (Docker's data root)",
        2,
        True,
        "Docker's data root (daemon.json data-root, else /var/lib/docker) is a mount point"
        " (`findmnt -T`) or has an /etc/fstab entry; a bind mount (findmnt SOURCE"
        " `device[dir]`) is named as such",
        "put the data root on its own volume (LV) before installing the engine",
        "docker_storage_device (role docker_storage)",
        _partition,
    ),
    Check(
        "1.1.2",
        "Only trusted users control the Docker daemon",
        1,
        False,
        "lists the members of the docker group (`getent group docker`) for review",
        "keep the docker group to administrators; it is root-equivalent",
        "docker_users (role docker_engine)",
        _trusted_users,
    ),
    *_audit_checks(),
    Check(
        "2.2",
        "Network traffic is restricted between containers on the default bridge",
        1,
        True,
        "`icc` is false (dockerd's command line, else daemon.json; the engine's default is true)",
        'daemon.json `"icc": false`; containers that must talk use a user-defined network',
        "docker_icc (role docker_engine)",
        _flag_is("icc", False, True),
    ),
    Check(
        "2.3",
        "The logging level is 'info'",
        1,
        True,
        "`log-level` is unset or info, and debug is off",
        'daemon.json `"log-level": "info"` (or leave it out)',
        "docker_daemon_extra (role docker_engine)",
        _log_level,
    ),
    Check(
        "2.4",
        "Docker is allowed to make changes to iptables",
        1,
        True,
        "`iptables` is not false",
        'remove `--iptables=false` / `"iptables": false`',
        "docker_daemon_extra (role docker_engine)",
        _flag_is("iptables", True, True),
    ),
    Check(
        "2.5",
        "Insecure registries are not used",
        1,
        True,
        "`insecure-registries` is empty",
        "serve registries over verified TLS; remove them from insecure-registries",
        "docker_insecure_registries (role docker_engine)",
        _insecure,
    ),
    Check(
        "2.6",
        "The aufs storage driver is not used",
        1,
        True,
        "the running engine's driver (`docker info`), else `storage-driver`, is not aufs",
        "use overlay2",
        "docker_storage_driver (role docker_engine)",
        _aufs,
    ),
    Check(
        "2.7",
        "TLS authentication for the Docker daemon is configured (when it listens on TCP)",
        1,
        True,
        "a tcp:// entry in `hosts` comes with `tlsverify`; n/a without TCP",
        "listen on the unix socket only, or set tlsverify, tlscacert, tlscert, tlskey",
        "docker_daemon_extra (role docker_engine)",
        _tls,
    ),
    Check(
        "2.8",
        "The default ulimit is configured appropriately",
        1,
        False,
        "`default-ulimits` is set (manual: the values are yours to judge)",
        'daemon.json `"default-ulimits"`, e.g. nofile',
        "docker_default_ulimits (role docker_engine)",
        _ulimits,
    ),
    Check(
        "2.9",
        "User namespace support is enabled",
        2,
        True,
        "`userns-remap` is set",
        'daemon.json `"userns-remap": "default"` (test your images first: volumes and'
        " --privileged behave differently)",
        "docker_daemon_extra (role docker_engine)",
        _userns,
    ),
    Check(
        "2.10",
        "The default cgroup usage has been confirmed",
        2,
        True,
        "`cgroup-parent` unset passes; set, it is shown for confirmation (info)",
        "leave cgroup-parent out unless containers belong in a slice of your own",
        "docker_daemon_extra (role docker_engine)",
        _cgroup_parent,
    ),
    Check(
        "2.11",
        "The base device size is not changed until needed",
        2,
        True,
        "`storage-opts` has no dm.basesize",
        "remove dm.basesize",
        "docker_daemon_extra (role docker_engine)",
        _basesize,
    ),
    Check(
        "2.12",
        "Authorization for Docker client commands is enabled",
        2,
        True,
        "`authorization-plugins` is not empty",
        "install an authorization plugin and list it in authorization-plugins",
        "docker_daemon_extra (role docker_engine)",
        _authz,
    ),
    Check(
        "2.13",
        "Centralized and remote logging is configured",
        2,
        True,
        "the log driver (`docker info`, else `log-driver`, default json-file) sends logs to"
        " the host's log system or a remote receiver (" + ", ".join(REMOTE_DRIVERS) + ")",
        "journald or syslog, forwarded off the host",
        "docker_log_driver (role docker_engine)",
        _central_logging,
    ),
    Check(
        "2.14",
        "Containers are restricted from acquiring new privileges",
        1,
        True,
        "`no-new-privileges` is true",
        'daemon.json `"no-new-privileges": true`',
        "docker_no_new_privileges (role docker_engine)",
        _no_new_privs,
    ),
    Check(
        "2.15",
        "Live restore is enabled",
        1,
        True,
        "`LiveRestoreEnabled` in `docker info`, else `live-restore` is true; n/a in Swarm mode",
        'daemon.json `"live-restore": true`',
        "docker_live_restore (role docker_engine)",
        _live_restore,
    ),
    Check(
        "2.16",
        "The userland proxy is disabled",
        1,
        True,
        "`userland-proxy` is false (the engine's default is true)",
        'daemon.json `"userland-proxy": false` (published ports then use iptables NAT hairpinning)',
        "docker_userland_proxy (role docker_engine)",
        _flag_is("userland-proxy", False, True),
    ),
    Check(
        "2.17",
        "A daemon-wide custom seccomp profile is applied if appropriate",
        2,
        False,
        "shows the seccomp profile in force (manual)",
        'daemon.json `"seccomp-profile"` only if the default profile does not fit',
        "docker_daemon_extra (role docker_engine)",
        _seccomp,
    ),
    Check(
        "2.18",
        "Experimental features are not used in production",
        1,
        True,
        "`experimental` is not true (config and `docker info`)",
        "remove `experimental`",
        "docker_daemon_extra (role docker_engine)",
        _experimental,
    ),
    Check(
        "2.P1",
        "Container log files are rotated (provision's own check, not in the benchmark)",
        1,
        True,
        "with the json-file driver, log-opts sets max-size (the local driver rotates by"
        " itself); n/a for drivers that keep no files",
        "log-opts max-size and max-file",
        "docker_log_driver, docker_log_opts (role docker_engine)",
        _log_rotation,
    ),
    *_file_checks(),
    Check(
        "3.7",
        "Ownership of registry certificate files is root:root",
        1,
        True,
        "`find /etc/docker/certs.d -type f`: every file root:root; n/a when there is none",
        "chown root:root /etc/docker/certs.d/*/*",
        "—",
        _certs_owned,
    ),
    Check(
        "3.8",
        "Permissions of registry certificate files are 0444 or stricter",
        1,
        True,
        "`find /etc/docker/certs.d -type f`: every mode within 0444; n/a when there is none",
        "chmod 0444 /etc/docker/certs.d/*/*",
        "—",
        _certs_mode,
    ),
]


def _order(check: Check) -> tuple[int, ...]:
    parts = check.id.replace("P", "99.").split(".")
    return tuple(int(p) for p in parts if p)


CHECKS.sort(key=_order)


def check_by_id(check_id: str) -> Check:
    for check in CHECKS:
        if check.id == check_id:
            return check
    raise KeyError(check_id)
