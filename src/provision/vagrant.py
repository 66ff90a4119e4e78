"""An inventory from `vagrant ssh-config`: `provision inventory from-vagrant`.

`vagrant ssh-config` prints one OpenSSH `Host` block per running machine (HostName, User,
Port, IdentityFile, ...). The parser and the inventory writer are pure functions of that
text; only `run_vagrant_ssh_config` runs Vagrant.

What is carried over: HostName, Port, User, the first IdentityFile, and ProxyCommand /
ProxyJump (as `ansible_ssh_common_args`). What is not: Vagrant's `StrictHostKeyChecking no`
and `UserKnownHostsFile /dev/null`. provision always checks host keys; the inventory points
`provision_known_hosts` at a file of its own, filled on the first run by
`--accept-new-host-keys`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provision.errors import InputError, Location

# Names provision's inventory loader accepts for hosts and groups.
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
# ssh_config: `Key value`, `Key=value` or `Key = value`; the value may be double-quoted.
_LINE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(?P<value>.*?)\s*$")

VAGRANT_TIMEOUT = 120.0


@dataclass
class SshHost:
    """One `Host` block of `vagrant ssh-config` output."""

    name: str
    line: int
    hostname: str | None = None
    user: str | None = None
    port: int | None = None
    identity_files: list[str] = field(default_factory=list)
    proxy_command: str | None = None
    proxy_jump: str | None = None
    ignored: list[str] = field(default_factory=list)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_ssh_config(text: str, source: str = "<vagrant ssh-config>") -> list[SshHost]:
    """The hosts of `vagrant ssh-config` output, in order. Raises InputError on bad input."""
    hosts: list[SshHost] = []
    current: SshHost | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise InputError(
                f"not an ssh_config line: {line!r}",
                Location(source, number),
                hint="expected `Key value` lines under `Host NAME` (vagrant ssh-config output)",
            )
        key = match.group("key").lower()
        value = match.group("value")
        if key == "host":
            names = value.split()
            if len(names) != 1 or any(c in value for c in "*?!"):
                raise InputError(
                    f"`Host {value}` is not one machine name",
                    Location(source, number),
                    hint="vagrant ssh-config prints one `Host NAME` per machine; "
                    "patterns belong in ~/.ssh/config, not here",
                )
            name = names[0]
            if not _NAME.match(name):
                raise InputError(
                    f"machine name {name!r} cannot be an inventory host name",
                    Location(source, number),
                    hint="use letters, digits, '-', '_' and '.' in config.vm.define",
                )
            if any(h.name == name for h in hosts):
                raise InputError(f"machine {name!r} appears twice", Location(source, number))
            current = SshHost(name=name, line=number)
            hosts.append(current)
            continue
        if current is None:
            raise InputError(
                f"{match.group('key')} before any `Host` line",
                Location(source, number),
                hint="is this the output of `vagrant ssh-config`?",
            )
        if not value:
            raise InputError(f"{match.group('key')} has no value", Location(source, number))
        if key == "hostname":
            current.hostname = value
        elif key == "user":
            current.user = value
        elif key == "port":
            if not value.isdigit() or not 1 <= int(value) <= 65535:
                raise InputError(
                    f"Port of {current.name!r} must be a number 1-65535, found {value!r}",
                    Location(source, number),
                )
            current.port = int(value)
        elif key == "identityfile":
            current.identity_files.append(_unquote(value))
        elif key == "proxycommand":
            current.proxy_command = value
        elif key == "proxyjump":
            current.proxy_jump = value
        else:
            current.ignored.append(match.group("key"))
    if not hosts:
        raise InputError(
            "no machine found (no `Host` line)",
            Location(source),
            hint="is any machine running? `vagrant status` shows them; `vagrant up` starts them",
        )
    return hosts


def inventory_data(hosts: list[SshHost], group: str, known_hosts: str) -> dict[str, Any]:
    """An Ansible YAML inventory (as data): every host in `group`, with its connection."""
    if not _NAME.match(group) or group in ("all", "ungrouped"):
        raise InputError(
            f"invalid group name {group!r}: letters, digits, '-', '_' and '.'; not all/ungrouped"
        )
    if any(h.name == group for h in hosts):
        raise InputError(f"group {group!r} has the name of a machine; choose another --group")
    members: dict[str, dict[str, Any]] = {}
    for host in hosts:
        entry: dict[str, Any] = {"ansible_host": host.hostname or host.name}
        if host.port is not None:
            entry["ansible_port"] = host.port
        if host.user:
            entry["ansible_user"] = host.user
        if host.identity_files:
            entry["ansible_ssh_private_key_file"] = host.identity_files[0]
        # `-o 'Key value'`: both OpenSSH and provision read it whole (provision takes the
        # first space or '=' as the separator, so `Key=a b` would be misread).
        args = []
        if host.proxy_jump:
            args.append("-o " + shlex.quote(f"ProxyJump {host.proxy_jump}"))
        if host.proxy_command:
            args.append("-o " + shlex.quote(f"ProxyCommand {host.proxy_command}"))
        if args:
            entry["ansible_ssh_common_args"] = " ".join(args)
        members[host.name] = entry
    return {
        "all": {
            "vars": {"ansible_become": True, "provision_known_hosts": known_hosts},
            "children": {group: {"hosts": members}},
        }
    }


def render_inventory(hosts: list[SshHost], group: str, known_hosts: str, source: str) -> str:
    """The inventory as YAML text, with a header saying where it came from."""
    data = inventory_data(hosts, group, known_hosts)
    header = (
        f"# Written by `provision inventory from-vagrant` from {source}.\n"
        "# Host keys are checked: run provision once with --accept-new-host-keys to record\n"
        "# them in provision_known_hosts; after `vagrant destroy`, delete that file.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)


def check_loads(text: str) -> None:
    """Load the inventory text with provision's own loader; raises InputError if it fails."""
    from provision.project.inventory import load_inventory

    with tempfile.TemporaryDirectory(prefix="provision-vagrant-") as tmp:
        path = Path(tmp) / "inventory.yml"
        path.write_text(text, encoding="utf-8")
        load_inventory(path)


