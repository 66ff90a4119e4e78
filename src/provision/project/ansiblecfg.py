"""`ansible.cfg`: found and read as Ansible finds and reads it, for the settings provision has.

Which file: the first that exists and is readable of `$ANSIBLE_CONFIG` (a folder means its
`ansible.cfg`), `./ansible.cfg`, `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. Only that one
file is read, as in Ansible. Like Ansible, `./ansible.cfg` is IGNORED when the current folder
is world-writable (anyone could have put it there), with a warning that says so.

How: Python's configparser with Ansible's dialect: `#` and `;` start a comment line, `;`
after a value (with a space before it) starts a comment, no `%(name)s` interpolation.
Relative paths are relative to the folder of the ansible.cfg they are written in; `~` is
expanded. An `ANSIBLE_*` environment variable beats the file, as in Ansible.

Settings read (everything else in the file is left alone, as Ansible leaves unknown keys):
  [defaults] inventory, remote_user, remote_port, private_key_file, host_key_checking,
             forks, roles_path, vault_password_file, vault_identity_list, timeout
  [ssh_connection] ssh_args, ssh_common_args (see parse_ssh_words)
  [privilege_escalation] become, become_user, become_method
Precedence: command-line option > environment > ansible.cfg > provision's default.
Each value is checked as an inventory value is (connvalues): a bad one is an InputError
naming ansible.cfg:line.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.connvalues import (
    ConnValueError,
    check_port,
    check_proxy_command,
    check_user,
    parse_jump,
    shown,
)

SYSTEM_CFG = Path("/etc/ansible/ansible.cfg")
MAX_CFG_BYTES = 1 << 20
BECOME_METHODS = ("sudo", "su")
TRUE_WORDS = ("y", "yes", "on", "1", "true", "t")
FALSE_WORDS = ("n", "no", "off", "0", "false", "f")

# setting: (section, key, environment variable, type)
SETTINGS: dict[str, tuple[str, str, str, str]] = {
    "inventory": ("defaults", "inventory", "ANSIBLE_INVENTORY", "pathlist"),
    "remote_user": ("defaults", "remote_user", "ANSIBLE_REMOTE_USER", "user"),
    "remote_port": ("defaults", "remote_port", "ANSIBLE_REMOTE_PORT", "port"),
    "private_key_file": ("defaults", "private_key_file", "ANSIBLE_PRIVATE_KEY_FILE", "path"),
    "host_key_checking": ("defaults", "host_key_checking", "ANSIBLE_HOST_KEY_CHECKING", "bool"),
    "forks": ("defaults", "forks", "ANSIBLE_FORKS", "int"),
    "roles_path": ("defaults", "roles_path", "ANSIBLE_ROLES_PATH", "pathspec"),
    "vault_password_file": (
        "defaults",
        "vault_password_file",
        "ANSIBLE_VAULT_PASSWORD_FILE",
        "path",
    ),
    "vault_identity_list": (
        "defaults",
        "vault_identity_list",
        "ANSIBLE_VAULT_IDENTITY_LIST",
        "list",
    ),
    "timeout": ("defaults", "timeout", "ANSIBLE_TIMEOUT", "int"),
    "ssh_args": ("ssh_connection", "ssh_args", "ANSIBLE_SSH_ARGS", "text"),
    "ssh_common_args": ("ssh_connection", "ssh_common_args", "ANSIBLE_SSH_COMMON_ARGS", "text"),
    "become": ("privilege_escalation", "become", "ANSIBLE_BECOME", "bool"),
    "become_user": ("privilege_escalation", "become_user", "ANSIBLE_BECOME_USER", "user"),
    "become_method": ("privilege_escalation", "become_method", "ANSIBLE_BECOME_METHOD", "text"),
}
LIMITS = {"forks": (1, 500), "timeout": (1, 600)}


@dataclass(frozen=True)
class SshArgs:
    """What provision honours of ssh's command-line words (ansible.cfg's ssh_args,
    ssh_common_args; a host's ansible_ssh_common_args)."""

    jump: str | None = None  # -J / -o ProxyJump, as written (checked)
    proxy_command: str | None = None
    user: str | None = None  # -l / -o User
    port: int | None = None  # -p / -o Port
    identity_file: str | None = None  # -i / -o IdentityFile
    config_file: str | None = None  # -F
    accept_new_host_keys: bool = False  # -o StrictHostKeyChecking=no|accept-new|off
    connect_timeout: float | None = None  # -o ConnectTimeout
    ignored: tuple[str, ...] = ()  # options that change nothing here, said once as a note


