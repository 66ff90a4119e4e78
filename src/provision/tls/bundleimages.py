"""The images of an offline bundle (`provision bundle create`), for the registry role.

A bundle is an uncompressed tar whose FIRST member is `manifest.json`; its `images` list
holds `{ref, path, id}` (`path`: `images/NAME.tar`, a `docker save` tarball). Only that
first member is read here (a bundle can be gigabytes). The bundle itself is checked by
`provision bundle verify` and by the offline_repo role, which unpacks it on each host
under `offline_repo_dir/current/`; this module only says which tarballs are there and
under which name each image goes into the private registry.

    {{ offline_bundle | bundle_images }}
        -> [{ref, path, id, source, repository, tag}] ([] when offline_bundle is empty)
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_REF = re.compile(r"[a-z0-9][a-z0-9._/:@-]{0,254}", re.IGNORECASE)
_PATH = re.compile(r"images/[A-Za-z0-9._-]{1,200}\.tar")
_ID = re.compile(r"sha256:[0-9a-f]{64}")


class BundleImagesError(ValueError):
    pass


def split_ref(ref: str) -> tuple[str, str]:
    """(repository, tag) of an image reference, without a registry host in front:
    `registry:2` -> (registry, 2); `docker.io/library/nginx:1.27` -> (library/nginx, 1.27);
    `reg.example:5000/team/app` -> (team/app, latest). A digest reference keeps no tag."""
    name = ref.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    repository, tag = name, "latest"
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = name.rsplit(":", 1)
    return repository, tag


def read_manifest(bundle: Path) -> dict[str, Any]:
    try:
        with tarfile.open(bundle, "r:") as tar:
            first = tar.next()
            if first is None or first.name != "manifest.json" or not first.isfile():
                raise BundleImagesError(f"{bundle}: the first member is not manifest.json")
            if first.size > MAX_MANIFEST_BYTES:
                raise BundleImagesError(f"{bundle}: manifest.json is too large")
            fh = tar.extractfile(first)
            assert fh is not None
            data = json.loads(fh.read())
    except (OSError, tarfile.TarError, ValueError) as exc:
        if isinstance(exc, BundleImagesError):
            raise
        raise BundleImagesError(f"{bundle}: not a readable bundle ({exc})") from None
    if not isinstance(data, dict):
        raise BundleImagesError(f"{bundle}: manifest.json is not an object")
    return data


def images_of(manifest: dict[str, Any], bundle: str) -> list[dict[str, str]]:
    images = manifest.get("images", [])
    if not isinstance(images, list):
        raise BundleImagesError(f"{bundle}: manifest.json: images is not a list")
    out: list[dict[str, str]] = []
    for i, item in enumerate(images):
        where = f"{bundle}: manifest.json: images[{i}]"
        if not isinstance(item, dict):
            raise BundleImagesError(f"{where} is not an object")
        ref, path, id_ = item.get("ref"), item.get("path"), item.get("id")
        if not isinstance(ref, str) or not _REF.fullmatch(ref):
            raise BundleImagesError(f"{where}: ref is not an image reference")
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            raise BundleImagesError(f"{where}: path is not images/NAME.tar")
        if not isinstance(id_, str) or not _ID.fullmatch(id_):
            raise BundleImagesError(f"{where}: id is not sha256:HEX")
        repository, tag = split_ref(ref)
        out.append(
            {
                "ref": ref,
                "path": path,
                "id": id_,
                "source": ref,
                "repository": repository,
                "tag": tag,
            }
        )
    return out


def bundle_images(bundle: Any) -> list[dict[str, str]]:
    if bundle is None or bundle == "":
        return []
    try:
        return images_of(read_manifest(Path(str(bundle))), str(bundle))
    except BundleImagesError as exc:
        from provision.project.jinjafilters import FilterError

        raise FilterError(str(exc)) from None
