"""The common fact kinds: files, packages, updates, services, sysctls, users, groups, commands.

Each kind's `case_value` documents the simple form the table tests give its value in
(a case's `facts:` mapping); a kind a task type alone needs may live in that type's module.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from provision.facts.base import CaseFacts, FactError, FactKind, tail, text

MAX_FILE_BYTES = 1024 * 1024
MISSING_TOOL = 127


@dataclass(frozen=True)
class FileState:
    exists: bool
    kind: str = "regular file"
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    content: bytes | None = None
    known: bool = True  # False: content will come from an earlier planned change, not knowable
    sha256: str | None = None  # hex digest, read instead of the content of a large file

    def same_content(self, content: bytes) -> bool:
        """Whether the file holds exactly `content`: by bytes, or by SHA-256 when the file
        was too large to read whole (a file with neither is never taken as the same)."""
        if self.content is not None:
            return self.content == content
        if self.sha256 is not None:
            return self.sha256 == hashlib.sha256(content).hexdigest()
        return False


@dataclass(frozen=True)
class FileFact(FactKind):
    kind = "file"
    path: str
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.path)
        return (
            # one stat: its last field (the size) decides between the content and a digest
            f"if [ -e {p} ] || [ -L {p} ]; then s=$(stat -L -c '%F|%a|%U|%G|%s' -- {p}) || exit 3; "
            "printf '%s\\n' \"$s\"; "
            f'if [ -f {p} ]; then if [ "${{s##*|}}" -le {MAX_FILE_BYTES} ]; '
            f"then base64 -w0 -- {p}; "
            f"else printf 'sha256:'; sha256sum < {p} 2>/dev/null | cut -c1-64; fi; fi; "
            "else echo ABSENT; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> FileState:
        if rc != 0:
            raise FactError(f"cannot read {self.path}: {tail(stderr)}")
        first, _, rest = text(stdout).partition("\n")
        if first.strip() == "ABSENT":
            return FileState(exists=False)
        parts = first.split("|")
        if len(parts) != 5:
            raise FactError(f"unexpected stat output for {self.path}: {first!r}")
        kind, mode, owner, group, size = parts
        content = digest = None
        body = rest.strip()
        if kind.startswith("regular") and body.startswith("sha256:"):
            digest = body.removeprefix("sha256:").strip() or None  # empty: no sha256sum
            if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise FactError(f"unexpected sha256sum output for {self.path}: {digest!r}")
        elif kind.startswith("regular") and int(size) <= MAX_FILE_BYTES:
            try:
                content = base64.b64decode(body, validate=True)
            except ValueError:
                raise FactError(f"unreadable content of {self.path}")
        return FileState(True, kind, int(mode, 8), owner, group, content, sha256=digest)

    def describe(self) -> str:
        return f"file {self.path}"

    def case_value(self, case: CaseFacts) -> FileState:
        """`files: {PATH: {content: TEXT or {base64: ...}, mode: "0644", owner, group,
        kind: directory, known: false} or {exists: false}}`; a path not listed is absent."""
        spec = case.section("files").get(self.path)
        if spec is None or spec.get("exists", True) is False:
            return FileState(False)
        content = spec.get("content", "")
        if isinstance(content, dict):  # {base64: ...} for binary content
            data: bytes | None = base64.b64decode(content["base64"])
        else:
            data = None if content is None else str(content).encode()
        mode = parse_mode(spec.get("mode", "0644"))
        if mode is None:
            raise ValueError(f"files: {self.path}: bad mode {spec.get('mode')!r}")
        return FileState(
            True,
            spec.get("kind", "regular file"),
            mode,
            spec.get("owner", "root"),
            spec.get("group", "root"),
            data,
            spec.get("known", True),
        )


@dataclass(frozen=True)
class PackagesFact(FactKind):
    """Installed packages by their own NAME (a provide such as runc never counts)."""

    kind = "packages"
    slow: bool = True

    def command(self) -> str:
        return (
            "command -v rpm >/dev/null || exit 127; "
            "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n'"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> dict[str, tuple[str, ...]]:
        if rc == MISSING_TOOL:
            return {}
        if rc != 0:
            raise FactError(f"rpm -qa failed: {tail(stderr)}")
        found: dict[str, list[str]] = {}
        for line in text(stdout).splitlines():
            if not line.strip():
                continue
            name, sep, evr = line.partition("\t")
            if not sep:
                raise FactError(f"unexpected rpm output line: {line!r}")
            found.setdefault(name, []).append(evr)
        return {k: tuple(v) for k, v in found.items()}

    def describe(self) -> str:
        return "installed packages"

    def case_value(self, case: CaseFacts) -> dict[str, tuple[str, ...]]:
        """`packages: {NAME: [EPOCH:VERSION-RELEASE.ARCH, ...]}`."""
        return {k: tuple(v) for k, v in case.section("packages").items()}


@dataclass(frozen=True)
class Update:
    name: str
    version: str
    repo: str


@dataclass(frozen=True)
class UpdatesFact(FactKind):
    kind = "updates"
    security: bool = False
    slow: bool = True

    def command(self) -> str:
        flag = " --security" if self.security else ""
        return f"command -v dnf >/dev/null || exit 127; dnf -q check-update{flag}"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[Update, ...]:
        if rc == MISSING_TOOL:
            raise FactError("dnf is not installed on this host")
        if rc == 0:
            return ()
        if rc != 100:
            raise FactError(f"dnf check-update failed (exit {rc}):\n{tail(stderr, 8)}")
        updates = []
        pending_name: str | None = None  # dnf wraps a long name onto a line of its own
        for line in text(stdout).splitlines():
            if line.startswith("Obsoleting"):
                break
            if not line.strip() or line.startswith(("Security:", "Last meta")):
                continue
            parts = line.split()
            wrapped = pending_name is not None and line[:1].isspace() and len(parts) == 2
            if wrapped:
                parts = [pending_name, *parts]
            pending_name = None
            if len(parts) == 1 and not line[:1].isspace():
                pending_name = parts[0]
                continue
            if len(parts) != 3 or (line[:1].isspace() and not wrapped):
                raise FactError(f"unexpected dnf check-update line: {line!r}")
            name = parts[0].rsplit(".", 1)[0]
            updates.append(Update(name, parts[1], parts[2]))
        if pending_name is not None:
            raise FactError(f"unexpected end of dnf check-update output after {pending_name!r}")
        return tuple(updates)

    def describe(self) -> str:
        return "pending updates"

    def case_value(self, case: CaseFacts) -> tuple[Update, ...]:
        """`updates: [{name, version, repo}]` (`security_updates:` for `--security`)."""
        key = "security_updates" if self.security else "updates"
        return tuple(Update(u["name"], u["version"], u["repo"]) for u in case.facts.get(key) or [])


@dataclass(frozen=True)
class ServiceState:
    load: str  # loaded, not-found, masked
    active: str  # active, inactive, failed, activating ...
    enabled: str  # enabled, disabled, static, masked, "" for not-found

    @property
    def exists(self) -> bool:
        return self.load not in ("not-found", "")

    @property
    def running(self) -> bool:
        return self.active in ("active", "activating", "reloading")

    @property
    def is_enabled(self) -> bool:
        return self.enabled in ("enabled", "enabled-runtime", "alias", "static", "indirect")


@dataclass(frozen=True)
class ServiceFact(FactKind):
    kind = "service"
    name: str
    slow: bool = False

    @property
    def unit(self) -> str:
        return self.name if "." in self.name else f"{self.name}.service"

    def command(self) -> str:
        unit = shlex.quote(self.unit)
        return (
            "command -v systemctl >/dev/null || exit 127; "
            f"systemctl show -p LoadState -p ActiveState -p UnitFileState -- {unit}"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> ServiceState:
        if rc == MISSING_TOOL:
            raise FactError("systemctl is not available on this host")
        if rc != 0:
            raise FactError(f"systemctl show {self.unit} failed: {tail(stderr)}")
        values = dict(line.partition("=")[::2] for line in text(stdout).splitlines() if "=" in line)
        if "LoadState" not in values or "ActiveState" not in values:
            raise FactError(f"unexpected systemctl output for {self.unit}: {text(stdout)!r}")
        return ServiceState(
            values["LoadState"], values["ActiveState"], values.get("UnitFileState", "")
        )

    def describe(self) -> str:
        return f"service {self.unit}"

    def case_value(self, case: CaseFacts) -> ServiceState:
        """`services: {NAME or UNIT: {load, active, enabled}}`; not listed: not found."""
        services = case.section("services")
        spec = services.get(self.name) or services.get(self.unit)
        if spec is None:
            return ServiceState("not-found", "inactive", "")
        return ServiceState(spec["load"], spec["active"], spec.get("enabled", ""))


@dataclass(frozen=True)
class SysctlFact(FactKind):
    kind = "sysctl"
    key: str
    slow: bool = False

    def command(self) -> str:
        return f"sysctl -n -- {shlex.quote(self.key)}"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> str | None:
        if rc != 0:
            if b"cannot stat" in stderr or b"No such file" in stderr:
                return None
            raise FactError(f"sysctl {self.key} failed: {tail(stderr)}")
        return normalise_sysctl(text(stdout))

    def describe(self) -> str:
        return f"sysctl {self.key}"

    def case_value(self, case: CaseFacts) -> str | None:
        """`sysctls: {KEY: VALUE}`; a key not listed does not exist on the kernel."""
        value = case.section("sysctls").get(self.key)
        return None if value is None else str(value)


def normalise_sysctl(value: str) -> str:
    return " ".join(str(value).split())


@dataclass(frozen=True)
class UserState:
    name: str
    uid: int
    home: str
    shell: str
    groups: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class UserFact(FactKind):
    kind = "user"
    name: str
    slow: bool = False

    def command(self) -> str:
        n = shlex.quote(self.name)
        return f"getent passwd -- {n} || exit 2; id -Gn -- {n}"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> UserState | None:
        if rc == 2:
            return None
        if rc != 0:
            raise FactError(f"cannot read user {self.name}: {tail(stderr)}")
        lines = text(stdout).splitlines()
        fields = lines[0].split(":")
        if len(fields) < 7:
            raise FactError(f"unexpected getent output: {lines[0]!r}")
        groups = tuple(lines[1].split()) if len(lines) > 1 else ()
        return UserState(fields[0], int(fields[2]), fields[5], fields[6], groups)

    def describe(self) -> str:
        return f"user {self.name}"

    def case_value(self, case: CaseFacts) -> UserState | None:
        """`users: {NAME: {uid, home, shell, groups: [primary, ...]}}`; not listed: absent."""
        spec = case.section("users").get(self.name)
        if spec is None:
            return None
        return UserState(
            self.name,
            spec.get("uid", 1000),
            spec.get("home", f"/home/{self.name}"),
            spec.get("shell", "/bin/bash"),
            tuple(spec.get("groups", [self.name])),
        )


@dataclass(frozen=True)
class GroupState:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class GroupFact(FactKind):
    kind = "group"
    name: str
    slow: bool = False

    def command(self) -> str:
        return f"getent group -- {shlex.quote(self.name)} || exit 2"

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> GroupState | None:
        if rc == 2:
            return None
        if rc != 0:
            raise FactError(f"cannot read group {self.name}: {tail(stderr)}")
        fields = text(stdout).strip().split(":")
        if len(fields) != 4:
            raise FactError(f"unexpected getent output: {text(stdout)!r}")
        members = tuple(m for m in fields[3].split(",") if m)
        return GroupState(fields[0], int(fields[2]), members)

    def describe(self) -> str:
        return f"group {self.name}"

    def case_value(self, case: CaseFacts) -> GroupState | None:
        """`groups: {NAME: {gid, members: [...]}}`; not listed: absent."""
        spec = case.section("groups").get(self.name)
        if spec is None:
            return None
        return GroupState(self.name, spec.get("gid", 1000), tuple(spec.get("members", [])))


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class CommandFact(FactKind):
    """A read-only command of the user's (a guard or an assert); its result as is."""

    kind = "command"
    verbatim = True
    script: str
    slow: bool = True

    def command(self) -> str:
        return self.script

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> CommandResult:
        return CommandResult(rc, text(stdout).strip(), text(stderr).strip())

    def describe(self) -> str:
        return f"command {self.script}"

    def case_value(self, case: CaseFacts) -> CommandResult:
        """`commands: {SCRIPT: {rc, stdout, stderr}}`: every command the task runs must be
        listed (a guessed answer would hide a wrong script)."""
        commands = case.section("commands")
        if self.script not in commands:
            raise KeyError(f"case has no answer for command {self.script!r}")
        spec: dict[str, Any] = commands[self.script] or {}
        return CommandResult(spec.get("rc", 0), str(spec.get("stdout", "")), spec.get("stderr", ""))


_MODE = re.compile(r"^0?[0-7]{3,4}$")


def parse_mode(value: object) -> int | None:
    """A file mode from YAML: '0644', 644 (octal digits) or 0o644 (an int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        if re.fullmatch(r"[0-7]{3,4}", digits):
            return int(digits, 8)
        return None
    if isinstance(value, str) and _MODE.match(value.strip()):
        return int(value.strip(), 8)
    return None
