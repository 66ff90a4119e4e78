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
Every value then goes through the same checks as an inventory value (connvalues); an
error names the file:line the value was written at (through Include): ProxyJump,
ProxyCommand, Port and IdentityFile lines are traced exactly by a second parse of the same
text with those values replaced by their line's index; HostName and User (which `Match`
reads, so they cannot be replaced) by the first line holding the value.

A jump host's own ProxyJump is followed as OpenSSH follows it (`resolve_jumps`): a chain
defined hop by hop, with loops and chains deeper than MAX_JUMP_HOPS refused.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.connvalues import (
    MAX_JUMP_HOPS,
    ConnValueError,
    JumpHost,
    check_host,
    check_port,
    check_proxy_command,
    check_user,
    parse_jump,
)

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
    #: the file:line each value was written at, by lower-case keyword (when known)
    origins: dict[str, Location] = field(default_factory=dict, compare=False)

    def where_of(self, key: str) -> Location:
        """Where the value of `key` (HostName, User, ...) was written; else the file."""
        return self.origins.get(key.lower(), self.where)


#: values of these keywords are replaced by their line's index in a second, "shadow" parse,
#: so a lookup there tells which line gave the value (no `Match` criterion reads them)
_TRACED = ("proxyjump", "proxycommand", "port", "identityfile")


class SshConfig:
    """One ssh_config file (with its Includes), parsed once, looked up per host name."""

    def __init__(
        self, path: Path, text: str, lines: list[tuple[str, Location]] | None = None
    ) -> None:
        from provision.execution.paramikoimport import import_paramiko

        paramiko = import_paramiko()

        self.path = path
        self.where = Location(str(path))
        if lines is None:
            lines = [(t, Location(str(path), n)) for n, t in enumerate(text.split("\n"), 1)]
        self._lines = lines
        try:
            self._config = paramiko.SSHConfig.from_text(text)
            self._shadow = paramiko.SSHConfig.from_text(_shadow_text(lines))
        except Exception as exc:  # noqa: BLE001 - paramiko's parse errors are of several types
            raise InputError(f"ssh config cannot be read: {exc}", self.where)
        self._cache: dict[str, SshHostEntry] = {}
        self._first: dict[tuple[str, str], Location] | None = None

    def lookup(self, name: str) -> SshHostEntry:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        try:
            found: dict[str, Any] = dict(self._config.lookup(name))
            shadow: dict[str, Any] = dict(self._shadow.lookup(name))
        except Exception as exc:  # noqa: BLE001 - a Match that cannot be decided, a bad token
            raise InputError(f"ssh config: looking up {name!r} failed: {exc}", self.where)
        hostname = found.get("hostname")
        proxy_jump = found.get("proxyjump")
        proxy_command = found.get("proxycommand")
        origins = {key: self._origin(shadow.get(key)) for key in _TRACED if key in shadow}
        for key in ("hostname", "user"):
            if key in found:
                origins[key] = self._line_of(key, str(found[key]))
        entry = SshHostEntry(
            name=name,
            hostname=None if hostname in (None, name) else str(hostname),
            user=found.get("user"),
            port=found.get("port"),
            identity_files=tuple(str(p) for p in found.get("identityfile", [])),
            proxy_jump=None if proxy_jump in (None, "none") else str(proxy_jump),
            proxy_command=None if proxy_command in (None, "none") else str(proxy_command),
            where=self.where,
            origins={k: v for k, v in origins.items() if v is not None},
        )
        self._cache[name] = entry
        return entry

    def _origin(self, value: Any) -> Location | None:
        """The line a shadow value names (`@N`; a list of them: the first)."""
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.startswith("@") and value[1:].isdigit():
            index = int(value[1:])
            if index < len(self._lines):
                return self._lines[index][1]
        return None

    def _line_of(self, key: str, value: str) -> Location | None:
        """The first line that sets `key` to `value` (HostName and User are read by `Match`,
        so they cannot be traced in the shadow parse; any line holding the value will do
        for an error about that value)."""
        if self._first is None:
            self._first = {}
            for text, where in self._lines:
                match = _KEYWORD.match(text)
                if match and match.group(1).lower() in ("hostname", "user"):
                    pair = (match.group(1).lower(), _unquote(match.group(2)))
                    self._first.setdefault(pair, where)
        return self._first.get((key, value))


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _shadow_text(lines: list[tuple[str, Location]]) -> str:
    """The config with each traced value replaced by `@INDEX` (its line's index); `none`
    is kept, as it means "not set" to the lookup."""
    out = []
    for index, (text, _) in enumerate(lines):
        match = _KEYWORD.match(text)
        if match and match.group(1).lower() in _TRACED:
            if _unquote(match.group(2)).lower() != "none":
                text = f"{match.group(1)} @{index}"
        out.append(text + "\n")
    return "".join(out)


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
        lines = expand_lines(path)
        _loaded[key] = SshConfig(path, "".join(t + "\n" for t, _ in lines), lines)
    return _loaded[key]


def expand_includes(
    path: Path, base: Path | None = None, depth: int = 0, budget: list[int] | None = None
) -> str:
    """The file's text with every Include replaced by the files it names (see the module)."""
    return "".join(line + "\n" for line, _ in expand_lines(path, base, depth, budget))


