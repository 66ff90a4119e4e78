"""`get_url`: a file downloaded on the host, kept while it is there (and its checksum holds)."""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, tail, text
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import DEFAULT_FILE_MODE

ALGORITHMS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+")


MAX_CHECKSUM_FILE_BYTES = 1024 * 1024
_BSD_LINE = re.compile(r"^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$")
_GNU_LINE = re.compile(r"^(?P<digest>[\w.]+)\s+(\*|\.\/|\.)?(?P<path>.+)$")


def parse_checksum(value: str) -> tuple[str, str] | str:
    """`sha256:HEX` → (algorithm, lower-case hex); `sha256:https://.../SHA256SUMS` →
    (algorithm, the URL); a message when it is neither."""
    algorithm, sep, digest = value.partition(":")
    algorithm = algorithm.strip().lower()
    digest = digest.strip()
    if not sep or algorithm not in ALGORITHMS:
        return f"`checksum` must be ALGORITHM:HEX with one of {', '.join(ALGORITHMS)}"
    if digest.startswith(("http:", "https:")):
        if not _URL.fullmatch(digest):
            return "`checksum` URL must be http(s):// without spaces or control characters"
        return algorithm, digest
    digest = digest.lower()
    if not re.fullmatch(f"[0-9a-f]{{{ALGORITHMS[algorithm]}}}", digest):
        if digest.startswith(("file:", "ftp:")):
            return "`checksum` from a file:// or ftp:// URL is not supported: use http(s)"
        return f"`checksum` must hold {ALGORITHMS[algorithm]} hex digits for {algorithm}"
    return algorithm, digest


def url_filename(url: str) -> str:
    """The name a checksum file lists the download under (Ansible's url_filename)."""
    return posixpath.basename(urlsplit(url).path) or "index.html"


def digest_for(filename: str, content: str) -> str | None:
    """The digest a checksum file (`SHA256SUMS`: GNU `HEX  NAME` or BSD `ALG (NAME) = HEX`
    lines, or one lone digest) gives for `filename`, read as Ansible's get_url reads it."""
    lines = [line.rstrip("\n") for line in io.StringIO(content, newline=None)]
    if len(lines) == 1 and len(lines[0].split()) == 1:
        return lines[0]
    for line in lines:
        match = _BSD_LINE.match(line)
        if match:
            path = match.group("path")
        else:
            match = _GNU_LINE.match(line)
            if not match:
                continue
            path = match.group("path").lstrip("./")
        if path == filename:
            return match.group("digest")
    return None