@dataclass(frozen=True)
class AnsibleConfig:
    """The settings provision takes from ansible.cfg (and ANSIBLE_* variables).

    `vault_password_file` is read by the vault options (--vault-password-file): the
    command line beats it. `origins` names where each setting came from."""

    path: Path | None = None
    inventory: tuple[Path, ...] = ()
    remote_user: str | None = None
    remote_port: int | None = None
    private_key_file: str | None = None
    host_key_checking: bool | None = None
    forks: int | None = None
    roles_path: tuple[Path, ...] = ()
    vault_password_file: Path | None = None
    vault_identity_list: tuple[str, ...] = ()  # LABEL@SOURCE, as --vault-id
    timeout: int | None = None
    ssh: SshArgs = field(default_factory=SshArgs)
    become: bool | None = None
    become_user: str | None = None
    become_method: str | None = None
    origins: dict[str, Location] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def where(self, setting: str) -> Location | None:
        return self.origins.get(setting)


def find_config(
    environ: dict[str, str] | None = None, cwd: Path | None = None, home: Path | None = None
) -> tuple[Path | None, list[str]]:
    """(the ansible.cfg Ansible would read, warnings), in Ansible's order."""
    environ = dict(os.environ) if environ is None else environ
    warnings: list[str] = []
    candidates: list[Path] = []
    from_env = environ.get("ANSIBLE_CONFIG")
    if from_env:
        path = Path(from_env).expanduser()
        if path.is_dir():
            path = path / "ansible.cfg"
        candidates.append(path.absolute())
    here = cwd or Path.cwd()
    ignored_here = False
    try:
        if os.stat(here).st_mode & stat.S_IWOTH:
            ignored_here = (here / "ansible.cfg").exists()
        else:
            candidates.append(here / "ansible.cfg")
    except OSError:
        pass
    candidates.append((home or Path.home()) / ".ansible.cfg")
    candidates.append(SYSTEM_CFG)
    found = None
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.R_OK)):
            continue
        if os.stat(candidate).st_mode & stat.S_IWOTH:  # it can name a password script
            warnings.append(
                f"warning: {candidate} is ignored: the file is world-writable, so anyone"
                " could have written it (it can name a vault password script to run)"
            )
            continue
        found = candidate
        break
    if ignored_here:
        warnings.append(
            f"warning: {here / 'ansible.cfg'} is ignored: the folder {here} is"
            " world-writable, so anyone could have written it (Ansible ignores it too)"
        )
    return found, warnings


