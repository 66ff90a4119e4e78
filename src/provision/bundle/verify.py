"""`provision bundle verify`: read a bundle once, from start to end, and check every byte.

The reader is the format's own (ustar headers parsed here, no extraction, no tarfile
magic): a member that is not a regular file at a safe relative path, a header that is not
exactly the canonical one, an extra, missing or repeated member, non-zero padding, trailing
data, a hash or size that differs from the manifest or SHA256SUMS, a key whose fingerprint
is not the pinned one: each is refused, naming the bundle and the member.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from provision.bundle.format import (
    BLOCK,
    MANIFEST,
    MAX_KEY_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_SUMS_BYTES,
    SUMS,
    BundleError,
    FileEntry,
    Manifest,
    bundle_error,
    bundle_id,
    manifest_core_digest,
    member_header,
    padding,
    parse_sums,
    path_problem,
    shown_path,
)
from provision.facts.openpgp import KeyFileError, primary_fingerprints

CHUNK = 1024 * 1024
TYPE_NAMES = {
    tarfile.REGTYPE: "a regular file",
    tarfile.AREGTYPE: "a regular file (old style)",
    tarfile.LNKTYPE: "a hard link",
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.DIRTYPE: "a directory",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.CONTTYPE: "a contiguous file",
    tarfile.GNUTYPE_LONGNAME: "a GNU long name header",
    tarfile.GNUTYPE_LONGLINK: "a GNU long link header",
    tarfile.GNUTYPE_SPARSE: "a GNU sparse file",
    tarfile.XHDTYPE: "a pax extended header",
    tarfile.XGLTYPE: "a pax global header",
    tarfile.SOLARIS_XHDTYPE: "a Solaris extended header",
}
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


class BundleInvalid(BundleError):
    """Every problem found, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Verified:
    manifest: Manifest
    manifest_bytes: bytes
    size: int
    members: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return bundle_id(self.manifest_bytes)


class _Reader:
    def __init__(self, handle: BinaryIO, name: str, progress: Callable[[int], None] | None):
        self.handle = handle
        self.name = name
        self.offset = 0
        self.progress = progress

    def read(self, count: int, what: str) -> bytes:
        data = self.handle.read(count)
        if len(data) != count:
            raise bundle_error(
                self.name, None, f"truncated at byte {self.offset + len(data)} while reading {what}"
            )
        self.offset += count
        if self.progress is not None:
            self.progress(count)
        return data

    def header(self) -> tuple[bytes, tarfile.TarInfo] | None:
        """The next header (raw, parsed), or None at the end-of-archive zero block."""
        start = self.offset
        raw = self.read(BLOCK, f"the tar header at byte {start}")
        if raw == b"\0" * BLOCK:
            return None
        try:
            info = tarfile.TarInfo.frombuf(raw, "utf-8", "strict")
        except (tarfile.HeaderError, UnicodeDecodeError) as exc:
            raise bundle_error(self.name, None, f"damaged tar header at byte {start}: {exc}")
        return raw, info

    def data(self, size: int, member: str, sink: Callable[[bytes], None]) -> None:
        left = size
        while left:
            chunk = self.read(min(CHUNK, left), f"member {member}")
            sink(chunk)
            left -= len(chunk)
        pad = self.read(padding(size), f"the padding after member {member}")
        if pad.strip(b"\0"):
            raise bundle_error(
                self.name, member, "expected zero bytes after its data, found others"
            )


def _check_member_header(name: str, raw: bytes, info: tarfile.TarInfo, mtime: int | None) -> str:
    """The member's path, once its header is a canonical regular file's (else an error)."""
    path = info.name
    kind = TYPE_NAMES.get(info.type, f"tar type {info.type!r}")
    if info.type != tarfile.REGTYPE:
        raise bundle_error(name, path, f"expected a regular file, found {kind}")
    problem = path_problem(path)
    if problem:
        raise bundle_error(name, path, problem)
    if mtime is not None and raw != member_header(path, info.size, mtime):
        raise bundle_error(
            name,
            path,
            "expected the canonical tar header (regular file, mode 0644, owner 0:0, no names,"
            " mtime of the manifest's created), found another",
        )
    return path


def verify_stream(
    handle: BinaryIO, name: str, size: int, progress: Callable[[int], None] | None = None
) -> Verified:
    """verify_bundle over an open binary stream of `size` bytes (tests, other readers).
    `name` is the bundle's path as messages show it (escaped here when it is not plain)."""
    name = shown_path(name)
    head = handle.read(8)
    handle.seek(0)
    for magic, what in COMPRESSED.items():
        if head.startswith(magic):
            raise bundle_error(name, None, f"expected an uncompressed tar, found {what} data")
    return _verify(_Reader(handle, name, progress), name, size)


def verify_bundle(path: Path, progress: Callable[[int], None] | None = None) -> Verified:
    """Check the bundle at `path` completely; BundleInvalid lists every problem found,
    BundleError stops at the first structural one (nothing after it can be trusted)."""
    name = shown_path(str(path))
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BundleError(f"bundle {name}: cannot be read: {exc.strerror or exc}")
    with handle:
        try:
            if not path.is_file():
                raise BundleError(f"bundle {name}: expected a regular file")
            return verify_stream(handle, name, path.stat().st_size, progress)
        except OSError as exc:
            raise BundleError(f"bundle {name}: cannot be read: {exc.strerror or exc}")


