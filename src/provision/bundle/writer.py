"""Write a bundle file from local files: hashes, SHA256SUMS, the manifest, the tar."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provision import __version__
from provision.bundle.format import (
    BLOCK,
    MANIFEST,
    SUMS,
    ZERO_SHA256,
    BundleError,
    FileEntry,
    GpgKey,
    Image,
    Manifest,
    MemberInfo,
    Release,
    canonical_json,
    member_header,
    now_created,
    padding,
    path_problem,
    shown_path,
    sums_text,
)

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Member(MemberInfo):
    """One file to put into the bundle: where in the bundle and what the manifest says of
    it (`MemberInfo`), and where it is on this machine (`local`)."""

    local: Path = field(kw_only=True)


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest(), size


def image_tar_info(path: Path) -> tuple[str, str] | None:
    """(first RepoTag, image id) of a `docker save` archive, or None when it is not one."""
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.getmember("manifest.json")
            handle = archive.extractfile(member)
            if handle is None or member.size > 1024 * 1024:
                return None
            data = json.loads(handle.read())
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    config = data[0].get("Config")
    tags = data[0].get("RepoTags") or [""]
    if not isinstance(config, str):
        return None
    digest = config.rsplit("/", 1)[-1].removesuffix(".json")
    if len(digest) != 64 or not isinstance(tags[0], str):
        return None
    return tags[0], f"sha256:{digest}"


def build_manifest(
    members: list[Member],
    releases: list[Release],
    keys: list[GpgKey],
    images: list[Image],
    created: str | None = None,
    extra: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Manifest, bytes, list[FileEntry]]:
    """(manifest, SHA256SUMS bytes, file entries) for these members; checks the result."""
    entries = []
    for member in members:
        problem = path_problem(member.path)
        if problem:
            raise BundleError(f"cannot put {shown_path(member.local)} into a bundle: {problem}")
        digest, size = sha256_file(member.local, progress)
        entries.append(FileEntry(**member.info(), sha256=digest, size=size))
    sums_entry = FileEntry(SUMS, "sums", sha256=ZERO_SHA256, size=0)
    created = created or now_created()
    manifest = Manifest(
        created, __version__, releases, keys, images, [sums_entry, *entries], dict(extra or {})
    )
    from provision.bundle.format import manifest_core_digest

    sums = sums_text(entries, manifest_core_digest(manifest.to_dict()))
    final_sums = FileEntry(SUMS, "sums", sha256=hashlib.sha256(sums).hexdigest(), size=len(sums))
    manifest = replace(manifest, files=[final_sums, *entries])
    Manifest.from_dict("(new)", manifest.to_dict())  # the writer obeys the reader's rules
    return manifest, sums, entries


def write_bundle(
    output: Path,
    members: list[Member],
    releases: list[Release],
    keys: list[GpgKey],
    images: list[Image],
    created: str | None = None,
    extra: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Manifest, bytes]:
    """Write the bundle to `output` (through `output.partial`, renamed when complete).
    Returns (manifest, manifest bytes); the bundle id is the SHA-256 of those bytes."""
    manifest, sums, _entries = build_manifest(
        members, releases, keys, images, created, extra, progress=None
    )
    manifest_bytes = canonical_json(manifest.to_dict())
    mtime = manifest.mtime
    partial = output.with_name(output.name + ".partial")
    by_path = {m.path: m for m in members}
    try:
        with open(partial, "wb") as out:
            for path, data in ((MANIFEST, manifest_bytes), (SUMS, sums)):
                out.write(member_header(path, len(data), mtime))
                out.write(data + b"\0" * padding(len(data)))
            for entry in manifest.files:
                if entry.kind == "sums":
                    continue
                out.write(member_header(entry.path, entry.size, mtime))
                copied = _copy(by_path[entry.path].local, out, entry, progress)
                out.write(b"\0" * padding(copied))
            out.write(b"\0" * (2 * BLOCK))
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest, manifest_bytes


def _copy(
    local: Path, out: io.BufferedWriter, entry: FileEntry, progress: Callable[[int], None] | None
) -> int:
    digest = hashlib.sha256()
    copied = 0
    with open(local, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            copied += len(chunk)
            if progress is not None:
                progress(len(chunk))
    if copied != entry.size or digest.hexdigest() != entry.sha256:
        raise BundleError(f"{shown_path(local)} changed while the bundle was written; run again")
    return copied