def load_config(
    path: Path | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> AnsibleConfig:
    """The settings from `path` (found as Ansible finds it when None) and ANSIBLE_* variables."""
    environ = dict(os.environ) if environ is None else environ
    warnings: list[str] = []
    if path is None:
        path, warnings = find_config(environ, cwd, home)
    raw: dict[str, tuple[str, Location, Path]] = {}
    if path is not None:
        raw.update(_read_file(path))
    here = cwd or Path.cwd()
    for name, (_, _, env, _) in SETTINGS.items():
        if env in environ:
            raw[name] = (environ[env], Location(f"${env}"), here)
    values: dict[str, Any] = {}
    origins: dict[str, Location] = {}
    for name, (text, where, base) in raw.items():
        values[name] = _convert(name, text, where, base)
        origins[name] = where
    ssh = SshArgs()
    for name in ("ssh_args", "ssh_common_args"):
        if values.get(name):
            ssh = parse_ssh_words(values.pop(name), origins[name], ssh, base=raw[name][2])
        values.pop(name, None)
    if values.get("vault_password_file") is not None:
        values["vault_password_file"] = Path(values["vault_password_file"])
    method = values.get("become_method")
    if method is not None and method not in BECOME_METHODS:
        raise InputError(
            f"become_method {shown(method)} is not supported; provision becomes root with sudo"
            " or su",
            origins["become_method"],
            hint="use become_method = sudo (or su), or remove the setting",
        )
    if ssh.ignored:
        warnings.append(
            "note: ssh options from "
            + ", ".join(
                sorted({str(origins[n]) for n in ("ssh_args", "ssh_common_args") if n in origins})
            )
            + f" that change nothing here (provision keeps one connection per host and"
            f" checks host keys itself): {', '.join(ssh.ignored)}"
        )
    return AnsibleConfig(path=path, ssh=ssh, origins=origins, warnings=tuple(warnings), **values)


def _read_file(path: Path) -> dict[str, tuple[str, Location, Path]]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CFG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", Location(str(path)))
    if len(data) > MAX_CFG_BYTES:
        raise InputError(f"ansible.cfg is larger than {MAX_CFG_BYTES} bytes", Location(str(path)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("ansible.cfg is not UTF-8 text", Location(str(path), line))
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc).splitlines()[0]
        message = re.sub(r"^While reading from '[^']*' \[line +\d+\]: ", "", message)
        raise InputError(
            f"ansible.cfg cannot be read: {message}",
            Location(str(path), line),
            hint="ansible.cfg is INI: [section] lines, then key = value lines",
        )
    found: dict[str, tuple[str, Location, Path]] = {}
    for name, (section, key, _, _) in SETTINGS.items():
        if parser.has_option(section, key):
            value = parser.get(section, key, raw=True)
            where = Location(str(path), _line_of(text, section, key))
            found[name] = (value, where, path.parent)
    return found


def _line_of(text: str, section: str, key: str) -> int | None:
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and "]" in stripped:
            current = stripped[1 : stripped.index("]")].strip()
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*[=:]", stripped, re.I):
            return number
    return None


def _convert(name: str, text: str, where: Location, base: Path) -> Any:
    kind = SETTINGS[name][3]
    value = text.strip()
    try:
        if kind == "bool":
            if value.lower() in TRUE_WORDS:
                return True
            if value.lower() in FALSE_WORDS:
                return False
            raise ConnValueError(f"must be true or false, found {shown(value)}")
        if kind == "int":
            if not re.fullmatch(r"[0-9]{1,6}", value):
                raise ConnValueError(f"must be a whole number, found {shown(value)}")
            low, high = LIMITS[name]
            if not low <= int(value) <= high:
                raise ConnValueError(f"must be {low}-{high}, found {value}")
            return int(value)
        if kind == "port":
            return check_port(value)
        if kind == "user":
            return check_user(value)
        if kind == "path":
            return str(_path(value, base))
        if kind == "pathlist":
            return tuple(_path(p.strip(), base) for p in value.split(",") if p.strip())
        if kind == "list":
            _check_one_line(value)
            return tuple(p.strip() for p in value.split(",") if p.strip())
        if kind == "pathspec":
            return tuple(_path(p, base) for p in value.split(os.pathsep) if p)
        _check_one_line(value)
        return value
    except ConnValueError as exc:
        section, key = SETTINGS[name][:2]
        raise InputError(f"[{section}] {key} {exc.message}", where, exc.hint)


def _check_one_line(value: str) -> None:
    for char in value:
        if char in "\n\r\v\f\x85\u2028\u2029\x00":
            raise ConnValueError(f"contains a line break or NUL {char!r}")


def _path(value: str, base: Path) -> Path:
    _check_one_line(value)
    if value.startswith("-"):
        raise ConnValueError(f"{shown(value)} starts with '-'", "write ./-name for such a file")
    if "{{CWD}}" in value:
        value = value.replace("{{CWD}}", os.getcwd())
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


# ---- ssh's command-line words ----------------------------------------------------------

# -o options that change nothing here: provision keeps one connection per host, checks host
# keys itself and lets paramiko negotiate algorithms.
IGNORED_OPTIONS = {
    "controlmaster",
    "controlpersist",
    "controlpath",
    "serveraliveinterval",
    "serveralivecountmax",
    "tcpkeepalive",
    "compression",
    "loglevel",
    "identitiesonly",
    "hashknownhosts",
    "checkhostip",
    "visualhostkey",
    "updatehostkeys",
    "connectionattempts",
    "addkeystoagent",
    "gssapiauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "passwordauthentication",
    "pubkeyauthentication",
    "preferredauthentications",
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedkeytypes",
    "pubkeyacceptedalgorithms",
    "userknownhostsfile",
    "globalknownhostsfile",
    "forwardx11",
    "forwardagent",
}
IGNORED_FLAGS = {"-C", "-q", "-v", "-vv", "-vvv", "-T", "-4", "-6"}


def parse_ssh_words(
    text: str, where: Location | None, start: SshArgs | None = None, base: Path | None = None
) -> SshArgs:
    """The ssh words provision honours: -J, -F, -i, -l, -p and -o ProxyJump, ProxyCommand,
    User, Port, IdentityFile, ConnectTimeout, StrictHostKeyChecking; options that change
    nothing here are noted; any other word is an InputError naming it (a forwarding, a
    remote command, ... cannot be honoured, and silently dropping it would surprise)."""
    result = dict((start or SshArgs()).__dict__)
    ignored = list(result.pop("ignored"))
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"ssh arguments cannot be split into words: {exc}", where)
    index = 0

    def value_of(word: str, flag: str) -> str:
        nonlocal index
        if word != flag:
            return word[len(flag) :]
        index += 1
        if index >= len(words):
            raise InputError(f"ssh argument {flag} needs a value", where)
        return words[index]

    while index < len(words):
        word = words[index]
        if word in IGNORED_FLAGS:
            ignored.append(word)
        elif word.startswith("-o"):
            option = value_of(word, "-o")
            key, value = _split_option(option)
            _apply_option(key, value, result, ignored, where, base)
        elif word.startswith("-J"):
            _apply_option("proxyjump", value_of(word, "-J"), result, ignored, where, base)
        elif word.startswith("-F"):
            result["config_file"] = str(_checked_path(value_of(word, "-F"), "-F", where, base))
        elif word.startswith("-i"):
            _apply_option("identityfile", value_of(word, "-i"), result, ignored, where, base)
        elif word.startswith("-l"):
            _apply_option("user", value_of(word, "-l"), result, ignored, where, base)
        elif word.startswith("-p"):
            _apply_option("port", value_of(word, "-p"), result, ignored, where, base)
        else:
            raise InputError(
                f"ssh argument {shown(word)} cannot be honoured by provision",
                where,
                hint="provision honours -J, -F, -i, -l, -p and -o ProxyJump, ProxyCommand,"
                " User, Port, IdentityFile, ConnectTimeout, StrictHostKeyChecking",
            )
        index += 1
    if result["jump"] and result["proxy_command"]:
        raise InputError(
            "ssh arguments give both ProxyJump and ProxyCommand", where, hint="give one of them"
        )
    return SshArgs(**result, ignored=tuple(dict.fromkeys(ignored)))


def _split_option(option: str) -> tuple[str, str]:
    head = option.split(" ", 1)[0]
    if "=" in head:
        key, _, value = option.partition("=")
    else:
        key, _, value = option.partition(" ")
    return key.strip().lower(), value.strip()


def _apply_option(
    key: str,
    value: str,
    result: dict[str, Any],
    ignored: list[str],
    where: Location | None,
    base: Path | None,
) -> None:
    try:
        if key == "proxyjump":
            parse_jump(value)
            result["jump"] = value
        elif key == "proxycommand":
            result["proxy_command"] = (
                None if value.lower() == "none" else check_proxy_command(value)
            )
        elif key == "user":
            result["user"] = check_user(value)
        elif key == "port":
            result["port"] = check_port(value)
        elif key == "identityfile":
            result["identity_file"] = str(_checked_path(value, "IdentityFile", where, base))
        elif key == "connecttimeout":
            if not re.fullmatch(r"[0-9]{1,4}", value) or int(value) == 0:
                raise ConnValueError(f"must be a number of seconds, found {shown(value)}")
            result["connect_timeout"] = float(value)
        elif key == "stricthostkeychecking":
            word = value.lower()
            if word in ("no", "off", "accept-new"):
                result["accept_new_host_keys"] = True
            elif word not in ("yes", "ask"):
                raise ConnValueError(f"must be yes, no or accept-new, found {shown(value)}")
        elif key in IGNORED_OPTIONS:
            ignored.append(f"-o {key}")
        else:
            raise InputError(
                f"ssh option {shown(key)} cannot be honoured by provision",
                where,
                hint="provision honours -o ProxyJump, ProxyCommand, User, Port, IdentityFile,"
                " ConnectTimeout, StrictHostKeyChecking; remove the others",
            )
    except ConnValueError as exc:
        raise InputError(f"ssh option {key} {exc.message}", where, exc.hint)


def _checked_path(value: str, what: str, where: Location | None, base: Path | None) -> Path:
    try:
        return _path(value, base or Path.cwd())
    except ConnValueError as exc:
        raise InputError(f"{what} {exc.message}", where, exc.hint)
