"""Small offline bundles in the lead's fixed format, for tests (the `bundle` branch's
`provision bundle create` makes the real ones): ONE uncompressed tar, `manifest.json`
first, `SHA256SUMS` second (every member but those two), then the members."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from provision.facts.openpgp import primary_fingerprints

LAB_KEY = Path(__file__).parents[1] / "unit" / "facts" / "openpgp" / "lab-docker.asc"


def _member(name: str, data: bytes, mtime: int = 1700000000) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, mtime
    return info, data


def bundle_members(
    files: dict[str, bytes],
    releases: list[tuple[str, str]] | None = None,
    keys: dict[str, bytes] | None = None,
) -> tuple[bytes, bytes, dict[str, bytes]]:
    """(manifest.json, SHA256SUMS, every other member by name) for `files` (relative paths
    such as `rpms/el9/x86_64/x.rpm`) plus `keys` (`keys/NAME.asc` → armored key)."""
    members = dict(files)
    key_entries = []
    for path, data in (keys or {}).items():
        members[path] = data
        try:
            fingerprint = primary_fingerprints(data)[0]
        except (ValueError, IndexError):
            fingerprint = "0" * 40  # not a key: the reader must refuse it
        key_entries.append({"path": path, "fingerprint": fingerprint, "source": "test"})
    entries = [
        {
            "path": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "kind": "key" if name.startswith("keys/") else "rpm",
        }
        for name, data in sorted(members.items())
    ]
    manifest = {
        "format": "provision-bundle/1",
        "created": "2026-12-01T00:00:00Z",
        "tool_version": "test",
        "releases": [
            {"release": r, "arch": a, "repo_path": f"rpms/{r}/{a}"}
            for r, a in (releases or [("el9", "x86_64")])
        ],
        "gpg_keys": key_entries,
        "images": [],
        "files": entries,
    }
    # as `provision bundle create` writes it: a comment line first (sha256sum -c skips it),
    # and the manifest lists SHA256SUMS's own hash
    sums = (
        "# made by tests/tools/offline_bundle.py\n"
        + "".join(f"{e['sha256']}  {e['path']}\n" for e in entries)
    ).encode()
    manifest["files"].append(
        {
            "path": "SHA256SUMS",
            "sha256": hashlib.sha256(sums).hexdigest(),
            "size": len(sums),
            "kind": "sums",
        }
    )
    manifest_bytes = json.dumps(manifest, indent=2).encode() + b"\n"
    return manifest_bytes, sums, members


def write_bundle(
    path: Path,
    files: dict[str, bytes] | None = None,
    keys: dict[str, bytes] | None = None,
    releases: list[tuple[str, str]] | None = None,
    *,
    manifest: bytes | None = None,
    sums: bytes | None = None,
    tamper: dict[str, bytes] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write a bundle; `manifest`/`sums` replace the made ones, `tamper` replaces a
    member's bytes after the checksums were made, `extra` adds unlisted members."""
    if files is None:
        files = {
            "rpms/el9/x86_64/hello-1.0-1.el9.x86_64.rpm": b"rpm bytes\n",
            "rpms/el9/x86_64/repodata/repomd.xml": b"<repomd/>\n",
        }
    if keys is None:
        keys = {"keys/docker.asc": LAB_KEY.read_bytes()}
    made_manifest, made_sums, members = bundle_members(files, releases, keys)
    members.update(tamper or {})
    members.update(extra or {})
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in [
            ("manifest.json", manifest if manifest is not None else made_manifest),
            ("SHA256SUMS", sums if sums is not None else made_sums),
            *sorted(members.items()),
        ]:
            info, payload = _member(name, data)
            archive.addfile(info, io.BytesIO(payload))
    return path


def bundle_id(path: Path) -> str:
    with tarfile.open(path, "r:") as archive:
        handle = archive.extractfile("manifest.json")
        assert handle is not None
        return hashlib.sha256(handle.read()).hexdigest()


def bundle_from_dir(path: Path, repo_dir: Path, keys: dict[str, bytes]) -> Path:
    """A bundle from a folder that already is a dnf repository (RPMs + repodata/)."""
    files = {
        f"rpms/el9/x86_64/{p.relative_to(repo_dir).as_posix()}": p.read_bytes()
        for p in sorted(repo_dir.rglob("*"))
        if p.is_file()
    }
    return write_bundle(path, files, keys)
