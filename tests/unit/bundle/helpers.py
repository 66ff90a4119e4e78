"""Build small bundles, then take them apart and put them back together, byte for byte,
so that a test can make exactly one thing wrong (a hostile or damaged tar)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from provision.bundle.format import BLOCK, canonical_json, created_epoch, padding
from provision.bundle.testing import make_bundle

REPO = Path(__file__).resolve().parents[3]
KEYS = REPO / "tests" / "unit" / "facts" / "openpgp"
ED25519 = KEYS / "ed25519.asc"
ED25519_FP = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"
CREATED = "2026-01-31T12:00:00Z"


def small_bundle(directory: Path, createrepo: bool = False, name: str = "b.tar") -> Path:
    rpm = directory / "docker-ce-24.0.7-1.el9.x86_64.rpm"
    rpm.write_bytes(b"not really an rpm\n" * 10)
    rpm2 = directory / "containerd.io-1.6.28-3.1.el9.x86_64.rpm"
    rpm2.write_bytes(b"containerd\n" * 30)
    image = directory / "registry.tar"
    image.write_bytes(b"image layer bytes" * 40)
    return make_bundle(
        directory / "out",
        rpms=[rpm, rpm2],
        keys=[ED25519],
        images=[("registry:2", image)],
        createrepo=createrepo,
        created=CREATED,
        name=name,
        key_source="https://download.docker.com/linux/rhel/gpg",
    )


@dataclass
class Entry:
    name: str
    data: bytes
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    linkname: str = ""
    mtime: int = field(default_factory=lambda: created_epoch(CREATED))
    uid: int = 0
    uname: str = ""
    fmt: int = tarfile.USTAR_FORMAT


def entries_of(bundle: Path) -> list[Entry]:
    with tarfile.open(bundle, "r:") as archive:
        found = []
        for info in archive.getmembers():
            handle = archive.extractfile(info)
            assert handle is not None
            found.append(Entry(info.name, handle.read()))
        return found


def header(entry: Entry) -> bytes:
    info = tarfile.TarInfo(entry.name)
    info.size = len(entry.data) if entry.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    info.mode, info.mtime, info.type, info.linkname = entry.mode, entry.mtime, entry.type, ""
    info.linkname = entry.linkname
    info.uid = info.gid = entry.uid
    info.uname = info.gname = entry.uname
    return info.tobuf(entry.fmt, "utf-8", "surrogateescape")


def assemble(entries: list[Entry], end: bytes = b"\0" * (2 * BLOCK)) -> bytes:
    out = bytearray()
    for entry in entries:
        out += header(entry)
        if entry.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
            out += entry.data + b"\0" * padding(len(entry.data))
    return bytes(out + end)


def rewrite_manifest(entries: list[Entry], change: object) -> None:
    """Change the manifest (a function of its dict), then make SHA256SUMS and the manifest
    agree again: only the one thing the test wants is wrong."""
    from provision.bundle.format import manifest_core_digest

    data = json.loads(entries[0].data)
    change(data)  # type: ignore[operator]
    sums_lines = entries[1].data.decode().splitlines()
    sums_lines[0] = "# manifest-core-sha256 " + manifest_core_digest(data)
    entries[1].data = ("\n".join(sums_lines) + "\n").encode()
    for item in data.get("files", []):
        if item.get("kind") == "sums":
            item["sha256"] = hashlib.sha256(entries[1].data).hexdigest()
            item["size"] = len(entries[1].data)
    entries[0].data = canonical_json(data)
