"""The images of an offline bundle: its manifest's first member read, refs split."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from provision.project.jinjafilters import FilterError
from provision.tls.bundleimages import (
    BundleImagesError,
    bundle_images,
    images_of,
    read_manifest,
    split_ref,
)

ID = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("registry:2", ("registry", "2")),
        ("busybox", ("busybox", "latest")),
        ("library/nginx:1.27", ("library/nginx", "1.27")),
        ("docker.io/library/nginx:1.27", ("library/nginx", "1.27")),
        ("reg.example:5000/team/app", ("team/app", "latest")),
        ("reg.example:5000/team/app:v1", ("team/app", "v1")),
        ("localhost/app:1", ("app", "1")),
        ("team/app@sha256:" + "0" * 64, ("team/app", "latest")),
        ("quay.io/org/app:3.1-alpine", ("org/app", "3.1-alpine")),
    ],
)
def test_split_ref(ref: str, want: tuple[str, str]) -> None:
    assert split_ref(ref) == want


def bundle(tmp_path: Path, manifest: object, first: str = "manifest.json") -> Path:
    path = tmp_path / "b.tar"
    data = json.dumps(manifest).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(first)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        other = tarfile.TarInfo("images/registry_2.tar")
        other.size = 3
        tar.addfile(other, io.BytesIO(b"abc"))
    return path


def test_bundle_images(tmp_path: Path) -> None:
    path = bundle(
        tmp_path, {"images": [{"ref": "registry:2", "path": "images/registry_2.tar", "id": ID}]}
    )
    assert bundle_images(str(path)) == [
        {
            "ref": "registry:2",
            "path": "images/registry_2.tar",
            "id": ID,
            "source": "registry:2",
            "repository": "registry",
            "tag": "2",
        }
    ]
    assert bundle_images("") == [] and bundle_images(None) == []


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("x", "is not an object"),
        ({"ref": "", "path": "images/a.tar", "id": ID}, "ref is not"),
        ({"ref": "a b", "path": "images/a.tar", "id": ID}, "ref is not"),
        ({"ref": "a\n", "path": "images/a.tar", "id": ID}, "ref is not"),
        ({"ref": "-a", "path": "images/a.tar", "id": ID}, "ref is not"),
        ({"ref": "a", "path": "../etc/passwd", "id": ID}, "path is not"),
        ({"ref": "a", "path": "images/../x.tar", "id": ID}, "path is not"),
        ({"ref": "a", "path": "images/a.tar\n", "id": ID}, "path is not"),
        ({"ref": "a", "path": "/images/a.tar", "id": ID}, "path is not"),
        ({"ref": "a", "path": "images/a.tar", "id": "sha256:xyz"}, "id is not"),
        ({"ref": "a", "path": "images/a.tar"}, "id is not"),
    ],
)
def test_images_refused(item: object, error: str) -> None:
    with pytest.raises(BundleImagesError, match=error):
        images_of({"images": [item]}, "b.tar")


def test_images_not_a_list() -> None:
    with pytest.raises(BundleImagesError, match="not a list"):
        images_of({"images": {}}, "b.tar")


def test_manifest_must_come_first(tmp_path: Path) -> None:
    path = bundle(tmp_path, {"images": []}, first="SHA256SUMS")
    with pytest.raises(BundleImagesError, match="first member is not manifest.json"):
        read_manifest(path)


def test_unreadable_bundle_is_a_filter_error(tmp_path: Path) -> None:
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(FilterError, match="not a readable bundle"):
        bundle_images(str(tmp_path / "junk.tar"))
    with pytest.raises(FilterError, match="not a readable bundle"):
        bundle_images(str(tmp_path / "missing.tar"))
