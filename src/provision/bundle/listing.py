"""`provision bundle list`: the manifest of a bundle, as text or JSON (reads one member)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provision.bundle.format import (
    BLOCK,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    BundleError,
    Manifest,
    bundle_error,
    bundle_id,
    member_header,
    padding,
    shown_path,
)


def read_manifest(path: Path) -> tuple[Manifest, bytes, int]:
    """(manifest, its bytes, bundle size) from the bundle's first member, checked."""
    import tarfile

    name = shown_path(str(path))
    try:
        with open(path, "rb") as handle:
            size = path.stat().st_size
            raw = handle.read(BLOCK)
            if len(raw) < BLOCK:
                raise bundle_error(name, None, f"expected a tar file, found {size} bytes")
            try:
                info = tarfile.TarInfo.frombuf(raw, "utf-8", "strict")
            except (tarfile.HeaderError, UnicodeDecodeError) as exc:
                raise bundle_error(name, None, f"damaged tar header at byte 0: {exc}")
            if info.name != MANIFEST or info.type != tarfile.REGTYPE:
                raise bundle_error(name, info.name, f"expected {MANIFEST} as the first member")
            if info.size > MAX_MANIFEST_BYTES:
                raise bundle_error(name, MANIFEST, f"expected at most {MAX_MANIFEST_BYTES} bytes")
            data = handle.read(info.size)
            if len(data) != info.size:
                raise bundle_error(name, MANIFEST, "truncated")
            handle.read(padding(info.size))
    except OSError as exc:
        raise BundleError(f"bundle {name}: cannot be read: {exc.strerror or exc}")
    manifest = Manifest.from_bytes(name, data)
    if raw != member_header(MANIFEST, info.size, manifest.mtime):
        raise bundle_error(name, MANIFEST, "expected the canonical tar header, found another")
    return manifest, data, size


def describe(path: Path, manifest: Manifest, manifest_bytes: bytes, size: int) -> dict[str, Any]:
    releases = []
    for release in manifest.releases:
        prefix = release.repo_path + "/"
        packages = [
            {
                "name": f.name,
                "version": f.version,
                "release": f.release,
                "arch": f.arch,
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "source": f.source,
            }
            for f in manifest.files
            if f.kind == "rpm" and f.path.startswith(prefix)
        ]
        releases.append(
            {
                "release": release.release,
                "arch": release.arch,
                "repo_path": release.repo_path,
                "packages": sorted(packages, key=lambda p: (p["name"], p["path"])),
            }
        )
    sizes = {f.path: f.size for f in manifest.files}
    return {
        "bundle": str(path),
        "id": bundle_id(manifest_bytes),
        "format": manifest.raw.get("format"),
        "created": manifest.created,
        "tool_version": manifest.tool_version,
        "size": size,
        "members": len(manifest.files) + 1,
        "releases": releases,
        "images": [
            {"ref": i.ref, "id": i.id, "path": i.path, "size": sizes.get(i.path, 0)}
            for i in manifest.images
        ],
        "gpg_keys": [
            {"path": k.path, "fingerprint": k.fingerprint, "source": k.source}
            for k in manifest.gpg_keys
        ],
        "verified": False,
    }


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size} B"


def describe_text(doc: dict[str, Any]) -> list[str]:
    from provision.facts.openpgp import grouped
    from provision.reporting.terminal import escape_control

    lines = [
        f"bundle   {shown_path(doc['bundle'])}",
        f"id       {doc['id']}",
        f"created  {doc['created']} by provision {doc['tool_version']}",
        f"size     {_mib(doc['size'])}, {doc['members']} members (not verified here:"
        " `provision bundle verify`)",
    ]
    for release in doc["releases"]:
        lines.append(
            f"release  {release['release']} {release['arch']}: {len(release['packages'])}"
            f" packages in {release['repo_path']}"
        )
        for p in release["packages"]:
            lines.append(f"  {p['name']:<28} {p['version']}-{p['release']}.{p['arch']}")
    for image in doc["images"]:
        lines.append(f"image    {image['ref']}  {image['id'][:19]}  {_mib(image['size'])}")
    for key in doc["gpg_keys"]:
        source = f"  from {key['source']}" if key["source"] else ""
        lines.append(f"key      {key['path']}  {grouped(key['fingerprint'])}{source}")
    return [escape_control(line) for line in lines]
