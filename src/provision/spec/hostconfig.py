"""Connection settings of one host, from its variables (Ansible's names)."""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.spec.templating import Variables

CONNECTIONS = ("ssh", "local", "paramiko", "smart")


@dataclass(frozen=True)
class HostConfig:
    name: str
    address: str
    port: int
    user: str
    connection: str  # ssh or local
    key_file: str | None
    password: str | None
    become: bool
    become_password: str | None
    known_hosts: str | None
    jump: str | None  # user@host:port of a ProxyJump bastion
    proxy_command: str | None
    # host keys checked against known_hosts only, not ~/.ssh/known_hosts (throwaway hosts)
    known_hosts_only: bool = False

    def masked_values(self) -> list[str]:
        return [v for v in (self.password, self.become_password) if v]


def _get(variables: Variables, name: str, where: Location | None) -> Any:
    try:
        return variables[name] if name in variables else None
    except KeyError:
        return None


def parse_ssh_args(args: str, where: Location | None) -> tuple[str | None, str | None]:
    """(ProxyJump, ProxyCommand) from `ansible_ssh_common_args`; other options are refused."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InputError(f"ansible_ssh_common_args cannot be parsed: {exc}", where)
    jump = proxy = None
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-J" and index + 1 < len(words):
            jump = words[index + 1]
            index += 2
            continue
        option = None
        if word == "-o" and index + 1 < len(words):
            option = words[index + 1]
            index += 2
        elif word.startswith("-o"):
            option = word[2:]
            index += 1
        else:
            raise InputError(
                f"unsupported ssh argument {word!r} in ansible_ssh_common_args",
                where,
                hint="supported: -J HOST, -o ProxyJump=HOST, -o ProxyCommand=CMD",
            )
        if "=" in option.split(" ", 1)[0]:
            key, _, value = option.partition("=")
        else:
            key, _, value = option.partition(" ")
        key, value = key.strip(), value.strip()
        if key.lower() == "proxyjump":
            jump = value
        elif key.lower() == "proxycommand":
            proxy = value
        elif key.lower() in (
            "stricthostkeychecking",
            "userknownhostsfile",
            "controlmaster",
            "controlpersist",
            "controlpath",
            "serveraliveinterval",
        ):
            continue  # host keys are always checked; connections are always reused
        else:
            raise InputError(
                f"unsupported ssh option {key!r} in ansible_ssh_common_args",
                where,
                hint="supported: ProxyJump, ProxyCommand",
            )
    return jump, proxy


def host_config(
    name: str, variables: Variables, inventory_dir: Path, play_become: bool, where: Location | None
) -> HostConfig:
    def origin(key: str) -> Location | None:
        return variables.origin(key) or where

    def text(key: str) -> str | None:
        value = _get(variables, key, where)
        if value is None or value == "":
            return None
        if isinstance(value, dict | list | bool):
            raise InputError(f"{key} must be a string", origin(key))
        return str(value)

    address = text("ansible_host") or name
    port_value = _get(variables, "ansible_port", where)
    port = 22
    if port_value is not None:
        try:
            port = int(port_value)
            if isinstance(port_value, float) and port_value != port:
                raise ValueError
            if isinstance(port_value, bool) or not 1 <= port <= 65535:
                raise ValueError
        except (TypeError, ValueError):
            raise InputError(
                f"ansible_port of host {name!r} must be a port number 1-65535,"
                f" found {port_value!r}",
                origin("ansible_port"),
            )
    connection = text("ansible_connection") or "ssh"
    if connection not in CONNECTIONS:
        raise InputError(
            f"ansible_connection of host {name!r} must be one of ssh, local; found {connection!r}",
            origin("ansible_connection"),
        )
    connection = "local" if connection == "local" else "ssh"

    def path(key: str) -> str | None:
        value = text(key)
        if value is None:
            return None
        try:
            candidate = Path(value).expanduser()
        except RuntimeError as exc:
            raise InputError(f"{key} cannot be expanded: {exc}", origin(key))
        if not candidate.is_absolute():
            candidate = inventory_dir / candidate
        return str(candidate)

    key_file = path("ansible_ssh_private_key_file") or path("ansible_private_key_file")
    become_value = _get(variables, "ansible_become", where)
    become = (
        play_become
        if become_value is None
        else _strict_bool(become_value, "ansible_become", origin("ansible_become"))
    )
    known_hosts = path("provision_known_hosts")
    known_hosts_only = _known_hosts_only(variables, known_hosts, origin, where)
    jump = proxy = None
    common = text("ansible_ssh_common_args")
    if common:
        jump, proxy = parse_ssh_args(common, origin("ansible_ssh_common_args"))
    return HostConfig(
        name=name,
        address=address,
        port=port,
        user=text("ansible_user") or text("ansible_ssh_user") or getpass.getuser(),
        connection=connection,
        key_file=key_file,
        password=text("ansible_password") or text("ansible_ssh_pass"),
        become=become,
        become_password=text("ansible_become_password") or text("ansible_become_pass"),
        known_hosts=known_hosts,
        jump=jump,
        proxy_command=proxy,
        known_hosts_only=known_hosts_only,
    )


def _known_hosts_only(
    variables: Variables,
    known_hosts: str | None,
    origin: Callable[[str], Location | None],
    where: Location | None,
) -> bool:
    """`provision_known_hosts_only`: check host keys against `provision_known_hosts` alone."""
    key = "provision_known_hosts_only"
    value = _get(variables, key, where)
    if value is None:
        return False
    only = _strict_bool(value, key, origin(key))
    if only and known_hosts is None:
        raise InputError(
            f"{key} is true but provision_known_hosts is not set",
            origin(key),
            hint="set provision_known_hosts to the known_hosts file these hosts are checked"
            " against (their keys are then not looked up in ~/.ssh/known_hosts)",
        )
    return only


def _strict_bool(value: Any, key: str, where: Location | None) -> bool:
    if isinstance(value, bool):
        return value
    words = {
        "true": True,
        "yes": True,
        "on": True,
        "1": True,
        "false": False,
        "no": False,
        "off": False,
        "0": False,
    }
    if str(value).strip().lower() in words:
        return words[str(value).strip().lower()]
    raise InputError(f"{key} must be true or false, found {value!r}", where)
