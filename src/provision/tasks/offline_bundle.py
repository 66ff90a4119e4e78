"""`offline_bundle`: an offline bundle (`provision bundle create`) unpacked on the host,
verified there before use, copied only when its id changed.

The controller checks the bundle once (cached while the file's size and mtime hold) with
the format's one reader, `provision.bundle.verify` (what `provision bundle verify` runs):
every member's hash and size against the manifest and SHA256SUMS, canonical headers,
regular files at safe paths, the keys' pinned fingerprints. A bundle that fails is an
input error naming the file and the member, before any host is touched. The same pass
hashes the whole file, which the host checks its copy against. The bundle id is the
SHA-256 of the manifest's bytes. The host keeps `DEST/ID/` and a `DEST/current` symlink;
the probe reads where `current` points and the SHA-256 of its manifest, so a bundle
already there is one probe and no change.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from provision.execution.upload import Upload, mib
from provision.facts.base import CaseFacts, FactError, FactKind, tail, text
from provision.planning.model import Change, Command, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg, verifies

if TYPE_CHECKING:
    from provision.bundle.format import BundleError

__all__ = ["KEYRING", "Bundle", "BundleError", "install_script", "read_bundle", "verify_script"]

# The bundle format's modules (provision.bundle.format, .verify) are imported by the functions
# that read or check a bundle, not here: every playbook with an offline_bundle task imports
# this module, and most runs skip that task (its `when:` false). BundleError stays importable
# from here (`__getattr__` below).


def __getattr__(name: str) -> Any:
    if name == "BundleError":
        from provision.bundle.format import BundleError

        return BundleError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: a combined key file written beside the verified bundle (dnf reads every key in it)
KEYRING = ".provision/gpgkeys.asc"
_PLAIN_PART = re.compile(r"[A-Za-z0-9_.+~^@=%,:][A-Za-z0-9_.+~^@=%,:-]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Bundle:
    """What the controller learnt from a verified bundle file."""

    path: str
    id: str  # SHA-256 of manifest.json's bytes
    size: int
    sha256: str  # of the whole tar file (the transfer is checked against it)
    files: int  # members listed in SHA256SUMS (all but manifest.json and SHA256SUMS)
    releases: tuple[tuple[str, str, str], ...]  # (release, arch, repo_path)
    keys: tuple[tuple[str, str], ...]  # (path, fingerprint)


def plain_path_problem(path: str) -> str | None:
    """Why `path` (a host folder such as `dest`) is not absolute and of plain characters."""
    if not path.startswith("/"):
        return "an absolute path is expected"
    for part in path.strip("/").split("/"):
        if part in ("", ".", "..") or not _PLAIN_PART.fullmatch(part):
            return "expected letters, digits and ._+~^@=%,:- only, no empty, '.' or '..' part"
    return None


class _Hashing:
    """A binary stream that hashes what is read from it (restarted at a seek to 0): the
    verifying pass also gives the whole file's SHA-256, the file is read once."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, count: int = -1) -> bytes:
        data = self.handle.read(count)
        self.digest.update(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise ValueError("only a seek to the start is supported")
        self.digest = hashlib.sha256()
        return self.handle.seek(0)


def read_bundle(path: str) -> Bundle:
    """The bundle at `path`, verified completely (BundleError names the file and member);
    cached while the file's size and mtime hold."""
    from provision.bundle.format import BundleError, shown_path

    try:
        st = os.stat(path)
    except OSError as exc:
        raise BundleError(f"bundle {shown_path(path)}: cannot be read: {exc.strerror}")
    return _read_bundle(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _read_bundle(path: str, size: int, mtime_ns: int) -> Bundle:
    from provision.bundle.format import BundleError, shown_path
    from provision.bundle.verify import verify_stream

    try:
        with open(path, "rb") as handle:
            hashing = _Hashing(handle)
            verified = verify_stream(hashing, path, size)  # type: ignore[arg-type]
            while hashing.read(1024 * 1024):
                pass  # verify_stream reads to the end; this is only a guard
    except OSError as exc:
        raise BundleError(f"bundle {shown_path(path)}: cannot be read: {exc.strerror or exc}")
    manifest = verified.manifest
    return Bundle(
        path,
        verified.id,
        size,
        hashing.digest.hexdigest(),
        len(verified.members) - 2,
        tuple((r.release, r.arch, r.repo_path) for r in manifest.releases),
        tuple((k.path, k.fingerprint) for k in manifest.gpg_keys),
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
        from provision.bundle.format import MANIFEST

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
            from provision.bundle.format import MANIFEST

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
        from provision.bundle.format import BundleError, shown_path
        from provision.facts.openpgp import normalise_fingerprint

        p = self.params
        for key in ("dest", "staging"):
            value = getattr(p, key)
            if plain_path_problem(value):
                raise self.fail(f"`{key}` must be an absolute path of plain characters", arg=key)
        try:
            self.bundle = read_bundle(os.path.abspath(p.src))
        except BundleError as exc:
            raise self.fail(str(exc), arg="src")
        have = {fp for _, fp in self.bundle.keys}
        for wanted in p.fingerprints:
            if normalise_fingerprint(wanted) not in have:
                pinned = normalise_fingerprint(wanted)
                raise self.fail(
                    f"{shown_path(p.src)}: no key with the pinned fingerprint {pinned}"
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
    from provision.bundle.format import MANIFEST, SUMS, shown_path

    q = shlex.quote
    refuse = f"offline bundle {shown_path(name)} refused"
    return "; ".join(
        [
            f"refuse={q(refuse)}",
            f"cd -- {where}",
            f"printf '%s  %s\\n' {bundle_id} {MANIFEST} | sha256sum -c --status - || "
            f"{{ echo {q(f'{refuse}: {MANIFEST}: its SHA-256 is not the bundle id {bundle_id}')}"
            " >&2; exit 1; }",
            f"if ! out=$(LC_ALL=C sha256sum -c --strict --quiet {SUMS} 2>&1); then "
            "bad=$(printf '%s\\n' \"$out\" | sed -n 's/: FAILED.*$//p; s/: No such file.*$//p'"
            " | head -n 10 | tr '\\n' ' '); "
            'echo "$refuse: SHA-256 differs for: ${bad:-(see below)}" >&2; '
            "printf '%s\\n' \"$out\" | tail -n 5 >&2; exit 1; fi",
        ]
    )


def install_script(bundle: Bundle, dest: str, staged: str) -> str:
    """The root script after the upload: check the copy, unpack, verify, move into place."""
    from provision.bundle.format import shown_path

    q = shlex.quote
    name = shown_path(Path(bundle.path).name)  # a file name is user data: quoted below
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
        f'{{ echo {q(refuse + ":")} "$n files unpacked, {bundle.files + 2} expected" >&2;'
        " exit 1; }",
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
    from provision.bundle.format import SUMS

    fact = OfflineBundleFact(target)
    result = host.run(fact.command())
    state = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    if state.verified_id != expect["id"]:
        return f"{target}/current is {state.current or 'absent'}, not bundle {expect['id'][:12]}"
    check = host.run(f"cd -- {shlex.quote(target)}/current && sha256sum -c --strict --quiet {SUMS}")
    if check.rc != 0:
        return f"{target}/current: members differ from {SUMS}: {check.stdout.strip()[:300]}"
    return None
