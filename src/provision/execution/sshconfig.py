"""`~/.ssh/config` (or `-F FILE`): what OpenSSH would use for a host, for the keys provision
honours: HostName, User, Port, IdentityFile, ProxyJump, ProxyCommand.

The matching (`Host` patterns with `*`, `?` and `!`, `Match host|originalhost|user|
localuser|all|canonical|final`, first value wins, `%h`/`%p`/`%r` tokens, `~`) is paramiko's
SSHConfig: a maintained parser used by fabric and many others, with the lookup rules already
tested against OpenSSH's; writing another one would add bugs, not features. What paramiko
lacks is done here, before it parses:
- `Include` (files and globs, relative to ~/.ssh, nested up to 16 deep as OpenSSH allows):
  the included text is put in place of the line; when it holds `Host`/`Match` blocks, the
  enclosing block's header is repeated after it, so the lines that follow still belong to
  the block they were written in (OpenSSH's meaning).
- What cannot be honoured is refused with file:line, never half-done: `Match exec` (it
  would run a command while provision reads its input), `CanonicalizeHostname yes` (DNS
  lookups while reading), a line with a control character.
Every value then goes through the same checks as an inventory value (connvalues).
"""

from __future__ import annotations

import glob
import io
import os
import re
import shlex
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location

MAX_INCLUDE_DEPTH = 16
MAX_INCLUDED_FILES = 1000  # files read through Include, in all (each repeat counted)
MAX_CONFIG_BYTES = 4 << 20
_KEYWORD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*?)\s*$")


@dataclass(frozen=True)
class SshHostEntry:
    """The values ssh_config gives one host name (None: not set there)."""

    name: str
    hostname: str | None
    user: str | None
    port: str | None
    identity_files: tuple[str, ...]
    proxy_jump: str | None
    proxy_command: str | None
    where: Location


class SshConfig:
    """One ssh_config file (with its Includes), parsed once, looked up per host name."""

    def __init__(self, path: Path, text: str) -> None:
        from provision.execution.paramikoimport import import_paramiko

        paramiko = import_paramiko()

        self.path = path
        self.where = Location(str(path))
        try:
            self._config = paramiko.SSHConfig.from_text(text)
        except Exception as exc:  # noqa: BLE001 - paramiko's parse errors are of several types
            raise InputError(f"ssh config cannot be read: {exc}", self.where)
        self._cache: dict[str, SshHostEntry] = {}

    def lookup(self, name: str) -> SshHostEntry:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        try:
            found: dict[str, Any] = dict(self._config.lookup(name))
        except Exception as exc:  # noqa: BLE001 - a Match that cannot be decided, a bad token
            raise InputError(f"ssh config: looking up {name!r} failed: {exc}", self.where)
        hostname = found.get("hostname")
        proxy_jump = found.get("proxyjump")
        proxy_command = found.get("proxycommand")
        entry = SshHostEntry(
            name=name,
            hostname=None if hostname in (None, name) else str(hostname),
            user=found.get("user"),
            port=found.get("port"),
            identity_files=tuple(str(p) for p in found.get("identityfile", [])),
            proxy_jump=None if proxy_jump in (None, "none") else str(proxy_jump),
            proxy_command=None if proxy_command in (None, "none") else str(proxy_command),
            where=self.where,
        )
        self._cache[name] = entry
        return entry


def default_path(home: Path | None = None) -> Path:
    return (home or Path.home()) / ".ssh" / "config"


_loaded: dict[tuple[str, int, int, int], SshConfig] = {}


def load_ssh_config(path: Path, required: bool = False) -> SshConfig | None:
    """The parsed file; None when it does not exist and was not asked for by name (-F)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if required:
            raise InputError(f"ssh config file not found: {path}")
        return None
    except OSError as exc:
        raise InputError(f"cannot read ssh config {path}: {exc.strerror or exc}")
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _loaded:
        text = expand_includes(path)
        _loaded[key] = SshConfig(path, text)
    return _loaded[key]


def expand_includes(
    path: Path, base: Path | None = None, depth: int = 0, budget: list[int] | None = None
) -> str:
    """The file's text with every Include replaced by the files it names (see the module).
    At most MAX_INCLUDED_FILES reads and MAX_CONFIG_BYTES of text in all: Includes that
    fan out (a file naming the next one several times, 15 levels deep) would otherwise
    grow exponentially."""
    ssh_dir = base or Path.home() / ".ssh"
    budget = budget if budget is not None else [MAX_INCLUDED_FILES, MAX_CONFIG_BYTES]
    text = _read(path)
    out = io.StringIO()
    header = "Host *"
    for number, line in enumerate(text.split("\n"), 1):
        where = Location(str(path), number)
        _check_line(line, where)
        match = _KEYWORD.match(line)
        if not match:
            out.write(line + "\n")
            continue
        keyword, value = match.group(1).lower(), match.group(2)
        if keyword in ("host", "match"):
            header = line.strip()
            _check_match(keyword, value, where)
        elif keyword == "canonicalizehostname" and value.lower() in ("yes", "always"):
            raise InputError(
                "CanonicalizeHostname would resolve names while provision reads its input;"
                " it is not supported",
                where,
                hint="write the full names (or HostName) instead",
            )
        if keyword != "include":
            out.write(line + "\n")
            continue
        if depth >= MAX_INCLUDE_DEPTH:
            raise InputError(f"Include nested more than {MAX_INCLUDE_DEPTH} deep", where)
        has_blocks = False
        for word in value.split():
            pattern = os.path.expanduser(word)
            if not os.path.isabs(pattern):
                pattern = str(ssh_dir / pattern)
            for name in sorted(glob.glob(pattern)):
                budget[0] -= 1
                if budget[0] < 0:
                    raise InputError(
                        f"Include reads more than {MAX_INCLUDED_FILES} files in all", where
                    )
                included = expand_includes(Path(name), ssh_dir, depth + 1, budget)
                budget[1] -= len(included)
                if budget[1] < 0:
                    raise InputError(
                        f"Include makes the ssh config larger than {MAX_CONFIG_BYTES} bytes",
                        where,
                    )
                has_blocks = has_blocks or bool(re.search(r"(?im)^\s*(host|match)(\s|=)", included))
                out.write(included + "\n")
        if has_blocks:
            out.write(header + "\n")
    return out.getvalue()


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read ssh config: {exc.strerror or exc}", Location(str(path)))
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"ssh config is larger than {MAX_CONFIG_BYTES} bytes", Location(str(path)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("ssh config is not UTF-8 text", Location(str(path), line))


def _check_line(line: str, where: Location) -> None:
    for char in line.rstrip("\r"):
        if char == "\t":
            continue
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char == "\x85":
            raise InputError(f"ssh config line has a control character {char!r}", where)


def _check_match(keyword: str, value: str, where: Location) -> None:
    if keyword != "match":
        return
    try:  # read as paramiko reads it: shlex words, `!` negates (`Match !exec "cmd"`)
        words = shlex.split(value)
    except ValueError as exc:
        raise InputError(f"ssh config Match line cannot be read: {exc}", where)
    if any(word.lstrip("!").lower() == "exec" for word in words):
        raise InputError(
            "`Match exec` would run a command while provision reads its input; it is not supported",
            where,
            hint="use Host patterns, or Match host/user/originalhost",
        )