def _small(reader: _Reader, name: str, expected: str, limit: int, mtime: int | None) -> bytes:
    found = reader.header()
    if found is None:
        raise bundle_error(name, None, f"expected the member {expected}, found the archive's end")
    raw, info = found
    path = _check_member_header(name, raw, info, mtime)
    if path != expected:
        raise bundle_error(
            name, path, f"expected {expected} here (members start {MANIFEST}, {SUMS})"
        )
    if info.size > limit:
        raise bundle_error(name, path, f"expected at most {limit} bytes, found {info.size}")
    parts: list[bytes] = []
    reader.data(info.size, path, parts.append)
    return b"".join(parts)


def _verify(reader: _Reader, name: str, size: int) -> Verified:
    if size < 3 * BLOCK:
        raise bundle_error(name, None, f"expected a tar file, found {size} bytes")
    start = reader.header()
    if start is None:
        raise bundle_error(name, None, f"expected the member {MANIFEST} first, found an empty tar")
    raw, info = start
    _check_member_header(name, raw, info, None)
    if info.name != MANIFEST:
        raise bundle_error(name, info.name, f"expected {MANIFEST} as the first member")
    if info.size > MAX_MANIFEST_BYTES:
        raise bundle_error(name, MANIFEST, f"expected at most {MAX_MANIFEST_BYTES} bytes")
    parts: list[bytes] = []
    reader.data(info.size, MANIFEST, parts.append)
    manifest_bytes = b"".join(parts)
    manifest = Manifest.from_bytes(name, manifest_bytes)
    mtime = manifest.mtime
    if raw != member_header(MANIFEST, info.size, mtime):
        _check_member_header(name, raw, info, mtime)
    sums_bytes = _small(reader, name, SUMS, MAX_SUMS_BYTES, mtime)
    problems: list[str] = []
    entries = {f.path: f for f in manifest.files}
    sums_entry = entries[SUMS]
    _compare(name, sums_entry, hashlib.sha256(sums_bytes).hexdigest(), len(sums_bytes), problems)
    core, sums = parse_sums(name, sums_bytes)
    if core != manifest_core_digest(manifest.raw):
        problems.append(
            f"bundle {name}: member {MANIFEST}: sha256 mismatch: its digest in {SUMS} differs"
            " (the manifest was changed)"
        )
    listed = {p for p in entries if p != SUMS}
    for extra in sorted(set(sums) - listed):
        problems.append(f"bundle {name}: member {SUMS}: lists {extra}, which the manifest does not")
    for missing in sorted(listed - set(sums)):
        problems.append(f"bundle {name}: member {SUMS}: does not list {missing}")
    for path in sorted(listed & set(sums)):
        if sums[path] != entries[path].sha256:
            problems.append(
                f"bundle {name}: member {path}: sha256 mismatch between the manifest and {SUMS}"
            )
    seen = [MANIFEST, SUMS]
    keys = {k.path: k for k in manifest.gpg_keys}
    while True:
        found = reader.header()
        if found is None:
            break
        raw, info = found
        path = _check_member_header(name, raw, info, mtime)
        if path in seen:
            raise bundle_error(name, path, "expected each member once, found it again")
        entry = entries.get(path)
        if entry is None:
            raise bundle_error(name, path, "expected only members the manifest lists, found this")
        seen.append(path)
        digest = hashlib.sha256()
        kept: list[bytes] = []
        keep = path in keys and info.size <= MAX_KEY_BYTES

        def sink(
            chunk: bytes, keep: bool = keep, kept: list[bytes] = kept, digest: Any = digest
        ) -> None:
            digest.update(chunk)
            if keep:
                kept.append(chunk)

        reader.data(info.size, path, sink)
        if _compare(name, entry, digest.hexdigest(), info.size, problems) and path in keys:
            _check_key(name, path, b"".join(kept), keys[path].fingerprint, info.size, problems)
    end, clean = 0, True
    while chunk := reader.handle.read(CHUNK):
        end += len(chunk)
        clean = clean and not chunk.strip(b"\0")
    if not clean or end % BLOCK or not end:
        problems.append(
            f"bundle {name}: expected the archive to end with zero blocks, found other data"
            f" after byte {reader.offset}"
        )
    for missing in [p for p in entries if p not in seen]:
        problems.append(f"bundle {name}: member {missing}: listed in the manifest, missing")
    if problems:
        raise BundleInvalid(problems)
    return Verified(manifest, manifest_bytes, size, seen)


def _compare(name: str, entry: FileEntry, digest: str, size: int, problems: list[str]) -> bool:
    if size != entry.size:
        problems.append(
            f"bundle {name}: member {entry.path}: size mismatch: {size} bytes, the manifest"
            f" says {entry.size}"
        )
        return False
    if digest != entry.sha256:
        problems.append(f"bundle {name}: member {entry.path}: sha256 mismatch")
        return False
    return True


def _check_key(
    name: str, path: str, data: bytes, pinned: str, size: int, problems: list[str]
) -> None:
    if size > MAX_KEY_BYTES:
        problems.append(f"bundle {name}: member {path}: expected a key of at most {MAX_KEY_BYTES}")
        return
    try:
        found = primary_fingerprints(data)
    except KeyFileError as exc:
        problems.append(f"bundle {name}: member {path}: expected an OpenPGP public key: {exc}")
        return
    if found != [pinned]:
        problems.append(
            f"bundle {name}: member {path}: expected exactly the key {pinned},"
            f" found {', '.join(found)}"
        )
