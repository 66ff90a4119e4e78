"""What the audit reads on a host: fixed read-only commands and a pure parser for each.

The commands are constants or built from paths with `shlex.quote`; they change nothing.
Each parser takes the command's (rc, stdout, stderr) and returns a typed value; the unit
tests feed them captured and hand-made outputs. `observe(run)` drives two rounds over any
`run(command) -> Output` (a testinfra host in `provision audit`, a fake in tests): round one
reads the configuration, round two stats every path the first round named.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DAEMON_JSON = "/etc/docker/daemon.json"
DEFAULT_DATA_ROOT = "/var/lib/docker"
DOCKER_SOCK = "/var/run/docker.sock"
CONTAINERD_SOCK = "/run/containerd/containerd.sock"
CERTS_DIR = "/etc/docker/certs.d"
AUDIT_RULE_FILES = "/etc/audit/rules.d/*.rules /etc/audit/audit.rules"

#: the fixed paths the checks look at (unit files, TLS files and the data root are found
#: on the host and added to the stat in round two)
FIXED_PATHS = (
    "/usr/bin/dockerd",
    "/run/containerd",
    "/etc/docker",
    DAEMON_JSON,
    "/etc/default/docker",
    "/etc/sysconfig/docker",
    "/etc/containerd/config.toml",
    "/usr/bin/containerd",
    "/usr/bin/containerd-shim",
    "/usr/bin/containerd-shim-runc-v1",
    "/usr/bin/containerd-shim-runc-v2",
    "/usr/bin/runc",
    DOCKER_SOCK,
    CONTAINERD_SOCK,
)

#: stat'ed too: a symbolic link on a merged-/usr host (Rocky 9, Debian 12), where
#: /lib/X and /usr/lib/X are one file (systemd may report a unit under either name)
LIB = "/lib"

C = "LC_ALL=C "
COMMANDS = {
    "daemon_json": f"cat {DAEMON_JSON}",
    "dockerd_ps": C + "ps -C dockerd -o args=",
    "units": C + "systemctl show -p Id -p FragmentPath -p ExecStart docker.service docker.socket",
    "docker_info": C + "timeout 20 docker info --format '{{json .}}'",
    "audit_live": C + "auditctl -l",
    "audit_files": f"cat {AUDIT_RULE_FILES} 2>/dev/null; true",
    "fstab": "cat /etc/fstab",
    "docker_group": "getent group docker",
    "certs": C + f"find {CERTS_DIR} -type f -printf '%U|%G|%m|%y|%p\\n'",
}
STAT_FORMAT = "%U|%G|%a|%F|%n"


@dataclass(frozen=True)
class Output:
    rc: int
    stdout: str
    stderr: str = ""


Run = Callable[[str], Output]


@dataclass(frozen=True)
class FileInfo:
    path: str
    owner: str
    group: str
    mode: int
    kind: str  # "regular file", "directory", "socket", "symbolic link", ...


@dataclass
class Observations:
    """One host as the checks see it. Empty/None where the host has no such thing."""

    daemon_json: dict[str, Any] | None = None
    daemon_json_error: str = ""
    dockerd_args: list[str] = field(default_factory=list)
    dockerd_running: bool = False
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    docker_info: dict[str, Any] | None = None
    audit_live: list[str] | None = None  # None: the live rules could not be read
    audit_live_error: str = ""
    audit_persisted: list[str] = field(default_factory=list)
    fstab: list[tuple[str, str]] = field(default_factory=list)  # (device, mount point)
    mount_target: str = ""
    mount_source: str = ""  # findmnt's SOURCE: a device, or device[dir] for a bind mount
    mount_fstype: str = ""
    docker_group: list[str] = field(default_factory=list)
    certs: list[FileInfo] = field(default_factory=list)
    files: dict[str, FileInfo] = field(default_factory=dict)

    @property
    def docker_installed(self) -> bool:
        return (
            "/usr/bin/dockerd" in self.files
            or self.dockerd_running
            or bool(self.unit_path("docker.service"))
        )

    def unit_path(self, unit: str) -> str:
        return self.units.get(unit, {}).get("FragmentPath", "")

    def one_path(self, path: str) -> str:
        """`path` spelled one way for the names that are one file: where /lib is a symbolic
        link (merged /usr), /lib/X is given as /usr/lib/X; any other path as it is."""
        lib = self.files.get(LIB)
        if lib is not None and lib.kind == "symbolic link" and path.startswith(LIB + "/"):
            return "/usr" + path
        return path

    @property
    def data_root(self) -> str:
        value = setting(self, "data-root")
        return value if isinstance(value, str) and value.startswith("/") else DEFAULT_DATA_ROOT


# ------------------------------------------------------------------ parsers (pure)


def parse_daemon_json(out: Output) -> tuple[dict[str, Any] | None, str]:
    """(settings, error): (None, "") when the file is absent; an error for bad JSON."""
    if out.rc != 0:
        if "No such file" in out.stderr or not out.stderr.strip():
            return None, ""
        return None, out.stderr.strip().splitlines()[-1]
    if not out.stdout.strip():
        return {}, ""
    try:
        value = json.loads(out.stdout)
    except ValueError as exc:
        return None, f"{DAEMON_JSON} is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"{DAEMON_JSON} is not a JSON object"
    return value, ""


def parse_ps_args(out: Output) -> list[str]:
    """The first dockerd's command line, split as the shell would; [] when none runs."""
    for line in out.stdout.splitlines():
        if line.strip():
            try:
                return shlex.split(line)
            except ValueError:
                return line.split()
    return []