def run_vagrant_ssh_config(vagrant_dir: Path, vagrant: str = "vagrant") -> str:
    """`vagrant ssh-config` in `vagrant_dir`: its stdout, or InputError with Vagrant's message."""
    if not (vagrant_dir / "Vagrantfile").is_file():
        raise InputError(f"no Vagrantfile in {vagrant_dir}", hint="use --vagrant-dir DIR")
    try:
        proc = subprocess.run(
            [vagrant, "ssh-config"],
            cwd=vagrant_dir,
            capture_output=True,
            text=True,
            timeout=VAGRANT_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise InputError(
            f"{vagrant!r} not found", hint="install Vagrant (Debian: apt-get install vagrant)"
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"`vagrant ssh-config` did not answer in {VAGRANT_TIMEOUT:.0f}s")
    if proc.returncode != 0 and "Host " not in proc.stdout:
        said = " ".join(proc.stderr.split())[:400] or f"exit code {proc.returncode}"
        raise InputError(
            f"`vagrant ssh-config` failed in {vagrant_dir}: {said}",
            hint="are the machines up? `vagrant status` shows them",
        )
    if proc.returncode != 0:  # some machines answered, others did not: say so, keep those
        said = " ".join(proc.stderr.split())[:400]
        sys.stderr.write(f"warning: `vagrant ssh-config` exited {proc.returncode}: {said}\n")
    return proc.stdout


def from_vagrant(
    vagrant_dir: Path,
    group: str = "docker_hosts",
    ssh_config_file: Path | None = None,
    known_hosts: Path | None = None,
) -> str:
    """The inventory text for the machines of `vagrant_dir` (or of a captured output file)."""
    if ssh_config_file is not None:
        try:
            text = ssh_config_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {ssh_config_file}: {exc}")
        source = str(ssh_config_file)
    else:
        text = run_vagrant_ssh_config(vagrant_dir)
        source = f"`vagrant ssh-config` in {vagrant_dir.resolve()}"
    hosts = parse_ssh_config(text, str(ssh_config_file or "vagrant ssh-config"))
    if known_hosts is None:
        known_hosts = vagrant_dir / ".vagrant" / "provision_known_hosts"
    rendered = render_inventory(hosts, group, str(known_hosts.resolve()), source)
    check_loads(rendered)
    return rendered
