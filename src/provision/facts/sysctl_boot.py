"""What the kernel parameters will be after a reboot: every file systemd-sysctl reads, in its
order, read in one probe; the parsing and the ordering are pure and table-tested.

The rules (sysctl.d(5)):

- `*.conf` in /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
  /lib/sysctl.d, by file name: a name in an earlier folder hides the same name in a later
  one (/etc overrides /usr/lib); a link to /dev/null (or an empty file) masks it. The files
  are then read in the lexical order of their names.
- /etc/sysctl.conf is read last (as `sysctl --system` does; RHEL links it in as
  /etc/sysctl.d/99-sysctl.conf, then it is read there, once).
- A line is `key = value`; empty lines and lines starting with `#` or `;` are comments. A
  leading `-` only means "ignore a failure to set it". `-key` without `=` excludes the key
  from glob assignments. `/` and `.` are both separators: when the first separator is a
  slash, the two are swapped to get the dotted name.
- Later assignments win; an explicit assignment always wins over a glob pattern.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import posixpath
from dataclasses import dataclass, replace

from provision.facts.base import CaseFacts, FactError, FactKind, tail

SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"
MAX_BYTES = 1024 * 1024
MARK = "@@provision-sysctl "


def dotted(key: str) -> str:
    """The dotted form of a sysctl key (`net/ipv4/ip_forward` → `net.ipv4.ip_forward`)."""
    key = key.strip()
    slash, dot = key.find("/"), key.find(".")
    if slash != -1 and (dot == -1 or slash < dot):
        return key.translate(str.maketrans("./", "/."))
    return key


def normalise_value(value: str) -> str:
    return " ".join(str(value).split())


@dataclass(frozen=True)
class BootFile:
    """One file as listed on the host (path, where it really is, stat, text or None)."""

    path: str
    realpath: str
    content: str | None
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"

    @property
    def masked(self) -> bool:
        return self.realpath == "/dev/null"


@dataclass(frozen=True)
class Assignment:
    key: str  # dotted
    value: str | None  # None: `-key` (exclude from globs)
    path: str  # the file as read (its realpath)
    line: int  # 1-based
    text: str  # the line as written

    @property
    def is_glob(self) -> bool:
        return any(c in self.key for c in "*?[")


@dataclass(frozen=True)
class SysctlBoot:
    """The listed files, in listing order (folder by folder)."""

    files: tuple[BootFile, ...] = ()

    def with_content(self, path: str, content: str) -> SysctlBoot:
        """The same listing with `path` (a real path) holding `content` (added if new)."""
        changed, found = [], False
        for f in self.files:
            if f.realpath == path:
                found = True
                f = replace(f, content=content)
            changed.append(f)
        if not found:
            changed.append(BootFile(path, path, content))
        return SysctlBoot(tuple(changed))

    def file(self, realpath: str) -> BootFile | None:
        return next((f for f in self.files if f.realpath == realpath), None)


def read_order(boot: SysctlBoot) -> list[BootFile]:
    """The files systemd-sysctl reads, in order (masked ones dropped), then sysctl.conf."""
    chosen: dict[str, BootFile] = {}
    for directory in SYSCTL_DIRS:
        for f in boot.files:
            if posixpath.dirname(f.path) != directory or not f.path.endswith(".conf"):
                continue
            chosen.setdefault(posixpath.basename(f.path), f)
    order = [chosen[name] for name in sorted(chosen) if not chosen[name].masked]
    conf = next((f for f in boot.files if f.path == SYSCTL_CONF), None)
    if conf is not None and not conf.masked and all(f.realpath != conf.realpath for f in order):
        order.append(conf)
    return order


def is_read_at_boot(boot: SysctlBoot, realpath: str) -> bool:
    return any(f.realpath == realpath for f in read_order(boot))


def assignments(path: str, content: str) -> list[Assignment]:
    """The assignments of one file, in order (syntax errors are skipped, as systemd does)."""
    found = []
    for number, raw in enumerate(content.split("\n"), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        optional = key.startswith("-")
        key = dotted(key.lstrip("-").strip())
        if not key:
            continue
        if not sep:
            if optional:
                found.append(Assignment(key, None, path, number, raw))
            continue
        found.append(Assignment(key, normalise_value(value), path, number, raw))
    return found


def all_assignments(order: list[BootFile]) -> list[Assignment]:
    result: list[Assignment] = []
    for f in order:
        result += assignments(f.realpath, f.content or "")
    return result


def effective(order: list[BootFile], key: str) -> Assignment | None:
    """The assignment that sets `key` at boot, or None."""
    key = dotted(key)
    every = all_assignments(order)
    explicit = [a for a in every if not a.is_glob and a.key == key and a.value is not None]
    if explicit:
        return explicit[-1]
    if any(not a.is_glob and a.key == key and a.value is None for a in every):
        return None  # excluded from globs
    globs = [
        a for a in every if a.is_glob and a.value is not None and fnmatch.fnmatchcase(key, a.key)
    ]
    return globs[-1] if globs else None


@dataclass(frozen=True)
class SysctlBootFact(FactKind):
    """Every sysctl.d file and /etc/sysctl.conf with their contents (one fact per host)."""

    kind = "sysctl_boot"
    slow: bool = False

    def command(self) -> str:
        dirs = " ".join(SYSCTL_DIRS)
        one = (
            '[ -e "$f" ] || [ -L "$f" ] || continue; '
            'r=$(readlink -f -- "$f" 2>/dev/null) || r="$f"; '
            "s=$(stat -L -c '%a|%U|%G' -- \"$f\" 2>/dev/null) || s='-'; "
            f'printf \'{MARK}%s %s %s\\n\' "$(printf %s "$f" | base64 -w0)" '
            '"$(printf %s "$r" | base64 -w0)" "$s"; '
            f'if [ -f "$f" ]; then head -c {MAX_BYTES} -- "$f" | base64 -w0; fi; echo'
        )
        return (
            f'for d in {dirs}; do for f in "$d"/*.conf; do {one}; done; done; '
            f"for f in {SYSCTL_CONF}; do {one}; done"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> SysctlBoot:
        if rc != 0:
            raise FactError(f"cannot list the sysctl.d files: {tail(stderr)}")
        return parse_listing(stdout.decode("ascii", errors="replace"))

    def describe(self) -> str:
        return "sysctl files read at boot"

    def case_value(self, case: CaseFacts) -> SysctlBoot:
        """Every entry of the case's `files:` under a sysctl.d folder (or /etc/sysctl.conf),
        plus `sysctl_links: {LINK: TARGET}` (a target of /dev/null masks the name)."""
        files = case.section("files")
        links = case.section("sysctl_links")
        listed = []
        for path in sorted(set(files) | set(links)):
            if posixpath.dirname(path) not in SYSCTL_DIRS and path != SYSCTL_CONF:
                continue
            realpath = links.get(path, path)
            if realpath == "/dev/null":
                listed.append(BootFile(path, realpath, "", 0o666))
                continue
            spec = files.get(realpath)
            if spec is None or spec.get("exists", True) is False:
                continue
            listed.append(BootFile(path, realpath, str(spec.get("content", ""))))
        order = {d: i for i, d in enumerate(SYSCTL_DIRS)}
        listed.sort(key=lambda f: (order.get(posixpath.dirname(f.path), len(order)), f.path))
        return SysctlBoot(tuple(listed))


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise FactError(f"unreadable sysctl file listing: {text[:60]!r}")


def parse_listing(out: str) -> SysctlBoot:
    """The probe's output: per file a header line (path, real path, mode|owner|group, the
    first two base64) and a line with the content in base64 (empty when not a file)."""
    files = []
    lines = out.split("\n")
    index = 0
    while index < len(lines):
        header = lines[index]
        if not header.strip():
            index += 1
            continue
        if not header.startswith(MARK):
            raise FactError(f"unexpected line in the sysctl file listing: {header[:80]!r}")
        parts = header[len(MARK) :].split(" ")
        if len(parts) != 3:
            raise FactError(f"unexpected header in the sysctl file listing: {header[:80]!r}")
        path, realpath = _b64(parts[0]), _b64(parts[1])
        body = lines[index + 1] if index + 1 < len(lines) else ""
        index += 2
        if parts[2] == "-":  # a dangling link: nothing to read
            files.append(BootFile(path, realpath, None))
            continue
        stat = parts[2].split("|")
        if len(stat) != 3 or not stat[0].isdigit():
            raise FactError(f"unexpected stat in the sysctl file listing: {parts[2]!r}")
        content = _b64(body.strip()) if body.strip() else ""
        files.append(BootFile(path, realpath, content, int(stat[0], 8), stat[1], stat[2]))
    return SysctlBoot(tuple(files))
