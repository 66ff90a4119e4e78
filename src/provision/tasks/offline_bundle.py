"""`offline_bundle`: an offline bundle (`provision bundle create`) unpacked on the host,
verified there before use, copied only when its id changed.

The controller reads the bundle's layout once (cached): `manifest.json` first, then
`SHA256SUMS`, then regular files and folders only, under safe relative names; the
checksum list must name exactly the bundle's files with the manifest's digests; each
`keys/*.asc` must hold the fingerprint the manifest pins. The bundle id is the SHA-256 of
the manifest's bytes. The host keeps `DEST/ID/` and a `DEST/current` symlink; the probe
reads where `current` points and the SHA-256 of its manifest, so a bundle already there
is one probe and no change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tarfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from provision.execution.upload import Upload, mib
from provision.facts.base import CaseFacts, FactError, FactKind, tail, text
from provision.facts.openpgp import KeyFileError, normalise_fingerprint, primary_fingerprints
from provision.planning.model import Change, Command, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg, verifies

FORMAT = "provision-bundle/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
#: a combined key file written beside the verified bundle (dnf reads every key in it)
KEYRING = ".provision/gpgkeys.asc"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.+~^@=%,:-]+")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class BundleError(ValueError):
    """The bundle file is not a valid offline bundle; the message says what and where."""


@dataclass(frozen=True)
class Bundle:
    """What the controller read from a bundle file."""

    path: str
    id: str  # SHA-256 of manifest.json's bytes
    size: int
    sha256: str  # of the whole tar file (the transfer is checked against it)
    sums_sha256: str  # of the SHA256SUMS member
    files: int  # members listed in SHA256SUMS
    releases: tuple[tuple[str, str, str], ...]  # (release, arch, repo_path)
    keys: tuple[tuple[str, str], ...]  # (path, fingerprint)
    manifest: dict[str, Any] = field(compare=False, hash=False)


def safe_member(name: str) -> str | None:
    """The problem with a member name, or None: relative, no `..`, no empty or hidden
    tricks, each part of plain characters (no spaces, quotes or control characters)."""
    if not name or name.startswith("/") or "\\" in name:
        return "an absolute or unusual path"
    parts = name.rstrip("/").split("/")
    for part in parts:
        if part in ("", ".", ".."):
            return "a path with an empty, `.` or `..` part"
        if part.startswith("-") or not _SAFE_NAME.fullmatch(part):
            return "a name with characters other than letters, digits and ._+~^@=%,:-"
    return None


def parse_sums(data: bytes) -> dict[str, str]:
    """`SHA256SUMS` (`HEX  PATH` lines, `sha256sum` text or binary mode) → {path: hex}.
    A line starting with `#` is a comment, as `sha256sum -c` takes it (`provision bundle
    create` writes the manifest's core digest there)."""
    sums: dict[str, str] = {}
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{SUMS} is not UTF-8 text")
    if "\r" in content:
        raise BundleError(f"{SUMS} has a carriage return (lines end with \\n only)")
    for number, line in enumerate(content.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        digest, sep, name = line[:64], line[64:66], line[66:]
        if not _HEX64.fullmatch(digest) or sep not in ("  ", " *") or not name:
            raise BundleError(f"{SUMS} line {number}: expected `SHA256HEX  PATH`")
        problem = safe_member(name)
        if problem:
            raise BundleError(f"{SUMS} line {number}: {name!r} is {problem}")
        if name in sums:
            raise BundleError(f"{SUMS} line {number}: {name} is listed twice")
        sums[name] = digest
    return sums


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise BundleError(f"{member.name} is larger than {limit} bytes")
    handle = archive.extractfile(member)
    if handle is None:
        raise BundleError(f"{member.name} cannot be read")
    return handle.read()


def _manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{MANIFEST} is not valid JSON: {exc}")
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST} must be a JSON object")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    for key in ("releases", "files"):
        if not isinstance(manifest.get(key), list):
            raise BundleError(f"{MANIFEST}: `{key}` must be a list")
    if not isinstance(manifest.get("gpg_keys", []), list):
        raise BundleError(f"{MANIFEST}: `gpg_keys` must be a list")
    return manifest


def _entries(manifest: dict[str, Any], key: str, fields_: tuple[str, ...]) -> list[dict[str, str]]:
    found = []
    for index, entry in enumerate(manifest.get(key) or []):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields_):
            raise BundleError(f"{MANIFEST}: {key}[{index}] must have {', '.join(fields_)} (text)")
        found.append(entry)
    return found


