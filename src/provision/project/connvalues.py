"""Connection values, checked before any host is touched: one small function per value class.

Each check returns the value as provision will use it, or raises `ConnValueError` with what
was expected; `host_config` turns that into an `InputError` naming the variable's file:line.
Known_hosts files are parsed here too (errors name the file and the line): provision reads
them with this parser at compile time and again when it connects, never with paramiko's.

Rules, in short:
- host: an IPv4 address (four numbers 0-255, no leading zeros), an IPv6 address (bare or
  in brackets, brackets dropped), or a DNS name: ASCII letters, digits, `-` and `_`, labels
  of 1-63 characters that neither start nor end with `-`, at most 253 characters, one
  trailing dot allowed; a name whose last label is all digits must be an IPv4 address.
  `host:port` and `user@host` are refused with the variable to use instead.
- port: a whole number 1-65535 (an int, or a string of ASCII digits); no bool, no float.
- user: 1-256 characters, no whitespace or control characters, no `:`, no leading `-`.
- jump hosts (`-J`, ProxyJump): `[ssh://][user@]host[:port]`, comma-separated hops,
  IPv6 in brackets when a port follows; `none` means no jump host.
- key file: exists, a regular file (not a directory, FIFO or device), readable, not empty,
  at most 1 MiB, and not a public key.
- known_hosts: a corrupt line is an input error naming file:line (OpenSSH skips such a line;
  provision refuses it, because a skipped line silently turns a pinned host into an unknown
  one, whose next key `--accept-new-host-keys` would record without a question).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import stat
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location

MAX_NAME = 253
MAX_LABEL = 63
MAX_USER = 256
MAX_JUMP_HOPS = 16
MAX_KEY_FILE_BYTES = 1 << 20
MAX_KNOWN_HOSTS_BYTES = 16 << 20
MAX_KNOWN_HOSTS_LINE = 64 << 10
MARKERS = ("@cert-authority", "@revoked")

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_DIGITS = re.compile(r"[0-9]+")
_ZONE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEY_TYPE = re.compile(r"[A-Za-z0-9@._+-]{1,128}")
# Plain (non-certificate) key types and the number of length-prefixed fields their blob holds
# after the type name: a truncated or padded key is caught without any crypto library.
_KEY_FIELDS = {
    "ssh-ed25519": 1,
    "ssh-rsa": 2,
    "ssh-dss": 4,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
}


class ConnValueError(ValueError):
    """A connection value that cannot be used; `hint` says how to write it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def shown(value: object, limit: int = 60) -> str:
    """A value for an error message: repr (control characters escaped), cut when long."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + "...'" + f" ({len(str(value))} characters)"
    return text


def _bad_character(value: str) -> str | None:
    """What is wrong with the first whitespace or control character of `value`, if any."""
    for index, char in enumerate(value):
        if char == " ":
            return f"contains a space at position {index + 1}"
        if char.isspace() or unicodedata.category(char)[0] in "CZ":
            kind = "line break" if char in "\n\r\v\f\x85\u2028\u2029" else "control character"
            if char == "\t":
                kind = "tab"
            elif char.isspace() and kind == "control character":
                kind = "whitespace character"
            return f"contains a {kind} {char!r} at position {index + 1}"
    return None


def _check_word(value: object, expected: str) -> None:
    """What every value that ssh takes as one word needs: text, not empty, no control or
    whitespace character, no leading '-'."""
    if not isinstance(value, str):
        raise ConnValueError(f"must be {expected}, found {type(value).__name__}")
    if value == "":
        raise ConnValueError(f"is empty; expected {expected}")
    problem = _bad_character(value)
    if problem:
        raise ConnValueError(f"{problem} ({shown(value)}); expected {expected}")
    if value.startswith("-"):
        raise ConnValueError(f"starts with '-' ({shown(value)}), which ssh would read as an option")


# ---- hosts ------------------------------------------------------------------------------


def check_host(value: str) -> str:
    """The address to connect to: an IPv4/IPv6 address or a DNS name (see module doc)."""
    _check_word(value, "a host name or address")
    if not value.isascii():
        raise ConnValueError(
            f"has a non-ASCII character ({shown(value)})",
            hint="write an internationalised name in its ASCII form (xn--...)",
        )
    if "@" in value:
        user, _, host = value.rpartition("@")
        raise ConnValueError(
            f"holds a user name ({shown(value)})",
            hint=f"write ansible_host: {host} and ansible_user: {user}",
        )
    if value.startswith("["):
        inner, closed, rest = value[1:].partition("]")
        if not closed:
            raise ConnValueError(f"opens '[' but never closes it ({shown(value)})")
        if rest:
            raise ConnValueError(
                f"holds a port ({shown(value)})",
                hint=f"write the address alone ({inner}) and the port in ansible_port",
            )
        return _check_ipv6(inner, value)
    if ":" in value:
        host, _, port = value.rpartition(":")
        if value.count(":") == 1 and (port == "" or _DIGITS.fullmatch(port)):
            raise ConnValueError(
                f"holds a port ({shown(value)})",
                hint=f"write ansible_host: {host} and the port in ansible_port",
            )
        return _check_ipv6(value, value)
    return _check_name(value)


def _check_ipv6(address: str, original: str) -> str:
    text, percent, zone = address.partition("%")
    if percent and not _ZONE.fullmatch(zone):
        raise ConnValueError(f"has a bad IPv6 zone {shown(zone)} ({shown(original)})")
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise ConnValueError(f"is not a valid IPv6 address ({shown(original)})") from None
    return address


def _check_name(value: str) -> str:
    name = value[:-1] if value.endswith(".") else value
    if len(name) > MAX_NAME:
        raise ConnValueError(
            f"is longer than {MAX_NAME} characters, the limit of a DNS name ({shown(value)})"
        )
    labels = name.split(".")
    if labels[-1].isdigit() or all(label.isdigit() for label in labels if label):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise ConnValueError(
                f"is not a valid IPv4 address ({shown(value)})",
                hint="four numbers 0-255 without leading zeros, as in 192.0.2.10",
            ) from None
        return value
    for label in labels:
        if label == "":
            raise ConnValueError(f"has an empty label ('..' or a leading '.') ({shown(value)})")
        if len(label) > MAX_LABEL:
            raise ConnValueError(
                f"has a label of {len(label)} characters ({shown(value)});"
                f" a DNS label has at most {MAX_LABEL}"
            )
        if not _LABEL.fullmatch(label):
            raise ConnValueError(
                f"has a bad label {shown(label)} ({shown(value)})",
                hint="a label holds letters, digits, '-' and '_', and does not start or end"
                " with '-'",
            )
    return value


# ---- ports and users --------------------------------------------------------------------


def check_port(value: Any) -> int:
    """A TCP port 1-65535: an int or a string of ASCII digits (never a bool or a float)."""
    if isinstance(value, bool):
        raise ConnValueError(f"must be a port number 1-65535, found {value!r} (a boolean)")
    if isinstance(value, int):
        port = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 6:
        port = int(value)
    elif isinstance(value, float):
        raise ConnValueError(f"must be a port number 1-65535, found {value!r} (not a whole number)")
    else:
        raise ConnValueError(f"must be a port number 1-65535, found {shown(value)}")
    if not 1 <= port <= 65535:
        raise ConnValueError(f"must be a port number 1-65535, found {port}")
    return port


def check_user(value: str) -> str:
    """A remote login name: no whitespace, control characters or ':', no leading '-'."""
    _check_word(value, "a user name")
    if ":" in value:
        raise ConnValueError(f"contains ':' ({shown(value)}); expected a user name")
    if len(value) > MAX_USER:
        raise ConnValueError(f"is longer than {MAX_USER} characters ({shown(value)})")
    return value


# ---- jump hosts and proxy commands ------------------------------------------------------


@dataclass(frozen=True)
class JumpHost:
    """One hop of a ProxyJump chain."""

    host: str
    port: int = 22
    user: str | None = None
    name: str | None = None  # the name as written, when ssh_config resolved it to `host`
    identity_files: tuple[str, ...] = ()  # from ssh_config
    port_given: bool = field(default=False, compare=False)
    # the first hop's own ProxyCommand from ssh_config: how it is reached
    proxy_command: str | None = None

    def spec(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}"


def parse_jump(value: str) -> tuple[JumpHost, ...]:
    """`[ssh://][user@]host[:port]`, comma-separated hops; `none` means no jump host."""
    if not isinstance(value, str) or value.strip() == "":
        raise ConnValueError("the jump host is empty; expected [user@]host[:port]")
    if value.lower() == "none":
        return ()
    problem = _bad_character(value)
    if problem:
        raise ConnValueError(
            f"the jump host {problem} ({shown(value)}); expected [user@]host[:port][,...]"
        )
    hops = value.split(",")
    if len(hops) > MAX_JUMP_HOPS:
        raise ConnValueError(
            f"{len(hops)} jump hosts are given; at most {MAX_JUMP_HOPS} are supported"
        )
    return tuple(_parse_hop(hop, index + 1, len(hops)) for index, hop in enumerate(hops))


def _parse_hop(hop: str, number: int, count: int) -> JumpHost:
    which = f"jump host {number} {shown(hop)}" if count > 1 else f"jump host {shown(hop)}"
    if hop == "":
        raise ConnValueError(f"jump host {number} is empty (two commas, or one at an end)")
    if hop.startswith("-"):
        raise ConnValueError(f"{which} starts with '-', which ssh would read as an option")
    if hop.startswith("ssh://"):
        hop = hop[len("ssh://") :].rstrip("/")
    user, at, rest = hop.rpartition("@")
    if at:
        try:
            check_user(user)
        except ConnValueError as exc:
            raise ConnValueError(f"the user of {which} {exc.message}") from None
    port_text: str | None = None
    if rest.startswith("["):
        host, closed, after = rest[1:].partition("]")
        if not closed or (after and not after.startswith(":")):
            raise ConnValueError(f"{which}: expected [IPv6]:port")
        port_text = after[1:] if after else None
        if after and not port_text:
            raise ConnValueError(f"{which} ends in ':' without a port")
    elif rest.count(":") > 1:
        host = rest  # a bare IPv6 address, no port
    else:
        host, colon, port_text = rest.partition(":")
        if colon and not port_text:
            raise ConnValueError(f"{which} ends in ':' without a port")
        if not colon:
            port_text = None
    port = 22
    if port_text is not None:
        try:
            port = check_port(port_text)
        except ConnValueError:
            raise ConnValueError(
                f"the port of {which} must be a number 1-65535, found {shown(port_text)}"
            ) from None
    try:
        host = check_host(host)
    except ConnValueError as exc:
        raise ConnValueError(f"the host of {which} {exc.message}", exc.hint) from None
    return JumpHost(host, port, user if at else None, port_given=port_text is not None)


def check_proxy_command(value: str) -> str:
    """A ProxyCommand run on this machine: one line, splittable into words."""
    import shlex

    if value.strip() == "":
        raise ConnValueError("is empty; expected a command")
    for char in value:
        if unicodedata.category(char) == "Cc" and char != "\t" or char in "\x85\u2028\u2029":
            raise ConnValueError(f"contains a control character or line break {char!r}")
    try:
        shlex.split(value)
    except ValueError as exc:
        raise ConnValueError(f"cannot be split into words: {exc}") from None
    return value


# ---- files ------------------------------------------------------------------------------


def check_key_file(path: str) -> None:
    """A private key file: exists, regular, readable, not empty, small, not a public key."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConnValueError(f"does not exist: {path}") from None
    except OSError as exc:
        raise ConnValueError(f"cannot be read: {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConnValueError(f"is a directory, not a key file: {path}")
    if not stat.S_ISREG(info.st_mode):
        raise ConnValueError(f"is not a regular file (a FIFO, socket or device): {path}")
    head = _read_head(path, 64)
    if info.st_size == 0 or not head.strip():
        raise ConnValueError(f"is empty: {path}")
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise ConnValueError(f"is {info.st_size} bytes, too large for a private key: {path}")
    first = head.lstrip().split(b" ", 1)[0]
    if first.startswith((b"ssh-", b"ecdsa-", b"sk-")) and b"PRIVATE" not in head:
        raise ConnValueError(
            f"holds a public key: {path}", hint="give the private key file (without .pub)"
        )


def _read_head(path: str, size: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConnValueError(f"cannot be read: {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConnValueError(f"is not a regular file (a FIFO, socket or device): {path}")
        return os.read(fd, size)
    except OSError as exc:
        raise ConnValueError(f"cannot be read: {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


@dataclass(frozen=True)
class KnownHost:
    """One key line of a known_hosts file."""

    line: int
    marker: str | None  # @cert-authority, @revoked or None
    patterns: tuple[str, ...]
    key_type: str
    key: str  # base64, as written
    blob: bytes


def read_known_hosts(path: Path) -> list[KnownHost]:
    """The key lines of a known_hosts file; a missing file has none. Errors name file:line."""
    where = Location(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read known_hosts file: {exc.strerror or exc}", where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError("known_hosts file is not a regular file", where)
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_KNOWN_HOSTS_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read known_hosts file: {exc.strerror or exc}", where) from None
    finally:
        os.close(fd)
    if total > MAX_KNOWN_HOSTS_BYTES:
        raise InputError(f"known_hosts file is larger than {MAX_KNOWN_HOSTS_BYTES} bytes", where)
    return parse_known_hosts(b"".join(chunks), str(path))


def parse_known_hosts(data: bytes, filename: str) -> list[KnownHost]:
    """Every key line of a known_hosts text; a corrupt line is an InputError at file:line."""
    entries = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        where = Location(filename, number)
        expected = "expected: [@cert-authority|@revoked] HOSTS KEYTYPE BASE64-KEY [COMMENT]"
        if len(raw) > MAX_KNOWN_HOSTS_LINE:
            raise InputError(
                f"known_hosts line is longer than {MAX_KNOWN_HOSTS_LINE} bytes",
                where,
                hint=expected,
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("known_hosts line is not UTF-8 text", where, hint=expected) from None
        text = text.rstrip("\r").strip(" \t")
        if text == "" or text.startswith("#"):
            continue
        for char in text:
            if unicodedata.category(char) == "Cc" and char != "\t":
                raise InputError(
                    f"known_hosts line has a control character {char!r}", where, hint=expected
                )
        fields = text.split()
        marker = None
        if fields[0].startswith("@"):
            marker = fields.pop(0)
            if marker not in MARKERS:
                raise InputError(
                    f"known_hosts line has an unknown marker {shown(marker)}", where, hint=expected
                )
        if len(fields) < 3:
            raise InputError(
                f"known_hosts line has {len(fields)} field(s), not 3", where, hint=expected
            )
        patterns, key_type, key = fields[0], fields[1], fields[2]
        try:
            names = _check_patterns(patterns)
            blob = _check_key(key_type, key)
        except ConnValueError as exc:
            raise InputError(f"known_hosts line: {exc.message}", where, hint=expected) from None
        entries.append(KnownHost(number, marker, names, key_type, key, blob))
    return entries


def _check_patterns(patterns: str) -> tuple[str, ...]:
    names = tuple(patterns.split(","))
    for name in names:
        if name == "":
            raise ConnValueError(f"the host list {shown(patterns)} has an empty entry")
        if name.startswith("|1|"):
            parts = name.split("|")
            if len(parts) != 4:
                raise ConnValueError(f"the hashed host name {shown(name)} is not |1|SALT|HASH")
            for part in parts[2:]:
                try:
                    decoded = base64.b64decode(part, validate=True)
                except (binascii.Error, ValueError):
                    decoded = b""
                if len(decoded) != 20:
                    raise ConnValueError(f"the hashed host name {shown(name)} is corrupt")
        elif name.startswith("|"):
            raise ConnValueError(f"the hashed host name {shown(name)} is not |1|SALT|HASH")
    return names


def _check_key(key_type: str, key: str) -> bytes:
    if not _KEY_TYPE.fullmatch(key_type):
        raise ConnValueError(f"{shown(key_type)} is not a key type")
    try:
        blob = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConnValueError(f"the key of type {key_type} is not valid base64") from None
    fields = _ssh_strings(blob)
    if not fields:
        raise ConnValueError(f"the key data of type {key_type} is truncated or corrupt")
    inner = fields[0]
    if inner != key_type.encode():
        raise ConnValueError(
            f"the key data is for {shown(inner.decode('ascii', 'replace'))},"
            f" but the line says {key_type}"
        )
    count = _KEY_FIELDS.get(key_type)
    if count is not None and len(fields) != 1 + count:
        raise ConnValueError(f"the key data of type {key_type} is truncated or corrupt")
    return blob


def _ssh_strings(blob: bytes) -> list[bytes]:
    """The length-prefixed fields of a key blob; [first field] when the rest is not all
    fields (certificates hold fixed-size integers too); [] when even the first is broken."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return fields[:1] if fields else []
        (size,) = struct.unpack(">I", blob[offset : offset + 4])
        if offset + 4 + size > len(blob):
            return fields[:1] if fields else []
        fields.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return fields
