"""The lab's registry:2 image: a deterministic `docker save` tarball (pure parts; the
apt-get download is exercised by tests/lab/test_registry.py)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from provision.lab.registry_image import (
    BINARIES,
    DIRECTORIES,
    EPOCH,
    collect_files,
    docker_save_tarball,
    layer_tar,
)
from provision.lab.util import LabError

FILES = {
    "bin/registry": (b"\x7fELF fake registry", 0o755),
    "etc/docker/registry/config.yml": (b"version: 0.1\n", 0o644),
}


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def read(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        fh = tar.extractfile(name)
        assert fh is not None
        return fh.read()


def test_same_input_same_bytes_and_id() -> None:
    first = docker_save_tarball(FILES, "registry:2")
    second = docker_save_tarball(dict(reversed(list(FILES.items()))), "registry:2")
    assert first == second


def test_id_is_the_config_digest_and_manifest_points_at_it() -> None:
    data, image_id = docker_save_tarball(FILES, "registry:2")
    manifest = json.loads(read(data, "manifest.json"))
    assert manifest[0]["RepoTags"] == ["registry:2"]
    config_name = manifest[0]["Config"]
    config = read(data, config_name)
    assert image_id == "sha256:" + hashlib.sha256(config).hexdigest()
    assert config_name == image_id.removeprefix("sha256:") + ".json"
    layer = read(data, manifest[0]["Layers"][0])
    cfg = json.loads(config)
    assert cfg["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert cfg["config"]["Entrypoint"] == ["/bin/registry"]
    assert cfg["config"]["Cmd"] == ["serve", "/etc/docker/registry/config.yml"]
    repos = json.loads(read(data, "repositories"))
    assert list(repos) == ["registry"] and list(repos["registry"]) == ["2"]


def test_layer_owners_times_modes() -> None:
    found = members(layer_tar(FILES))
    assert set(DIRECTORIES) <= set(found)
    for info in found.values():
        assert (info.uid, info.gid, info.uname, info.gname, info.mtime) == (0, 0, "", "", EPOCH)
    assert found["bin/registry"].mode == 0o755
    assert found["tmp"].mode == 0o1777
    assert list(found) == sorted(DIRECTORIES) + sorted(FILES)


@pytest.mark.parametrize("ref", ["registry:2", "lab/registry:2.8"])
def test_tags(ref: str) -> None:
    data, _ = docker_save_tarball(FILES, ref)
    assert json.loads(read(data, "manifest.json"))[0]["RepoTags"] == [ref]


def test_missing_binary_is_a_lab_error(tmp_path) -> None:
    with pytest.raises(LabError, match="docker-registry/usr/bin/docker-registry"):
        collect_files(tmp_path)


def test_collect_files(tmp_path) -> None:
    for _target, source, _mode in BINARIES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / source).write_bytes(b"x")
    files = collect_files(tmp_path)
    assert files["bin/registry"] == (b"x", 0o755)
    assert b"rootdirectory: /var/lib/registry" in files["etc/docker/registry/config.yml"][0]
