"""The images of an offline bundle (`provision bundle create`), for the registry role.

A bundle is an uncompressed tar whose FIRST member is `manifest.json`; its `images` list
holds `{ref, path, id}` (`path`: `images/NAME.tar`, a `docker save` tarball). Only that
first member is read here (a bundle can be gigabytes), with the format's reader
(`provision.bundle.listing.read_manifest`, what `provision bundle list` runs: canonical
header and JSON, every field checked). The members themselves are checked by
`provision bundle verify` and by the offline_repo role, which unpacks the bundle on each
host under `offline_repo_dir/current/`; this module only says which tarballs are there
and under which name each image goes into the private registry.

    {{ offline_bundle | bundle_images }}
        -> [{ref, path, id, source, repository, tag}] ([] when offline_bundle is empty)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the format's modules load when the filter runs, not with the filters
    from provision.bundle.format import Manifest


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


def images_of(manifest: Manifest) -> list[dict[str, str]]:
    """The manifest's images (already checked by the format's reader), with the repository
    and tag each goes under in the private registry."""
    out: list[dict[str, str]] = []
    for image in manifest.images:
        repository, tag = split_ref(image.ref)
        out.append(
            {
                "ref": image.ref,
                "path": image.path,
                "id": image.id,
                "source": image.ref,
                "repository": repository,
                "tag": tag,
            }
        )
    return out


def bundle_images(bundle: Any) -> list[dict[str, str]]:
    if bundle is None or bundle == "":
        return []
    from provision.bundle.format import BundleError
    from provision.bundle.listing import read_manifest

    try:
        manifest, _, _ = read_manifest(Path(str(bundle)))
    except BundleError as exc:
        from provision.project.jinjafilters import FilterError

        raise FilterError(str(exc)) from None
    return images_of(manifest)
