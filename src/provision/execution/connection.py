"""Connections: run a shell script on a host, as root when asked. SSH and local."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from provision.errors import ConnectError, ProvisionError
from provision.project.hostconfig import HostConfig

SUDO_PASSWORD_REQUIRED = ("a password is required", "a terminal is required")


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: bytes
    stderr: bytes

    def error_tail(self, lines: int = 12) -> list[str]:
        raw = (self.stderr or self.stdout).decode("utf-8", errors="replace").strip()
        return raw.splitlines()[-lines:]


class ConnectionLost(ConnectError):
    """The connection ended while a command ran: what the command had printed until then
    (a batch script's complete frames tell which of its commands had ended)."""

    def __init__(self, message: str, stdout: bytes = b"", stderr: bytes = b"") -> None:
        super().__init__(message)
        self.stdout = stdout
        self.stderr = stderr


class Connection(Protocol):
    """What execution needs from a host: run a script (with stdin), count round trips.
    `on_line`, when given, gets each line the script prints (stdout or stderr) as it comes,
    where the connection can stream (SSH; the local connection does not)."""

    commands_run: int
    connections_opened: int

    def run(
        self,
        script: str,
        stdin: bytes | None = None,
        become: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> Result: ...

    def close(self) -> None: ...


class BecomeError(ProvisionError):
    """The host answered, but sudo refused: the host fails (it is not unreachable)."""


@dataclass
class Become:
    """How to run as root on this host: nothing, `sudo -n`, or `sudo -S` with a password."""

    user: str
    password: str | None = None
    password_needed: bool | None = None  # learnt with one `sudo -n true` when a password is set
    # who `become` runs as (checked: no leading '-'): root, or for su the host's or play's
    # become_user (project/become.py su_user; set per play by the runner)
    target: str = "root"
    method: str = "sudo"  # or "su": the target's password on a pipe (see `su_line`)

    def needs_check(self) -> bool:
        return (
            self.method == "sudo"
            and self.password is not None
            and self.password_needed is None
            and self.user != "root"
        )

    def wrap(self, script: str, stdin: bytes | None, as_root: bool) -> tuple[str, bytes | None]:
        """(command line, stdin) for `script`; the script itself is fed on stdin when possible."""
        if as_root and self.method == "su" and self.target != "root":
            script = su_shim(self.target) + script
        if not as_root or self.user == self.target or (self.user == "root" == self.target):
            if stdin is None:
                return "sh -s", script.encode()
            return f"sh -c {shlex.quote(script)}", stdin
        if self.method == "su":
            return su_line(script, stdin, self.password or "", self.target)
        who = "" if self.target == "root" else f"-u {shlex.quote(self.target)} "
        if self.password_needed and self.password is not None:
            prefix = (self.password + "\n").encode()
            if stdin is None:
                return f"sudo -k -S -p '' {who}-- sh -s", prefix + script.encode()
            return f"sudo -k -S -p '' {who}-- sh -c {shlex.quote(script)}", prefix + stdin
        if stdin is None:
            return f"sudo -n {who}-- sh -s", script.encode()
        return f"sudo -n {who}-- sh -c {shlex.quote(script)}", stdin


def su_target(config: HostConfig) -> str:
    """Whom `become` runs as on this connection (see project/become.py su_user)."""
    return config.become_user if config.become_method == "su" else "root"


SU_FAILED = ("su: Authentication failure", "su: incorrect password", "su: Permission denied")


def su_shim(user: str) -> str:
    """A shell function put before a script that `su` runs as `user` (not root): a task's
    `runuser -u USER -- CMD` (how provision reaches a become_user from root) runs CMD as
    it is, since the shell is already USER; another user is refused (exit 126). Compile
    refuses such a task first (project/become.py check_su_user): this is the backstop."""
    quoted = shlex.quote(user)
    return (
        f'runuser() {{ if [ "$#" -gt 3 ] && [ "$1" = -u ] && [ "$2" = {quoted} ]'
        ' && [ "$3" = -- ]; then shift 3; "$@"; else'
        f" printf 'provision: su became %s and cannot run a command as another user\\n'"
        f" {quoted} >&2; return 126; fi; }}\n"
    )


def su_line(
    script: str, stdin: bytes | None, password: str, user: str = "root"
) -> tuple[str, bytes]:
    """(command line, stdin) that runs `script` as `user` through `su USER -c` (Ansible's
    su: the password is that user's own), over one exec channel and without a terminal.

    The channel's stdin starts with the password on one line. The login shell reads
    that line with its `read` builtin (one byte at a time, so nothing after it is taken);
    `printf` (a builtin: no argv) hands it to su alone on a pipe, so PAM's conversation
    reads it there; the rest of the channel's stdin (the script, or the command's own
    input) reaches the root shell as fd 3, made its stdin again. The script is in argv
    only when the command has its own stdin, as with sudo."""
    inner = "exec sh -s" if stdin is None else f"exec sh -c {shlex.quote(script)}"
    line = (
        "IFS= read -r p || exit 125; "
        f"{{ printf '%s\\n' \"$p\" | su {shlex.quote(user)} -c"
        f" {shlex.quote(inner + ' 0<&3 3<&-')}; }} 3<&0"
    )
    body = script.encode() if stdin is None else stdin
    return line, (password + "\n").encode() + body


def check_become_result(host: str, user: str, result: Result) -> None:
    """Turn sudo's own refusals into one clear error naming the host and user."""
    if result.rc == 0:
        return
    err = result.stderr.decode("utf-8", errors="replace")
    if any(text in err for text in SU_FAILED):
        raise BecomeError(
            f"{host}: su refused the become password (the password of the user su becomes:"
            f" root, or the host's or play's become_user; from ansible_become_password) for"
            f" user {user!r}"
        )
    if "sudo:" not in err:
        return
    if any(text in err for text in SUDO_PASSWORD_REQUIRED):
        raise BecomeError(
            f"{host}: sudo needs a password for user {user!r}; set ansible_become_password "
            '(from the environment: "{{ env.NAME }}") or give the user NOPASSWD sudo'
        )
    if "incorrect password" in err or "Sorry, try again" in err:
        raise BecomeError(f"{host}: sudo refused the become password for user {user!r}")
    if "is not in the sudoers file" in err or "not allowed to execute" in err:
        raise BecomeError(f"{host}: user {user!r} may not use sudo on this host")
    if "command not found" in err and "sudo" in err.split("command not found")[0][-20:]:
        raise BecomeError(f"{host}: sudo is not installed; become needs sudo")


class ShellRunner:
    """`run` for connections that execute a command line: become, then sudo's refusals.
    Subclasses give `config`, `become`, `_exec(line, stdin, on_line)` and `open()`."""

    config: HostConfig
    become: Become

    def open(self) -> None:
        return None

    def _exec(
        self, line: str, stdin: bytes | None, on_line: Callable[[str], None] | None = None
    ) -> Result:
        raise NotImplementedError

    def run(
        self,
        script: str,
        stdin: bytes | None = None,
        become: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> Result:
        self.open()
        if become and self.become.needs_check():
            self.become.password_needed = self._exec("sudo -n true", None).rc != 0
        line, data = self.become.wrap(script, stdin, become)
        result = self._exec(line, data, on_line)
        if become:
            check_become_result(self.config.name, self.become.user, result)
        return result


@dataclass
class LocalConnection(ShellRunner):
    """Runs on this machine (`ansible_connection: local`)."""

    config: HostConfig
    commands_run: int = 0
    connections_opened: int = 1
    become: Become = field(init=False)

    def __post_init__(self) -> None:
        user = "root" if os.geteuid() == 0 else self.config.user
        # become is root (sudo: `become_user` is per task, runuser), or su's become_user
        self.become = Become(user, self.config.become_password, method=self.config.become_method)
        self.become.target = su_target(self.config)

    def _exec(
        self, line: str, stdin: bytes | None, on_line: Callable[[str], None] | None = None
    ) -> Result:
        self.commands_run += 1
        # A session of its own: a terminal's Ctrl-C stops provision, not the running command.
        proc = subprocess.run(
            ["sh", "-c", line], input=stdin or b"", capture_output=True, start_new_session=True
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        return None