def parse_units(out: Output) -> dict[str, dict[str, str]]:
    """`systemctl show -p Id -p FragmentPath -p ExecStart A B`: blocks split by blank lines."""
    units: dict[str, dict[str, str]] = {}
    for block in out.stdout.split("\n\n"):
        props: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key] = value
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def exec_start_argv(exec_start: str) -> list[str]:
    """argv of systemd's ExecStart property:
    `{ path=... ; argv[]=/usr/bin/dockerd -H fd:// ; ...}`."""
    marker = "argv[]="
    start = exec_start.find(marker)
    if start < 0:
        return []
    rest = exec_start[start + len(marker) :]
    end = rest.find(" ;")
    text = rest if end < 0 else rest[:end]
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse_docker_info(out: Output) -> dict[str, Any] | None:
    if out.rc != 0:
        return None
    try:
        value = json.loads(out.stdout)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_audit_live(out: Output) -> tuple[list[str] | None, str]:
    """(rules, why not): `auditctl -l` lists one rule a line, or `No rules`."""
    if out.rc != 0:
        why = (out.stderr.strip() or out.stdout.strip()).splitlines()
        reason = why[-1] if why else f"exit {out.rc}"
        if out.rc == 127 or "not found" in reason:
            reason = "auditctl is not installed"
        return None, reason
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip().startswith("-")], ""


def parse_rule_lines(text: str) -> list[str]:
    """Rule lines of audit rule files: comments and blank lines dropped."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def watched_paths(rules: list[str]) -> set[str]:
    """Paths an audit rule watches: `-w PATH` or a syscall rule's `-F path=`/`-F dir=`."""
    paths: set[str] = set()
    for rule in rules:
        try:
            words = shlex.split(rule)
        except ValueError:
            words = rule.split()
        for index, word in enumerate(words[:-1]):
            value = words[index + 1]
            if word == "-w":
                paths.add(value.rstrip("/") or "/")
            elif word == "-F" and value.startswith(("path=", "dir=")):
                paths.add(value.split("=", 1)[1].rstrip("/") or "/")
    return paths


def parse_fstab(text: str) -> list[tuple[str, str]]:
    entries = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and not words[0].startswith("#"):
            entries.append((words[0], words[1].rstrip("/") or "/"))
    return entries


HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def parse_findmnt(out: Output) -> tuple[str, str, str]:
    """`findmnt -n -r -o TARGET,SOURCE,FSTYPE -T PATH` -> (target, source, fstype); raw
    output escapes spaces and other odd bytes as \\xHH. A bind mount's source names the
    directory it shows: `/dev/vda[/var/lib/provision-lab/hosts/rocky1/docker]`.
    ("", "", "") when findmnt failed; missing columns are ""."""
    if out.rc != 0:
        return "", "", ""
    for line in out.stdout.splitlines():
        words = [HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), w) for w in line.split()]
        if words:
            words += ["", ""]
            return words[0], words[1], words[2]
    return "", "", ""


def bind_source(source: str) -> tuple[str, str]:
    """`/dev/vda[/srv/docker]` -> ("/dev/vda", "/srv/docker"); ("", "") when the source
    is a whole filesystem (no brackets)."""
    if source.endswith("]") and "[" in source:
        device, _, inner = source[:-1].partition("[")
        return device, inner
    return "", ""


def parse_group(out: Output) -> list[str]:
    """Members of `getent group docker` (name:x:gid:a,b)."""
    parts = out.stdout.strip().split(":")
    if out.rc != 0 or len(parts) < 4:
        return []
    return [m for m in parts[3].split(",") if m]


def parse_stat_lines(text: str, mode_base: int = 8) -> dict[str, FileInfo]:
    """Lines `owner|group|mode|kind|path` (stat's STAT_FORMAT, find's -printf)."""
    found: dict[str, FileInfo] = {}
    for line in text.splitlines():
        parts = line.split("|", 4)
        if len(parts) != 5:
            continue
        owner, group, mode, kind, path = parts
        try:
            number = int(mode, mode_base)
        except ValueError:
            continue
        kind = {"f": "regular file", "d": "directory", "s": "socket", "l": "symbolic link"}.get(
            kind, kind
        )
        found[path] = FileInfo(path, owner, group, number, kind)
    return found


