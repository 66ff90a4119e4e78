"""Connection settings of one host, from its variables (Ansible's names)."""

from __future__ import annotations

import getpass
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.execution.sshconfig import SshConfig, SshHostEntry, resolve_jumps
from provision.project.ansiblecfg import AnsibleConfig
from provision.project.connvalues import (
    ConnValueError,
    JumpHost,
    check_host,
    check_key_file,
    check_port,
    check_proxy_command,
    check_user,
    parse_jump,
    read_known_hosts,
    shown,
)
from provision.project.templating import Variables

CONNECTIONS = ("ssh", "local", "paramiko", "smart")  # Ansible's names; all but local are SSH


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
    jump: str | None  # user@host:port of a ProxyJump bastion, as written
    proxy_command: str | None
    # host keys checked against known_hosts only, not ~/.ssh/known_hosts (throwaway hosts)
    known_hosts_only: bool = False
    jump_hosts: tuple[JumpHost, ...] = ()  # `jump`, parsed and checked: the hops in order
    identity_files: tuple[str, ...] = ()  # from ssh_config, tried when key_file is None
    become_user: str = "root"
    alias: str | None = None  # the name ssh_config resolved to `address` (HostName)
    # how the connection becomes root: `sudo`, or `su` (root's password from
    # become_password, fed to su on a pipe: never in argv or output)
    become_method: str = "sudo"

    def masked_values(self) -> list[str]:
        return [v for v in (self.password, self.become_password) if v]


@dataclass(frozen=True)
class ControllerSettings:
    """What the controller adds to every host's connection: ansible.cfg, the ssh_config
    file (~/.ssh/config or -F) and -J from the command line. Precedence for each value:
    the host's variables > the command line > ansible.cfg > ssh_config > the default."""

    config: AnsibleConfig = field(default_factory=AnsibleConfig)
    ssh_config: SshConfig | None = None
    jump: str | None = None  # -J on the command line, checked


def _get(variables: Variables, name: str, where: Location | None) -> Any:
    try:
        return variables[name] if name in variables else None
    except KeyError:
        return None


