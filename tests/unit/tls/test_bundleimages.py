"""The images of an offline bundle: its manifest (the first member) read with the format's
reader (provision.bundle.listing.read_manifest), refs split."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.bundle.helpers import assemble, entries_of, rewrite_manifest, small_bundle

from provision.bundle.format import Image, Manifest
from provision.project.jinjafilters import FilterError
from provision.tls.bundleimages import bundle_images, images_of, split_ref

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


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("images"))


def test_bundle_images(good: Path) -> None:
    (image,) = bundle_images(str(good))
    assert image == {
        "ref": "registry:2",
        "path": "images/registry_2.tar",
        "id": image["id"],
        "source": "registry:2",
        "repository": "registry",
        "tag": "2",
    }
    assert image["id"].startswith("sha256:") and len(image["id"]) == 71
    assert bundle_images(good) == bundle_images(str(good))  # a Path or a string
    assert bundle_images("") == [] and bundle_images(None) == []


def test_images_of_splits_each_ref() -> None:
    manifest = Manifest(
        "2026-01-31T12:00:00Z",
        "1",
        [],
        [],
        [
            Image("registry:2", "images/registry_2.tar", ID),
            Image("docker.io/library/app:1.0", "images/app.tar", ID),
            Image("reg.example:5000/team/app", "images/team.tar", ID),
        ],
        [],
    )
    assert [(i["source"], i["repository"], i["tag"]) for i in images_of(manifest)] == [
        ("registry:2", "registry", "2"),
        ("docker.io/library/app:1.0", "library/app", "1.0"),
        ("reg.example:5000/team/app", "team/app", "latest"),
    ]


# each a manifest the format's reader refuses: the filter fails naming the bundle and field
REFUSED: dict[str, tuple[Callable[[dict], None], str]] = {
    "empty-ref": (lambda d: d["images"][0].update(ref=""), "images[0].ref"),
    "space-in-ref": (lambda d: d["images"][0].update(ref="a b"), "images[0].ref"),
    "newline-in-ref": (lambda d: d["images"][0].update(ref="a\nb"), "images[0].ref"),
    "cr-in-ref": (lambda d: d["images"][0].update(ref="a\rb"), "images[0].ref"),
    "u2028-in-ref": (lambda d: d["images"][0].update(ref="a\u2028b"), "images[0].ref"),
    "leading-dash-ref": (lambda d: d["images"][0].update(ref="-a"), "images[0].ref"),
    "huge-ref": (lambda d: d["images"][0].update(ref="a" * 5000), "images[0].ref"),
    "dotdot-path": (lambda d: d["images"][0].update(path="../etc/passwd"), "images[0].path"),
    "inner-dotdot": (lambda d: d["images"][0].update(path="images/../x.tar"), "images[0].path"),
    "absolute-path": (lambda d: d["images"][0].update(path="/images/a.tar"), "images[0].path"),
    "newline-path": (lambda d: d["images"][0].update(path="images/a.tar\n"), "images[0].path"),
    "unlisted-path": (lambda d: d["images"][0].update(path="images/other.tar"), "images[0].path"),
    "bad-id": (lambda d: d["images"][0].update(id="sha256:xyz"), "images[0].id"),
    "no-id": (lambda d: d["images"][0].pop("id"), "images[0]"),
    "not-an-object": (lambda d: d["images"].__setitem__(0, "x"), "images[0]"),
    "not-a-list": (lambda d: d.update(images={}), "images"),
}


@pytest.mark.parametrize(("change", "where"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_manifest_is_a_filter_error(
    good: Path, tmp_path: Path, change: Callable[[dict], None], where: str
) -> None:
    entries = entries_of(good)
    rewrite_manifest(entries, change)
    bad = tmp_path / "bad.tar"
    bad.write_bytes(assemble(entries))
    with pytest.raises(FilterError, match=r"^bundle .*bad\.tar: member manifest\.json: ") as caught:
        bundle_images(str(bad))
    assert where in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_manifest_must_come_first(good: Path, tmp_path: Path) -> None:
    entries = entries_of(good)
    entries[0], entries[1] = entries[1], entries[0]
    (tmp_path / "swapped.tar").write_bytes(assemble(entries))
    with pytest.raises(FilterError, match="expected manifest.json as the first member"):
        bundle_images(str(tmp_path / "swapped.tar"))


def test_a_hand_made_tar_is_refused(tmp_path: Path) -> None:
    """A tar that is not what `provision bundle create` writes (another header form, a
    manifest without the format's fields) is refused, not half-read."""
    import io
    import json
    import tarfile

    data = json.dumps({"images": [{"ref": "a", "path": "images/a.tar", "id": ID}]}).encode()
    with tarfile.open(tmp_path / "b.tar", "w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(FilterError, match="member manifest.json"):
        bundle_images(str(tmp_path / "b.tar"))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot be read"),
        (b"", "expected a tar file, found 0 bytes"),
        (b"not a tar at all" * 100, "damaged tar header|expected manifest.json"),
        (b"\0" * 1024, "damaged tar header at byte 0"),
    ],
    ids=["missing", "empty", "junk", "zeros"],
)
def test_unreadable_bundle_is_a_filter_error(
    tmp_path: Path, content: bytes | None, error: str
) -> None:
    path = tmp_path / "junk.tar"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FilterError, match=error):
        bundle_images(str(path))


def test_a_directory_is_a_filter_error(tmp_path: Path) -> None:
    with pytest.raises(FilterError, match="cannot be read"):
        bundle_images(str(tmp_path))