# ------------------------------------------------------------------ the daemon's settings

BOOLEAN_FLAGS = {
    "live-restore",
    "no-new-privileges",
    "experimental",
    "tls",
    "tlsverify",
    "debug",
    "icc",
    "iptables",
    "userland-proxy",
    "selinux-enabled",
}
SHORT_FLAGS = {"-H": "hosts", "-l": "log-level", "-D": "debug", "-G": "group", "-g": "data-root"}
#: daemon.json keys that differ from their command-line flag
PLURAL = {
    "host": "hosts",
    "insecure-registry": "insecure-registries",
    "authorization-plugin": "authorization-plugins",
    "storage-opt": "storage-opts",
    "log-opt": "log-opts",
    "default-ulimit": "default-ulimits",
    "registry-mirror": "registry-mirrors",
}
LIST_KEYS = {"hosts", "insecure-registries", "authorization-plugins", "storage-opts"}


def parse_flags(argv: list[str]) -> dict[str, Any]:
    """dockerd's flags as daemon.json keys: `--icc=false` → {"icc": False},
    `-H fd:// -H tcp://…` → {"hosts": [...]}. argv[0] (the program) is skipped."""
    flags: dict[str, Any] = {}
    words = argv[1:]
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word in SHORT_FLAGS:
            key = SHORT_FLAGS[word]
            if key == "debug":
                flags[key] = True
                continue
            value: Any = words[index] if index < len(words) else ""
            index += 1
        elif word.startswith("--"):
            name, sep, value = word[2:].partition("=")
            key = PLURAL.get(name, name)
            if not sep:
                if key in BOOLEAN_FLAGS:
                    value = True
                elif index < len(words):
                    value = words[index]
                    index += 1
            if key in BOOLEAN_FLAGS and isinstance(value, str):
                value = value.lower() not in ("false", "0")
        else:
            continue
        if key in LIST_KEYS:
            flags.setdefault(key, []).append(value)
        else:
            flags[key] = value
    return flags


def setting(obs: Observations, key: str) -> Any:
    """A daemon setting as dockerd starts with it: its command line, else daemon.json, else
    None (the engine's default)."""
    flags = parse_flags(obs.dockerd_args)
    if key in flags:
        return flags[key]
    if obs.daemon_json is not None and key in obs.daemon_json:
        return obs.daemon_json[key]
    return None


# ------------------------------------------------------------------ the two rounds


def tls_paths(obs: Observations) -> dict[str, str]:
    paths = {}
    for key in ("tlscacert", "tlscert", "tlskey"):
        value = setting(obs, key)
        if isinstance(value, str) and value.startswith("/"):
            paths[key] = value
    return paths


def stat_command(paths: list[str]) -> str:
    return C + "stat -c " + shlex.quote(STAT_FORMAT) + " -- " + shlex.join(paths)


def findmnt_command(path: str) -> str:
    return C + "findmnt -n -r -o TARGET,SOURCE,FSTYPE -T " + shlex.quote(path)


def observe(run: Run) -> Observations:
    """Read one host: round one (configuration), round two (stat of the paths it names)."""
    out = {name: run(command) for name, command in COMMANDS.items()}
    obs = Observations()
    obs.daemon_json, obs.daemon_json_error = parse_daemon_json(out["daemon_json"])
    obs.dockerd_args = parse_ps_args(out["dockerd_ps"])
    obs.dockerd_running = bool(obs.dockerd_args)
    obs.units = parse_units(out["units"])
    if not obs.dockerd_args:
        obs.dockerd_args = exec_start_argv(obs.units.get("docker.service", {}).get("ExecStart", ""))
    obs.docker_info = parse_docker_info(out["docker_info"])
    obs.audit_live, obs.audit_live_error = parse_audit_live(out["audit_live"])
    obs.audit_persisted = parse_rule_lines(out["audit_files"].stdout)
    obs.fstab = parse_fstab(out["fstab"].stdout)
    obs.docker_group = parse_group(out["docker_group"])
    obs.certs = list(parse_stat_lines(out["certs"].stdout).values())
    paths = [*FIXED_PATHS, LIB]
    paths += [p for p in (obs.unit_path(u) for u in ("docker.service", "docker.socket")) if p]
    paths += list(tls_paths(obs).values())
    paths.append(obs.data_root)
    paths = list(dict.fromkeys(paths))
    obs.files = parse_stat_lines(run(stat_command(paths)).stdout, mode_base=8)
    if obs.data_root in obs.files:
        found = run(findmnt_command(obs.data_root))
        obs.mount_target, obs.mount_source, obs.mount_fstype = parse_findmnt(found)
    return obs