def parse_ssh_args(args: str, where: Location | None) -> tuple[str | None, str | None]:
    """(ProxyJump, ProxyCommand) from `ansible_ssh_common_args`, both checked; other options
    are refused."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InputError(f"ansible_ssh_common_args cannot be parsed: {exc}", where)
    jump = proxy = None
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-J" or (word.startswith("-J") and len(word) > 2):
            if word == "-J" and index + 1 >= len(words):
                raise InputError("-J in ansible_ssh_common_args needs a jump host", where)
            jump = word[2:] if len(word) > 2 else words[index + 1]
            index += 1 if len(word) > 2 else 2
            continue
        option = None
        if word == "-o" and index + 1 < len(words):
            option = words[index + 1]
            index += 2
        elif word.startswith("-o") and len(word) > 2:
            option = word[2:]
            index += 1
        else:
            raise InputError(
                f"unsupported ssh argument {shown(word)} in ansible_ssh_common_args",
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
                f"unsupported ssh option {shown(key)} in ansible_ssh_common_args",
                where,
                hint="supported: ProxyJump, ProxyCommand",
            )
    if jump is not None:
        try:
            hops = parse_jump(jump)
        except ConnValueError as exc:
            raise InputError(
                f"ProxyJump (-J) in ansible_ssh_common_args: {exc.message}", where, exc.hint
            )
        if hops and proxy is not None:
            raise InputError(
                "ansible_ssh_common_args gives both ProxyJump and ProxyCommand",
                where,
                hint="give one of them",
            )
    if proxy is not None:
        try:
            check_proxy_command(proxy)
        except ConnValueError as exc:
            raise InputError(
                f"ProxyCommand in ansible_ssh_common_args {exc.message}", where, exc.hint
            )
    return jump, proxy


def host_config(
    name: str,
    variables: Variables,
    inventory_dir: Path,
    play_become: bool | None,
    where: Location | None,
    check_files: bool = False,
    settings: ControllerSettings | None = None,
) -> HostConfig:
    """A host's connection settings, every value checked (see connvalues). With
    `check_files`, the key file and the known_hosts files are read and checked too.
    `settings` adds ansible.cfg, ssh_config and -J (see ControllerSettings)."""
    settings = settings or ControllerSettings()
    cfg = settings.config

    def origin(key: str) -> Location | None:
        return variables.origin(key) or where

    def text(key: str) -> str | None:
        value = _get(variables, key, where)
        if value is None or value == "":
            return None
        if isinstance(value, dict | list | bool):
            raise InputError(f"{key} must be a string", origin(key))
        return str(value)

    def checked(key: str, value: Any, check: Any) -> Any:
        try:
            return check(value)
        except ConnValueError as exc:
            raise InputError(f"{key} of host {name!r} {exc.message}", origin(key), exc.hint)

    connection = text("ansible_connection") or "ssh"
    if connection not in CONNECTIONS:
        raise InputError(
            f"ansible_connection of host {name!r} must be one of ssh, local;"
            f" found {shown(connection)}",
            origin("ansible_connection"),
        )
    connection = "local" if connection == "local" else "ssh"
    ssh = connection == "ssh"
    address = text("ansible_host")
    if address is None:
        address = name
        if ssh:
            try:
                check_host(name)
            except ConnValueError as exc:
                raise InputError(
                    f"host {shown(name)} has no ansible_host, so its name is the address,"
                    f" and it {exc.message}",
                    where,
                    exc.hint or "set ansible_host to the host's name or address",
                )
    elif ssh:
        address = checked("ansible_host", address, check_host)
    common = text("ansible_ssh_common_args")
    own_jump, own_proxy = (
        parse_ssh_args(common, origin("ansible_ssh_common_args")) if common else (None, None)
    )
    entry = settings.ssh_config.lookup(address) if ssh and settings.ssh_config else None
    alias = None
    if entry is not None and entry.hostname:
        alias, address = address, _from_ssh_config(entry, "HostName", entry.hostname, check_host)
    port_value = _get(variables, "ansible_port", where)
    if port_value is not None:
        port = checked("ansible_port", port_value, check_port)
    elif cfg.ssh.port is not None:
        port = cfg.ssh.port
    elif cfg.remote_port is not None:
        port = cfg.remote_port
    elif entry is not None and entry.port is not None:
        port = _from_ssh_config(entry, "Port", entry.port, check_port)
    else:
        port = 22

    def path(key: str) -> str | None:
        value = text(key)
        if value is None:
            return None
        if "\x00" in value:
            raise InputError(f"{key} contains a NUL character", origin(key))
        try:
            candidate = Path(value).expanduser()
        except RuntimeError as exc:
            raise InputError(f"{key} cannot be expanded: {exc}", origin(key))
        if not candidate.is_absolute():
            candidate = inventory_dir / candidate
        return str(candidate)

    key_name = (
        "ansible_ssh_private_key_file"
        if text("ansible_ssh_private_key_file")
        else "ansible_private_key_file"
    )
    key_file = path(key_name)
    key_where = origin(key_name)
    if key_file is None and (cfg.private_key_file or cfg.ssh.identity_file):
        key_file = cfg.private_key_file or cfg.ssh.identity_file
        key_name = "private_key_file (ansible.cfg)"
        key_where = cfg.where("private_key_file") or cfg.where("ssh_args")
    identity_files = entry.identity_files if entry is not None and key_file is None else ()
    become_value = _get(variables, "ansible_become", where)
    become = (
        (bool(cfg.become) if play_become is None else play_become)
        if become_value is None
        else _strict_bool(become_value, "ansible_become", origin("ansible_become"))
    )
    become_user = text("ansible_become_user") or cfg.become_user or "root"
    if text("ansible_become_user"):
        become_user = checked("ansible_become_user", become_user, check_user)
    method = text("ansible_become_method")
    method_where = origin("ansible_become_method")
    if method is None and cfg.become_method:
        method, method_where = cfg.become_method, cfg.where("become_method") or where
    if method is not None and method not in ("sudo", "su"):
        raise InputError(
            f"ansible_become_method of host {name!r} is {shown(method)}; provision becomes"
            " root with sudo or su only",
            method_where,
            hint="use sudo or su, or remove the variable",
        )
    become_password = text("ansible_become_password") or text("ansible_become_pass")
    if method == "su" and become_password and "\n" in become_password:
        raise InputError(
            f"ansible_become_password of host {name!r} holds a line break: su reads one line",
            method_where,
        )
    known_hosts = path("provision_known_hosts")
    known_hosts_only = _known_hosts_only(variables, known_hosts, origin, where)
    jump, proxy = own_jump, own_proxy
    jump_entry: SshHostEntry | None = None
    if jump is None and proxy is None:
        jump = settings.jump
    if jump is None and proxy is None:
        jump, proxy = cfg.ssh.jump, cfg.ssh.proxy_command
    if jump is None and proxy is None and entry is not None:
        if entry.proxy_jump:
            jump = _from_ssh_config(entry, "ProxyJump", entry.proxy_jump, _check_jump)
            jump_entry = entry  # its own ProxyJump: on the path for loop detection
        elif entry.proxy_command:
            proxy = _from_ssh_config(
                entry, "ProxyCommand", entry.proxy_command, check_proxy_command
            )
    user_key = "ansible_user" if text("ansible_user") else "ansible_ssh_user"
    user = text(user_key)
    if user is None:
        user = cfg.ssh.user or cfg.remote_user
        if user is None and entry is not None and entry.user:
            user = _from_ssh_config(entry, "User", entry.user, check_user)
        if user is None:
            user = _local_user(where)
    elif ssh:
        user = checked(user_key, user, check_user)
    if check_files and ssh:
        if key_file is not None:
            try:
                check_key_file(key_file)
            except ConnValueError as exc:
                raise InputError(f"{key_name} of host {name!r} {exc.message}", key_where, exc.hint)
        user_file = None if known_hosts_only else Path.home() / ".ssh" / "known_hosts"
        for file in (user_file, known_hosts):  # the files read for this host's keys
            if file is not None:
                _check_known_hosts(Path(file))
    if method == "su" and become and not become_password and user not in ("root", become_user):
        raise InputError(
            f"host {name!r} becomes {become_user} with su, which needs {become_user}'s"
            " password: set ansible_become_password (or ansible_become_pass)",
            method_where,
            hint="from a vault or the environment (\"{{ lookup('env', 'ROOT_PW') }}\"); it"
            " is fed to su on a pipe, never shown or put in a command line. It is the"
            " password of the user su becomes (a play's become_user overrides the host's)",
        )
    return HostConfig(
        name=name,
        address=address,
        port=port,
        user=user,
        connection=connection,
        key_file=key_file,
        password=text("ansible_password") or text("ansible_ssh_pass"),
        become=become,
        become_password=become_password,
        known_hosts=known_hosts,
        jump=jump,
        proxy_command=proxy,
        known_hosts_only=known_hosts_only,
        jump_hosts=resolve_jumps(parse_jump(jump), settings.ssh_config, jump_entry) if jump else (),
        identity_files=identity_files,
        become_user=become_user,
        alias=alias,
        become_method=method or "sudo",
    )


def _check_jump(value: str) -> str:
    parse_jump(value)
    return value


def _from_ssh_config(entry: SshHostEntry, key: str, value: Any, check: Any) -> Any:
    """A value from ssh_config, through the same check as an inventory value."""
    try:
        return check(value)
    except ConnValueError as exc:
        raise InputError(
            f"{key} of {entry.name!r} in ssh config {exc.message}", entry.where_of(key), exc.hint
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


def _local_user(where: Location | None) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        raise InputError(
            "no ansible_user is set and this machine's user name is unknown",
            where,
            hint="set ansible_user",
        )


_known_hosts_checked: dict[tuple[str, int, int, int, int], None] = {}


def _check_known_hosts(path: Path) -> None:
    """Parse a known_hosts file once per version of it (many hosts share one file)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(
            f"cannot read known_hosts file: {exc.strerror or exc}", Location(str(path))
        )
    stamp = (str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if stamp in _known_hosts_checked:
        return
    read_known_hosts(path)
    _known_hosts_checked[stamp] = None


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