@dataclass(frozen=True)
class ChecksumFileFact(FactKind):
    """A checksum file (`SHA256SUMS`) fetched on the host with curl, as get_url fetches
    it on every run; at most MAX_CHECKSUM_FILE_BYTES."""

    kind = "checksum_file"
    url: str
    timeout: int = 10
    use_proxy: bool = True
    slow: bool = True

    def command(self) -> str:
        proxy = "" if self.use_proxy else " --noproxy '*'"
        return (
            f"{{ curl -fsSL --retry 2 --connect-timeout {self.timeout}"
            f" --max-time {self.timeout * 30} --proto =http,https --proto-redir =https{proxy}"
            f' {shlex.quote(self.url)}; echo "@@curl-rc=$?" >&2; }}'
            f" | head -c {MAX_CHECKSUM_FILE_BYTES + 1}"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> str:
        found = re.findall(rb"@@curl-rc=(\d+)", stderr)
        if not found:
            raise FactError(f"cannot fetch checksum file {self.url}: {tail(stderr)}")
        curl_rc = int(found[-1])
        if len(stdout) > MAX_CHECKSUM_FILE_BYTES:
            raise FactError(
                f"checksum file {self.url} is larger than {MAX_CHECKSUM_FILE_BYTES} bytes"
            )
        if curl_rc != 0:
            message = tail(re.sub(rb"@@curl-rc=\d+\n?", b"", stderr)) or "no answer"
            raise FactError(f"cannot fetch checksum file {self.url}: curl {curl_rc}: {message}")
        return text(stdout)

    def describe(self) -> str:
        return f"checksum file {self.url}"

    def case_value(self, case: CaseFacts) -> str:
        """`checksum_files: {URL: TEXT}`."""
        return str(case.section("checksum_files").get(self.url, ""))


class GetUrl(TaskType):
    """`get_url`: a file downloaded on the host with curl

    As Ansible's `get_url` (with its default `force: false`): when `dest` exists and, if
    `checksum` is given, holds that digest, nothing is fetched (only `mode`, `owner`,
    `group` are set); otherwise the file is fetched into a temporary file beside `dest`,
    its checksum verified on the host, then renamed over `dest`, so a failed or tampered
    download never replaces the file. `url` is `http(s)://...` (redirects to https only);
    the proxy comes from the environment (`http_proxy`, `https_proxy`) unless
    `use_proxy: false`. `dest` is the file's path (not a directory).
    """

    type_name = "get_url"

    @dataclass(kw_only=True)
    class Params:
        url: str = arg(doc="the `http(s)://` URL")
        dest: str = arg(doc="the file on the host (an absolute path)")
        checksum: str | None = arg(
            None,
            doc="`sha256:HEX` (also md5, sha1, sha224, sha384, sha512), or"
            " `sha256:https://.../SHA256SUMS`: the digest listed there for the URL's file name"
            " (the checksum file is fetched on the host when the plan is made)",
        )
        mode: Mode | None = arg(None, doc="its mode (default: an existing file's own, else `0644`)")
        owner: str | None = arg(
            None, doc="its owner (default: an existing file's own, else `root`)"
        )
        group: str | None = arg(
            None, doc="its group (default: an existing file's own, else `root`)"
        )
        use_proxy: bool = arg(True, doc="use the proxy of the environment")
        timeout: int = arg(10, doc="seconds to connect (the whole transfer: 30 times that)")
        backup: bool = arg(False, doc="keep the previous file as `DEST.TIMESTAMP.bak`")

    params: Params

    def describe(self) -> str:
        return f"download {self.params.dest}"

    def validate(self) -> None:
        p = self.params
        if not _URL.fullmatch(p.url):
            raise self.fail(
                "`url` must be an http:// or https:// URL without spaces or control characters",
                arg="url",
            )
        if p.dest.endswith("/") or "\n" in p.dest or "\x00" in p.dest:
            raise self.fail("`dest` must be a file path (not a directory)", arg="dest")
        if p.checksum is not None:
            parsed = parse_checksum(p.checksum)
            if isinstance(parsed, str):
                raise self.fail(parsed, arg="checksum")
        if not 1 <= p.timeout <= 3600:
            raise self.fail("`timeout` must be 1..3600 seconds", arg="timeout")

    def _checksum_file(self) -> ChecksumFileFact | None:
        if self.params.checksum is None:
            return None
        parsed = parse_checksum(self.params.checksum)
        assert not isinstance(parsed, str)
        if not parsed[1].startswith(("http:", "https:")):
            return None
        return ChecksumFileFact(parsed[1], self.params.timeout, self.params.use_proxy)

    def facts(self) -> list[Fact]:
        listed = self._checksum_file()
        return [FileFact(self.params.dest)] + ([listed] if listed else [])

    def _wanted(self, state: HostState) -> tuple[str, str] | str | None:
        """(algorithm, hex digest) wanted, None without `checksum`, or why it is unknown."""
        if self.params.checksum is None:
            return None
        parsed = parse_checksum(self.params.checksum)
        assert not isinstance(parsed, str)
        listed = self._checksum_file()
        if listed is None:
            return parsed
        algorithm = parsed[0]
        name = url_filename(self.params.url)
        digest = digest_for(name, state.get(listed))
        if digest is None:
            return f"no checksum for file {name!r} in {listed.url}"
        digest = digest.lower()
        if not re.fullmatch(f"[0-9a-f]{{{ALGORITHMS[algorithm]}}}", digest):
            return f"{listed.url} lists for {name!r} a value that is not a {algorithm} digest"
        return algorithm, digest

    def _holds(self, current: FileState, wanted: tuple[str, str] | None) -> bool | None:
        """Whether the existing file has the wanted checksum (None: cannot tell)."""
        if wanted is None:
            return True
        algorithm, digest = wanted
        if current.content is not None:
            return hashlib.new(algorithm, current.content).hexdigest() == digest
        if current.sha256 is not None and algorithm == "sha256":
            return current.sha256 == digest
        return None

    def plan(self, state: HostState) -> Outcome:
        p = self.params
        fact = FileFact(p.dest)
        current: FileState = state.get(fact)
        if current.exists and not current.known and p.checksum is None:
            return self._attributes(state, current)  # there after an earlier step: kept
        if current.exists and not current.known:
            return Deferred(f"download {p.dest} (it comes from an earlier step)", self.facts())
        if current.exists and not current.kind.startswith("regular"):
            return Failed(f"{p.dest} exists and is a {current.kind}, not a regular file")
        wanted = self._wanted(state)
        if isinstance(wanted, str):
            return Failed(wanted)
        if current.exists:
            holds = self._holds(current, wanted)
            if holds is None:
                return Failed(f"{p.dest} is too large to check its {p.checksum} here")
            if holds:
                return self._attributes(state, current)
        mode = (
            p.mode
            if p.mode is not None
            else (current.mode if current.exists else DEFAULT_FILE_MODE)
        )
        owner = p.owner or (current.owner if current.exists else "root")
        group = p.group or (current.group if current.exists else "root")
        state.set(fact, FileState(True, "regular file", mode, owner, group, None, known=False))
        why = "missing" if not current.exists else "its checksum differs"
        return Change(
            [f"download {p.url} → {p.dest} ({why})"],
            [Command(self._script(mode, owner, group, wanted), f"download {p.url} to {p.dest}")],
        )

    def _attributes(self, state: HostState, current: FileState) -> Outcome:
        """The file is there as wanted: set only the mode and owner given."""
        p = self.params
        q = shlex.quote(p.dest)
        owner, group = p.owner or current.owner, p.group or current.group
        mode = p.mode if p.mode is not None else current.mode
        commands, notes = [], []
        if (owner, group) != (current.owner, current.group):
            commands.append(
                Command(f"chown -- {shlex.quote(f'{owner}:{group}')} {q}", f"chown {p.dest}")
            )
            notes.append(f"owner {p.dest}: {current.owner}:{current.group} → {owner}:{group}")
        if mode != current.mode:
            commands.append(Command(f"chmod -- {mode:04o} {q}", f"chmod {p.dest}"))
            notes.append(f"mode {p.dest}: {current.mode:04o} → {mode:04o}")
        if not commands:
            kept = f" ({p.checksum.partition(':')[0].lower()} checksum holds)" if p.checksum else ""
            return NoOp(f"{p.dest} is there{kept}")
        state.set(
            FileFact(p.dest),
            FileState(
                True,
                current.kind,
                mode,
                owner,
                group,
                current.content,
                current.known,
                current.sha256,
            ),
        )
        return Change(notes, commands)

    def _script(self, mode: int, owner: str, group: str, wanted: tuple[str, str] | None) -> str:
        p = self.params
        dest = shlex.quote(p.dest)
        proxy = "" if p.use_proxy else " --noproxy '*'"
        steps = [
            "set -e",
            "umask 077",
            f"d=$(dirname -- {dest})",
            '[ -d "$d" ] || mkdir -p -m 0755 -- "$d"',
            't=$(mktemp "$d/.provision.XXXXXXXX")',
            "trap 'rm -f -- \"$t\"' EXIT",
            f"curl -fsSL --retry 2 --connect-timeout {p.timeout} --max-time {p.timeout * 30}"
            f' --proto =http,https --proto-redir =https{proxy} -o "$t" {shlex.quote(p.url)}',
        ]
        if wanted is not None:
            algorithm, digest = wanted
            steps.append(
                f"printf '%s  %s\\n' {digest} \"$t\" | {algorithm}sum -c --status -"
                f" || {{ echo {shlex.quote(f'{p.url}: {algorithm} checksum differs')} >&2;"
                " exit 1; }"
            )
        steps.append(f'chown -- {shlex.quote(f"{owner}:{group}")} "$t"')
        steps.append(f'chmod -- {mode:04o} "$t"')
        if p.backup:
            steps.append(
                f"if [ -f {dest} ]; then cp -p -- {dest} {dest}.$(date +%Y%m%d%H%M%S).bak; fi"
            )
        steps += [
            f'mv -f -- "$t" {dest}',
            "trap - EXIT",
            "if command -v restorecon >/dev/null; then"
            f" restorecon -- {dest} 2>/dev/null || true; fi",
        ]
        return "; ".join(steps)

    def assertions(self) -> list[Assertion]:
        expect: dict = {"exists": True}
        p = self.params
        if p.mode is not None:
            expect["mode"] = p.mode
        for key in ("owner", "group"):
            if getattr(p, key) is not None:
                expect[key] = getattr(p, key)
        return [Assertion("file", p.dest, expect, f"downloaded {p.dest}")]