def expand_lines(
    path: Path, base: Path | None = None, depth: int = 0, budget: list[int] | None = None
) -> list[tuple[str, Location]]:
    """The lines of the file with every Include replaced by the lines of the files it names,
    each with the file:line it was written at (what an error about its value names).
    At most MAX_INCLUDED_FILES reads and MAX_CONFIG_BYTES of text in all: Includes that
    fan out (a file naming the next one several times, 15 levels deep) would otherwise
    grow exponentially."""
    ssh_dir = base or Path.home() / ".ssh"
    budget = budget if budget is not None else [MAX_INCLUDED_FILES, MAX_CONFIG_BYTES]
    text = _read(path)
    out: list[tuple[str, Location]] = []
    header = "Host *"
    for number, line in enumerate(text.split("\n"), 1):
        where = Location(str(path), number)
        _check_line(line, where)
        match = _KEYWORD.match(line)
        if not match:
            out.append((line, where))
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
            out.append((line, where))
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
                included = expand_lines(Path(name), ssh_dir, depth + 1, budget)
                budget[1] -= sum(len(text) + 1 for text, _ in included)
                if budget[1] < 0:
                    raise InputError(
                        f"Include makes the ssh config larger than {MAX_CONFIG_BYTES} bytes",
                        where,
                    )
                has_blocks = has_blocks or any(
                    re.match(r"(?i)^\s*(host|match)(\s|=)", text) for text, _ in included
                )
                out += included
        if has_blocks:
            out.append((header, where))
    return out


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


# ---- ProxyJump chains ---------------------------------------------------------------------


def resolve_jumps(
    hops: tuple[JumpHost, ...], config: SshConfig | None, target: SshHostEntry | None = None
) -> tuple[JumpHost, ...]:
    """The hops to go through, in order, as OpenSSH finds them: each hop is looked up in
    ssh_config (an alias gets its HostName, User, Port, IdentityFile; a value written in
    the jump spec wins), and the FIRST hop of a ProxyJump list is itself reached through
    its own ProxyJump (or ProxyCommand), recursively: `ssh -J a,b` runs
    `ssh -J a -W ... b`, so b's own ProxyJump is overridden, while `a` is reached as
    `ssh a` would reach it. `target`: the entry whose own ProxyJump gave `hops` (it is on
    the path for loop detection). A loop (a -> b -> a) and a chain of more than
    MAX_JUMP_HOPS hops are input errors naming the ProxyJump line."""
    if config is None:
        return hops
    path: tuple[tuple[str, Location], ...] = ()
    if target is not None:
        path = ((target.name.lower(), target.where_of("proxyjump")),)
    out: list[JumpHost] = []
    _follow(hops, config, path, out)
    return tuple(out)


def _follow(
    hops: tuple[JumpHost, ...],
    config: SshConfig,
    path: tuple[tuple[str, Location], ...],
    out: list[JumpHost],
) -> None:
    for index, hop in enumerate(hops):
        entry = config.lookup(hop.host)
        proxy = None
        if index == 0 and entry.proxy_jump:
            where = entry.where_of("proxyjump")
            names = [name for name, _ in path]
            chain = " -> ".join([*names, hop.host.lower()])
            if hop.host.lower() in names:
                start = names.index(hop.host.lower())
                loop = " -> ".join([*names[start:], hop.host.lower()])
                raise InputError(
                    f"ProxyJump loop in ssh config: {loop} (each jump host is reached"
                    " through its own ProxyJump, as ssh does)",
                    path[-1][1],  # the ProxyJump line that leads back
                    hint="end the chain: `ProxyJump none` in the first jump host's own block,"
                    f" or exclude it from a catch-all block (`Host * !{hop.host}`)",
                )
            if len(path) >= MAX_JUMP_HOPS:
                raise InputError(
                    f"ProxyJump chain in ssh config is more than {MAX_JUMP_HOPS} jump hosts"
                    f" deep ({chain})",
                    where,
                )
            try:
                own = parse_jump(entry.proxy_jump)
            except ConnValueError as exc:
                raise InputError(
                    f"ProxyJump of {hop.host!r} in ssh config {exc.message}", where, exc.hint
                ) from None
            _follow(own, config, (*path, (hop.host.lower(), where)), out)
        elif index == 0 and entry.proxy_command:
            proxy = _checked(entry, "ProxyCommand", entry.proxy_command, check_proxy_command)
        out.append(_resolve_hop(hop, entry, proxy))
        if len(out) > MAX_JUMP_HOPS:
            raise InputError(
                f"ProxyJump chain in ssh config is more than {MAX_JUMP_HOPS} jump hosts long"
                f" (reaching {hop.host!r})",
                path[-1][1] if path else entry.where_of("proxyjump"),
            )


def _resolve_hop(hop: JumpHost, entry: SshHostEntry, proxy: str | None) -> JumpHost:
    host = hop.host
    if entry.hostname:
        host = _checked(entry, "HostName", entry.hostname, check_host)
    port = hop.port
    if not hop.port_given and entry.port is not None:
        port = _checked(entry, "Port", entry.port, check_port)
    user = hop.user
    if user is None and entry.user:
        user = _checked(entry, "User", entry.user, check_user)
    return replace(
        hop,
        host=host,
        port=port,
        user=user,
        name=hop.host if host != hop.host else None,
        identity_files=entry.identity_files,
        proxy_command=proxy,
    )


def _checked(entry: SshHostEntry, key: str, value: Any, check: Any) -> Any:
    """A value from ssh_config, through the same check as an inventory value."""
    try:
        return check(value)
    except ConnValueError as exc:
        raise InputError(
            f"{key} of {entry.name!r} in ssh config {exc.message}",
            entry.where_of(key),
            exc.hint,
        ) from None