def read_bundle(path: str) -> Bundle:
    """Read and check a bundle file's layout (cached while the file's size and mtime hold)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}")
    return _read_bundle(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _read_bundle(path: str, size: int, mtime_ns: int) -> Bundle:
    try:
        archive = tarfile.open(path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"{path} is not an uncompressed tar file ({exc})")
    with archive:
        members = archive.getmembers()
        if len(members) < 2 or members[0].name != MANIFEST or members[1].name != SUMS:
            raise BundleError(f"the bundle must start with {MANIFEST} then {SUMS}")
        manifest_bytes = _read_member(archive, members[0], MAX_MANIFEST_BYTES)
        sums_bytes = _read_member(archive, members[1], MAX_MANIFEST_BYTES)
        files: dict[str, tarfile.TarInfo] = {}
        for member in members[2:]:
            problem = safe_member(member.name)
            if problem:
                raise BundleError(f"member {member.name!r} is {problem}")
            if member.isdir():
                continue
            if not member.isreg():
                raise BundleError(f"member {member.name} is not a regular file or a folder")
            if member.name in files or member.name in (MANIFEST, SUMS):
                raise BundleError(f"member {member.name} is in the bundle twice")
            files[member.name] = member
        manifest = _manifest(manifest_bytes)
        sums = parse_sums(sums_bytes)
        if set(sums) != set(files):
            extra = sorted(set(files) - set(sums))[:3]
            missing = sorted(set(sums) - set(files))[:3]
            detail = f"not listed: {', '.join(extra)}" if extra else f"absent: {', '.join(missing)}"
            raise BundleError(f"{SUMS} does not list exactly the bundle's files ({detail})")
        listed = {e["path"]: e["sha256"] for e in _entries(manifest, "files", ("path", "sha256"))}
        if SUMS in listed and listed[SUMS] != hashlib.sha256(sums_bytes).hexdigest():
            raise BundleError(f"{SUMS}: its SHA-256 is not the one {MANIFEST} lists")
        for name, digest in sums.items():
            if listed.get(name) != digest:
                raise BundleError(f"{name}: {SUMS} and {MANIFEST} disagree on its SHA-256")
        releases = []
        for entry in _entries(manifest, "releases", ("release", "arch", "repo_path")):
            repo = entry["repo_path"].rstrip("/")
            if safe_member(repo) or not any(n.startswith(f"{repo}/repodata/") for n in files):
                raise BundleError(f"release {entry['release']}: no dnf repository at {repo}/")
            releases.append((entry["release"], entry["arch"], repo))
        keys = []
        for entry in _entries(manifest, "gpg_keys", ("path", "fingerprint")):
            member = files.get(entry["path"])
            if member is None:
                raise BundleError(f"gpg key {entry['path']} is not in the bundle")
            try:
                found = primary_fingerprints(_read_member(archive, member, 1024 * 1024))
            except KeyFileError as exc:
                raise BundleError(f"gpg key {entry['path']}: {exc}")
            pinned = normalise_fingerprint(entry["fingerprint"])
            if found != [pinned]:
                raise BundleError(
                    f"gpg key {entry['path']} holds {', '.join(found) or 'no key'},"
                    f" not the pinned {pinned}"
                )
            keys.append((entry["path"], pinned))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return Bundle(
        path,
        hashlib.sha256(manifest_bytes).hexdigest(),
        size,
        digest.hexdigest(),
        hashlib.sha256(sums_bytes).hexdigest(),
        len(sums),
        tuple(releases),
        tuple(keys),
        manifest,
    )


@dataclass(frozen=True)
class BundleState:
    """The host's current bundle: the id `current` points at, and its manifest's SHA-256."""

    current: str | None = None
    manifest_sha256: str | None = None

    @property
    def verified_id(self) -> str | None:
        """The id when the manifest there still hashes to it, else None."""
        if self.current and self.current == self.manifest_sha256:
            return self.current
        return None


@dataclass(frozen=True)
class OfflineBundleFact(FactKind):
    """Where `DEST/current` points and the SHA-256 of the manifest there (one line each)."""

    kind = "offline_bundle"
    dest: str
    slow: bool = False

    def command(self) -> str:
        d = shlex.quote(self.dest)
        return (
            f"if [ -L {d}/current ]; then printf 'current %s\\n' \"$(readlink -- {d}/current)\"; "
            f"if [ -f {d}/current/{MANIFEST} ]; then printf 'manifest %s\\n' "
            f'"$(sha256sum < {d}/current/{MANIFEST} | cut -c1-64)"; fi; fi'
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> BundleState:
        if rc != 0:
            raise FactError(f"cannot read {self.dest}/current: {tail(stderr)}")
        values: dict[str, str] = {}
        for line in text(stdout).splitlines():
            key, _, value = line.partition(" ")
            if key not in ("current", "manifest") or key in values:
                raise FactError(f"unexpected answer about {self.dest}/current: {line!r}")
            values[key] = value.strip()
        current = values.get("current")
        if current is not None:
            current = PurePosixPath(current).name
        manifest = values.get("manifest")
        if manifest is not None and not _HEX64.fullmatch(manifest):
            raise FactError(f"unexpected SHA-256 of {self.dest}/current/{MANIFEST}: {manifest!r}")
        return BundleState(current or None, manifest)

    def describe(self) -> str:
        return f"offline bundle in {self.dest}"

    def case_value(self, case: CaseFacts) -> BundleState:
        """`offline_bundles: {DEST: {current: ID, manifest: SHA256}}`; not listed: none."""
        spec = case.section("offline_bundles").get(self.dest) or {}
        return BundleState(spec.get("current"), spec.get("manifest"))


class OfflineBundle(TaskType):
    """`offline_bundle`: an offline bundle copied to the host, verified there, kept as `DEST/ID`

    `src` is the bundle on the controller (`provision bundle create`). Nothing is sent when
    `DEST/current` already points at this bundle's id (the SHA-256 of its `manifest.json`)
    and that manifest still hashes to it. Otherwise the file streams to `staging` on the
    host over the run's SSH connection (SFTP, chunked, progress lines on a terminal), and
    one root script checks the copy's SHA-256, unpacks it into a temporary folder, checks
    the manifest's hash, `SHA256SUMS` itself and every member (`sha256sum -c --strict`),
    and only then moves it to `DEST/ID` and points `DEST/current` at it. A member that
    differs is named and the host stops there: nothing of the bundle is used. The
    previous bundle is kept (one), older ones are removed. The bundle's keys are also
    written together into `DEST/ID/.provision/gpgkeys.asc` (a repository's `gpgkey=`).
    """

    type_name = "offline_bundle"

    @dataclass(kw_only=True)
    class Params:
        src: str = arg(doc="the bundle file on the controller")
        dest: str = arg("/var/lib/provision/offline", doc="where bundles are kept on the host")
        staging: str = arg(
            "/var/tmp", doc="a folder the login user can write, for the copy in transit"
        )
        fingerprints: list[str] = arg(
            [], doc="key fingerprints the bundle must carry (e.g. Docker's, pinned)"
        )

    params: Params

    def describe(self) -> str:
        return f"offline bundle {Path(self.params.src).name}"

    def validate(self) -> None:
        p = self.params
        for key in ("dest", "staging"):
            value = getattr(p, key)
            if not value.startswith("/") or safe_member(value.strip("/")):
                raise self.fail(f"`{key}` must be an absolute path of plain characters", arg=key)
        try:
            self.bundle = read_bundle(os.path.abspath(p.src))
        except BundleError as exc:
            raise self.fail(f"{p.src}: {exc}", arg="src")
        have = {fp for _, fp in self.bundle.keys}
        for wanted in p.fingerprints:
            if normalise_fingerprint(wanted) not in have:
                raise self.fail(
                    f"{p.src}: no key with the pinned fingerprint {normalise_fingerprint(wanted)}"
                    f" (the bundle has: {', '.join(sorted(have)) or 'none'})",
                    arg="fingerprints",
                )

    def facts(self) -> list[Any]:
        return [OfflineBundleFact(self.params.dest)]

    def plan(self, state: HostState) -> Outcome:
        fact = OfflineBundleFact(self.params.dest)
        current: BundleState = state.get(fact)
        bundle = self.bundle
        short = bundle.id[:12]
        if current.verified_id == bundle.id:
            return NoOp(f"bundle {short} is current in {self.params.dest}")
        if current.current is None:
            was = "none there"
        elif current.current == bundle.id:
            was = "its manifest there no longer matches: copied again"
        else:
            was = f"current: {current.current[:12]}"
        state.set(fact, BundleState(bundle.id, bundle.id))
        name = Path(bundle.path).name
        staged = f"{self.params.staging}/.provision-bundle-{bundle.id[:16]}.tar"
        return Change(
            [f"copy bundle {name} ({mib(bundle.size)}) → {self.params.dest}/{short}… ({was})"],
            [
                Command(
                    install_script(bundle, self.params.dest, staged),
                    f"send {name} ({mib(bundle.size)}), verify it on the host, unpack it",
                    progress=True,
                    upload=Upload(bundle.path, staged, bundle.size),
                )
            ],
        )

    def assertions(self) -> list[Assertion]:
        return [
            Assertion(
                "offline_bundle",
                self.params.dest,
                {"id": self.bundle.id},
                f"offline bundle {self.bundle.id[:12]} current and verified",
            )
        ]


def verify_script(where: str, bundle_id: str, name: str) -> str:
    """Shell text, run in the unpacked folder `where` (a shell word, quoted by the caller):
    the manifest's hash and every member (`sha256sum -c --strict`); prints `... refused:`
    naming the members that differ and exits 1."""
    q = shlex.quote
    refuse = f"offline bundle {name} refused"
    return "; ".join(
        [
            f"cd -- {where}",
            f"printf '%s  %s\\n' {bundle_id} {MANIFEST} | sha256sum -c --status - || "
            f"{{ echo {q(f'{refuse}: {MANIFEST}: its SHA-256 is not the bundle id {bundle_id}')}"
            " >&2; exit 1; }",
            f"if ! out=$(LC_ALL=C sha256sum -c --strict --quiet {SUMS} 2>&1); then "
            "bad=$(printf '%s\\n' \"$out\" | sed -n 's/: FAILED.*$//p; s/: No such file.*$//p'"
            " | head -n 10 | tr '\\n' ' '); "
            f'echo "{refuse}: SHA-256 differs for: ${{bad:-(see below)}}" >&2; '
            "printf '%s\\n' \"$out\" | tail -n 5 >&2; exit 1; fi",
        ]
    )


def install_script(bundle: Bundle, dest: str, staged: str) -> str:
    """The root script after the upload: check the copy, unpack, verify, move into place."""
    q = shlex.quote
    name = Path(bundle.path).name
    refuse = f"offline bundle {name} refused"
    keys = " ".join(q(path) for path, _ in bundle.keys)
    steps = [
        "set -e",
        "umask 022",
        f"base={q(dest)}",
        f"staged={q(staged)}",
        f"id={bundle.id}",
        "work=",
        'trap \'rm -f -- "$staged"; [ -z "$work" ] || rm -rf -- "$work"\' EXIT',
        '[ -f "$staged" ] && [ ! -L "$staged" ] || '
        f"{{ echo {q(f'{refuse}: the copy {staged} is missing')} >&2; exit 1; }}",
        f"printf '%s  %s\\n' {bundle.sha256} \"$staged\" | sha256sum -c --status - || "
        f"{{ echo {q(f'{refuse}: the copy on the host differs from {name} (transfer damaged)')}"
        " >&2; exit 1; }",
        'mkdir -p -m 0755 -- "$base"',
        'work=$(mktemp -d "$base/.incoming.XXXXXXXX")',
        'tar -x --no-same-owner --no-same-permissions -f "$staged" -C "$work"',
        'rm -f -- "$staged"',
        f'n=$(find "$work" -type f | wc -l); [ "$n" -eq {bundle.files + 2} ] || '
        f'{{ echo "{refuse}: $n files unpacked, {bundle.files + 2} expected" >&2; exit 1; }}',
        "( " + verify_script('"$work"', bundle.id, name) + " )",
        '( cd -- "$work"; mkdir -p .provision; '
        + (f"cat -- {keys} > {KEYRING}" if keys else f": > {KEYRING}")
        + " )",
        'chmod 0755 -- "$work"',
        'prev=$(readlink -- "$base/current" 2>/dev/null || true)',
        'rm -rf -- "${base:?}/$id"',
        'mv -T -- "$work" "$base/$id"',
        "work=",
        'ln -sfn -- "$id" "$base/.current.new"',
        'mv -T -- "$base/.current.new" "$base/current"',
        'for old in "$base"/*; do n=${old##*/}; [ -d "$old" ] && [ ! -L "$old" ] || continue; '
        '[ "$n" = "$id" ] || [ "$n" = "$prev" ] || rm -rf -- "$old"; done',
        'if command -v restorecon >/dev/null; then restorecon -R -- "$base" 2>/dev/null || true;'
        " fi",
        f'echo "offline bundle {bundle.id[:12]} verified ({bundle.files} files) in $base/$id"',
    ]
    return "; ".join(steps)


@verifies("offline_bundle")
def _check_bundle(host: Any, target: str, expect: dict[str, Any]) -> str | None:
    fact = OfflineBundleFact(target)
    result = host.run(fact.command())
    state = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    if state.verified_id != expect["id"]:
        return f"{target}/current is {state.current or 'absent'}, not bundle {expect['id'][:12]}"
    check = host.run(f"cd -- {shlex.quote(target)}/current && sha256sum -c --strict --quiet {SUMS}")
    if check.rc != 0:
        return f"{target}/current: members differ from {SUMS}: {check.stdout.strip()[:300]}"
    return None
