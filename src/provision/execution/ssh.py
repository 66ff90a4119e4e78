"""SSH connections over paramiko: one per host, host keys always checked."""

from __future__ import annotations

import base64
import getpass
import hashlib
import logging
import os
import pwd
import select
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import ConnectError, HostKeyError, InputError
from provision.execution.connection import (
    Become,
    ConnectionLost,
    Result,
    ShellRunner,
    su_target,
)
from provision.execution.paramikoimport import import_paramiko
from provision.project.connvalues import ConnValueError, check_key_file, read_known_hosts
from provision.project.hostconfig import HostConfig

KEEPALIVE_SECONDS = 5
DEAD_LINK_MS = 30_000
#: after the exit status, how long to wait for the rest of the output (EOF)
EXIT_OUTPUT_GRACE = 2.0
_known_hosts_lock = threading.Lock()
QUIET_LOGGERS = ("paramiko", "fabric", "invoke")
#: -vvvv: connection debugging (hops, auth methods tried, host keys); never a secret
log = logging.getLogger("provision.ssh")


def quiet_library_loggers() -> None:
    """paramiko, fabric and invoke never print to the user's terminal: without a handler of
    their own, Python's last-resort handler prints their warnings (paramiko's transport thread
    logs a whole traceback when a server sends no SSH banner). Provision reports every
    failure itself, as the host's error."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(type(h) is logging.NullHandler for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


quiet_library_loggers()


class Hop:
    """One SSH connection: a paramiko client and how to reach it (direct, through a jump
    host's connection, or a ProxyCommand). What fabric's Connection did for provision,
    without importing fabric and invoke on every run; same arguments to paramiko."""

    def __init__(
        self,
        host: str,
        user: str,
        port: int,
        connect_timeout: float,
        connect_kwargs: dict[str, Any],
        gateway: Hop | str | None = None,
    ) -> None:
        paramiko = import_paramiko()
        self.host = host
        self.user = user or getpass.getuser()  # as fabric did: the local user by default
        self.port = port or 22
        # as fabric did: whole seconds, and none at all when that is 0
        self.connect_timeout = int(connect_timeout)
        self.connect_kwargs = dict(connect_kwargs)
        self.gateway = gateway
        self.client = paramiko.SSHClient()
        self.transport: Any = None

    def _gateway_socket(self) -> Any:
        if isinstance(self.gateway, str):
            paramiko = import_paramiko()
            # the command's %h, %p, ... expanded as an ssh_config line would be
            text = f"Host {self.host}\n    ProxyCommand {self.gateway}"
            config = paramiko.SSHConfig.from_text(text)
            return paramiko.ProxyCommand(config.lookup(self.host)["proxycommand"])
        assert self.gateway is not None
        self.gateway.open()
        return self.gateway.transport.open_channel(
            kind="direct-tcpip", dest_addr=(self.host, int(self.port)), src_addr=("", 0)
        )

    def open(self) -> None:
        if self.transport is not None and self.transport.active:
            return
        kwargs = dict(self.connect_kwargs, username=self.user, hostname=self.host, port=self.port)
        if self.gateway:
            kwargs["sock"] = self._gateway_socket()
        if self.connect_timeout:
            kwargs["timeout"] = self.connect_timeout
        self.client.connect(**kwargs)
        self.transport = self.client.get_transport()

    def close(self) -> None:
        if self.transport is not None and self.transport.active:
            self.client.close()


def load_known_hosts(keys: Any, path: Path, host: str) -> None:
    """Add the host keys of one known_hosts file to paramiko's table, read with provision's
    own parser: a corrupt line is this host's ConnectError naming file:line (compile refuses
    it earlier); CA and revocation lines, and key types paramiko cannot use, are skipped."""
    paramiko = import_paramiko()
    from paramiko.hostkeys import HostKeyEntry

    try:
        entries = read_known_hosts(path)
    except InputError as exc:
        raise ConnectError(f"{host}: {exc}")
    for entry in entries:
        if entry.marker is not None:
            continue
        try:
            key = paramiko.PKey.from_type_string(entry.key_type, entry.blob)
        except paramiko.UnknownKeyType:
            continue
        except Exception as exc:  # noqa: BLE001 - any parse failure of one key line
            raise ConnectError(
                f"{host}: {path}:{entry.line}: the {entry.key_type} key of this known_hosts"
                f" line cannot be read ({type(exc).__name__})"
            )
        # As HostKeys.load does: one entry per line, in file order, names already known with
        # this very key left out (`add` would replace an earlier file's key instead).
        names = [name for name in entry.patterns if not keys.check(name, key)]
        if names:
            keys._entries.append(HostKeyEntry(names, key))


def _host_port(where: str) -> tuple[str, int]:
    """(host, port) of `user@host:port`."""
    host, _, port = where.rpartition("@")[2].rpartition(":")
    return host, int(port)


def fingerprint(key: Any) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_host_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def _host_key_policy(config: HostConfig, accept_new: bool, record_file: Path) -> Any:
    paramiko = import_paramiko()

    class Policy(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            if not accept_new:
                raise HostKeyError(
                    f"{config.name}: unknown host key for {hostname} "
                    f"({key.get_name()} {fingerprint(key)})\n"
                    f"  if this fingerprint is right, accept it with --accept-new-host-keys "
                    f"(recorded in {record_file}), or add the key with "
                    f"`ssh-keyscan -p {config.port} {config.address} >> {record_file}`"
                )
            line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
            with _known_hosts_lock:
                record_file.parent.mkdir(parents=True, exist_ok=True)
                with open(record_file, "a") as handle:
                    handle.write(line)
            client.get_host_keys().add(hostname, key.get_name(), key)

    return Policy()


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in words; paramiko's banner errors said plainly."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if "protocol banner" in text:
        return "no SSH banner came from the server (is it an SSH server?)"
    if text == "No existing session":
        return "the connection ended before an SSH session was set up (no SSH banner?)"
    return text


def _write_hint(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


#: where the stale-entry hint goes (tests may replace it)
hint: Callable[[str], None] = _write_hint
_hinted: set[tuple[str, str]] = set()


def stale_entry_hint(config: HostConfig, user_file: Path, own: Any) -> str | None:
    """For a host checked against its own known_hosts only: a hint when `user_file` (the
    user's ~/.ssh/known_hosts, which is not read for this host) holds a key for the host's
    address that the own file contradicts, with the `ssh-keygen -R` line that removes it."""
    paramiko = import_paramiko()
    from paramiko.hostkeys import InvalidHostKey

    name = known_host_name(config.address, config.port)
    expected = own.lookup(name)
    if expected is None or not user_file.is_file():
        return None
    user = paramiko.HostKeys()
    try:
        user.load(str(user_file))
    except (OSError, ValueError, paramiko.SSHException, InvalidHostKey):
        return None  # not read for this host anyway: no hint
    found = user.lookup(name)
    if found is None:
        return None
    if not any(kind in expected and expected[kind] != key for kind, key in found.items()):
        return None
    command = ["ssh-keygen"]
    if user_file != _default_user_known_hosts():
        command += ["-f", str(user_file)]
    command += ["-R", name]
    return (
        f"hint: {config.name}: {user_file} holds an old host key for {name}; it is ignored,"
        f" since {config.name} is checked against {config.known_hosts} only"
        " (provision_known_hosts_only). plain ssh still refuses the host until the old line"
        f" is removed: {shlex.join(command)}"
    )


def _default_user_known_hosts() -> Path:
    """The file `ssh` and `ssh-keygen -R` use: under the passwd home, not $HOME."""
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh" / "known_hosts"
    except KeyError:
        return Path.home() / ".ssh" / "known_hosts"


def _hint_stale_entry(config: HostConfig, user_file: Path, own: Any) -> None:
    """Give the stale-entry hint once per process for a file and address."""
    text = stale_entry_hint(config, user_file, own)
    if text is None:
        return
    marker = (str(user_file), known_host_name(config.address, config.port))
    with _known_hosts_lock:
        if marker in _hinted:
            return
        _hinted.add(marker)
    hint(text)


class LineRelay:
    """Hands each whole line a command prints (stdout and stderr, each split at \n on its
    own, a line cut between two reads joined first) to a callback as it arrives."""

    def __init__(self, callback: Callable[[str], None] | None) -> None:
        self.callback = callback
        self.partial: dict[str, bytes] = {"out": b"", "err": b""}

    def feed(self, stream: str, chunk: bytes) -> None:
        if self.callback is None:
            return
        *whole, self.partial[stream] = (self.partial[stream] + chunk).split(b"\n")
        for line in whole:
            self.callback(line.decode("utf-8", errors="replace"))

    def flush(self) -> None:
        for stream, rest in self.partial.items():
            if rest and self.callback is not None:
                self.callback(rest.decode("utf-8", errors="replace"))
            self.partial[stream] = b""


# Opening a session on an authenticated connection waits for the host's sshd (PAM, the
# session's set-up), not the network: the connect timeout is too short for it on a busy
# host. The benchmark's fleet of 40 lab hosts on 2 cores lost a host to "Timeout opening
# channel" at the 10 s connect timeout; OpenSSH itself sets no bound here.
CHANNEL_OPEN_SECONDS = 120.0


@dataclass
class SSHConnection(ShellRunner):
    """One SSH connection for the whole run; every command is one exec channel on it."""

    config: HostConfig
    timeout: float = 10.0
    accept_new_host_keys: bool = False
    retries: int = 0
    commands_run: int = 0
    connections_opened: int = 0
    become: Become = field(init=False)
    _conn: Any = None
    _gateway: Any = None
    _gateways: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        # become is root (sudo: `become_user` is per task, runuser), or su's become_user
        self.become = Become(
            self.config.user, self.config.become_password, method=self.config.become_method
        )
        self.become.target = su_target(self.config)

    def _record_file(self) -> Path:
        if self.config.known_hosts:
            return Path(self.config.known_hosts)
        return Path.home() / ".ssh" / "known_hosts"

    def _client_setup(self, conn: Any, target: bool = True) -> None:
        client = conn.client
        system = Path.home() / ".ssh" / "known_hosts"
        own = Path(self.config.known_hosts) if self.config.known_hosts else None
        only = target and self.config.known_hosts_only and own is not None
        keys = client.get_host_keys()
        for path in (own,) if only else (system, own):
            if path is not None:
                load_known_hosts(keys, path, self.config.name)
        if only:
            _hint_stale_entry(self.config, system, keys)
        policy = _host_key_policy(self.config, self.accept_new_host_keys, self._record_file())
        client.set_missing_host_key_policy(policy)

    def _connect_kwargs(self, first_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        """paramiko's arguments: the key files to try (`first_keys`, then the host's key or
        its ssh_config IdentityFiles that exist), else the default keys and the agent."""
        keys = [k for k in first_keys if os.path.isfile(k)]
        if self.config.key_file:
            try:
                check_key_file(self.config.key_file)
            except ConnValueError as exc:
                raise ConnectError(f"{self.config.name}: private key file {exc.message}")
            keys.append(self.config.key_file)
        else:
            keys += [k for k in self.config.identity_files if os.path.isfile(k)]
        keys = list(dict.fromkeys(keys))
        kwargs: dict[str, Any] = {
            "banner_timeout": self.timeout,
            "auth_timeout": self.timeout,
            "look_for_keys": not keys,
            "allow_agent": "SSH_AUTH_SOCK" in os.environ
            and not (self.config.key_file or self.config.identity_files),
        }
        if keys:
            kwargs["key_filename"] = keys
        if self.config.password:
            kwargs["password"] = self.config.password
        return kwargs

    def _describe_auth(self, kwargs: dict[str, Any]) -> str:
        """The auth methods tried, for -vvvv: key file names, agent, password: never a secret."""
        methods = [f"key {k}" for k in kwargs.get("key_filename", [])]
        if kwargs.get("look_for_keys"):
            methods.append("the default keys in ~/.ssh")
        if kwargs.get("allow_agent"):
            methods.append("the ssh agent")
        if kwargs.get("password"):
            methods.append("a password (not shown)")
        return ", ".join(methods) or "none"

    def open(self) -> None:
        """Connect, retrying with backoff (1 s, 2 s, 4 s ...) up to `retries` more times;
        host key and authentication failures are never retried."""
        attempt = 0
        while True:
            try:
                return self._open_once()
            except HostKeyError:
                raise
            except ConnectError as exc:
                if attempt >= self.retries or "authentication failed" in str(exc):
                    raise
                self.close()  # the hops opened by the failed attempt
                time.sleep(min(2**attempt, 30))
                attempt += 1

    def _open_once(self) -> None:
        if self._conn is not None:
            return
        gateway: Any = None
        gateways: list[Any] = []
        self._gateways = gateways  # closed by close() even when a later hop fails
        hops = self.config.jump_hosts
        for index, hop in enumerate(hops):  # checked at compile; each hop through the last
            kwargs = self._connect_kwargs(hop.identity_files)
            user = hop.user or self.config.user
            where = f"{user}@{hop.host}:{hop.port}"
            alias = f" ({hop.name})" if hop.name else ""
            label = f"jump host {index + 1} of {len(hops)}{alias} {where}"
            via = f" through jump host {index}" if index else ""
            log.debug(
                "%s: connecting to %s%s; auth: %s",
                self.config.name,
                label,
                via,
                self._describe_auth(kwargs),
            )
            # the first hop may be reached by its own ProxyCommand (ssh_config)
            first: Any = gateway if gateway is not None else hop.proxy_command
            hop_conn = Hop(hop.host, user, hop.port, self.timeout, kwargs, first)
            self._client_setup(hop_conn, target=False)
            gateways.append(hop_conn)
            if first is None:
                hop_conn.connect_kwargs["sock"] = self._socket(hop.host, hop.port, label)
            self._connect(hop_conn, label, where)
            log.debug("%s: %s: connected", self.config.name, label)
            gateway = hop_conn
        if gateway is None and self.config.proxy_command:
            gateway = self.config.proxy_command
            log.debug("%s: through ProxyCommand %s", self.config.name, gateway)
        kwargs = self._connect_kwargs()
        conn = Hop(
            self.config.address, self.config.user, self.config.port, self.timeout, kwargs, gateway
        )
        self._client_setup(conn)
        where = f"{self.config.user}@{self.config.address}:{self.config.port}"
        via = f" through jump host {len(hops)}" if hops else ""
        log.debug(
            "%s: connecting to %s%s; auth: %s",
            self.config.name,
            where,
            via,
            self._describe_auth(kwargs),
        )
        if gateway is None:
            # Our own socket, so TCP_NODELAY holds from the first packet: without it each
            # small exec round trip waits on Nagle's algorithm and delayed ACKs.
            conn.connect_kwargs["sock"] = self._socket(self.config.address, self.config.port, where)
        self._connect(conn, where + via, where, target=True)
        transport = conn.client.get_transport()
        log.debug(
            "%s: connected to %s (host key %s)",
            self.config.name,
            where,
            fingerprint(transport.get_remote_server_key()),
        )
        transport.set_keepalive(KEEPALIVE_SECONDS)
        sock = transport.sock
        if isinstance(sock, socket.socket) and hasattr(socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, DEAD_LINK_MS)
        self._conn = conn
        self._gateway = gateway
        self.connections_opened += 1

    def _socket(self, host: str, port: int, label: str) -> socket.socket:
        name = self.config.name
        try:
            sock = socket.create_connection((host, port), self.timeout)
        except TimeoutError:
            raise ConnectError(f"{name}: timed out connecting to {label} after {self.timeout:g}s")
        except OSError as exc:
            raise ConnectError(f"{name}: cannot connect to {label}: {_reason(exc)}")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _connect(self, conn: Any, label: str, where: str, target: bool = False) -> None:
        """Open one SSH connection; a failure names `label` (the target or which jump host)."""
        paramiko = import_paramiko()

        name = self.config.name
        try:
            conn.open()
        except HostKeyError as exc:
            if target:
                raise
            raise HostKeyError(f"{name}: {label}: {str(exc).removeprefix(name + ': ')}")
        except paramiko.BadHostKeyException as exc:
            raise HostKeyError(
                f"{name}: HOST KEY CHANGED for {label}: expected "
                f"{fingerprint(exc.expected_key)}, got {fingerprint(exc.key)};"
                " refusing to connect.\n"
                f"  if the host was reinstalled, remove its old line from known_hosts "
                f"(ssh-keygen -R {known_host_name(*_host_port(where))})"
            )
        except paramiko.AuthenticationException as exc:
            raise ConnectError(f"{name}: authentication failed for {label}: {exc}")
        except paramiko.ChannelException as exc:
            raise ConnectError(
                f"{name}: cannot connect to {label}: the jump host before it could not open"
                f" a connection to it ({exc.text or exc})"
            )
        except TimeoutError:
            raise ConnectError(f"{name}: timed out connecting to {label} after {self.timeout:g}s")
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise ConnectError(f"{name}: cannot connect to {label}: {_reason(exc)}")

    def _exec(
        self, line: str, stdin: bytes | None, on_line: Callable[[str], None] | None = None
    ) -> Result:
        paramiko = import_paramiko()

        self.commands_run += 1
        transport = self._conn.client.get_transport()
        out, err = bytearray(), bytearray()
        try:
            channel = transport.open_session(timeout=max(self.timeout, CHANNEL_OPEN_SECONDS))
            channel.exec_command(line)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            lines = LineRelay(on_line)
            quiet_since: float | None = None  # exited, no output since: when
            while True:
                select.select([channel], [], [], 1.0 if quiet_since is None else 0.05)
                got = channel.recv_ready() or channel.recv_stderr_ready()
                while channel.recv_ready():
                    chunk = channel.recv(65536)
                    out += chunk
                    lines.feed("out", chunk)
                while channel.recv_stderr_ready():
                    chunk = channel.recv_stderr(65536)
                    err += chunk
                    lines.feed("err", chunk)
                if channel.exit_status_ready() and not (
                    channel.recv_ready() or channel.recv_stderr_ready()
                ):
                    # sshd sends the exit status when the command ends and its output as it
                    # drains the pipe: the last output can come after it. Done at EOF (or
                    # when a child left running keeps the pipe open: quiet for a while).
                    now = time.monotonic()
                    quiet_since = now if got or quiet_since is None else quiet_since
                    if channel.eof_received or now - quiet_since >= EXIT_OUTPUT_GRACE:
                        break
                if not transport.is_active():
                    raise ConnectionLost(
                        f"{self.config.name}: connection lost while a command ran",
                        bytes(out),
                        bytes(err),
                    )
            lines.flush()
            rc = channel.recv_exit_status()
            channel.close()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectionLost(
                f"{self.config.name}: connection lost: {exc or type(exc).__name__}",
                bytes(out),
                bytes(err),
            )
        if rc == -1:
            raise ConnectionLost(
                f"{self.config.name}: the command ended without an exit status "
                "(connection dropped or killed)",
                bytes(out),
                bytes(err),
            )
        return Result(rc, bytes(out), bytes(err))

    def close(self) -> None:
        for item in (self._conn, *reversed(self._gateways)):
            if item is not None and not isinstance(item, str):
                try:
                    item.close()
                except Exception:  # noqa: BLE001 - closing a dead connection may fail
                    pass
        self._conn = None
        self._gateways = []
