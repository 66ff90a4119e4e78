"""`provision bundle create` from a lab host as the reference (its dnf reaches the lab's
repositories through the lab's proxy: the lab's "internet"), then `verify`, `list`, and a
one-byte corruption that `verify` refuses, naming the member."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from provision.lab import lab_paths
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def docker_save_archive(path: Path, ref: str) -> str:
    """A tiny archive in `docker save`'s layout (one empty layer); returns the image id."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as inner:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        inner.addfile(info, io.BytesIO(b"hello\n"))
    layer_bytes = layer.getvalue()
    layer_digest = hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
            "config": {},
        }
    ).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        [
            {
                "Config": f"{config_digest}.json",
                "RepoTags": [ref],
                "Layers": [f"{layer_digest}/layer.tar"],
            }
        ]
    ).encode()
    with tarfile.open(path, "w") as archive:
        for name, data in (
            (f"{layer_digest}/layer.tar", layer_bytes),
            (f"{config_digest}.json", config),
            ("manifest.json", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return f"sha256:{config_digest}"


@pytest.fixture(scope="module")
def built(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bundle")
    image = folder / "registry.tar"
    image_id = docker_save_archive(image, "lab/registry:2")
    output = folder / "docker-el9.bundle.tar"
    proxy_log = lab_paths().proxy_log
    log_before = proxy_log.read_text() if proxy_log.exists() else ""
    started = time.monotonic()
    result = provision(
        "bundle", "create", str(fresh_hosts.inventory), "--reference", "rocky1",
        "--release", "el9", "--image-tar", str(image), "-o", str(output),
    )  # fmt: skip
    seconds = time.monotonic() - started
    log_after = proxy_log.read_text() if proxy_log.exists() else ""
    return {
        "result": result,
        "output": output,
        "image_id": image_id,
        "seconds": seconds,
        "proxy_log": log_after[len(log_before) :],
        "folder": folder,
        "hosts": fresh_hosts.hosts,
    }


def test_create_writes_the_bundle(built: dict) -> None:
    result = built["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not check" not in result.stderr  # the Docker packages' signatures were
    assert built["output"].is_file()
    assert "bundle id (sha256 of manifest.json): " in result.stdout
    print(f"bundle create: {built['seconds']:.1f}s, {built['output'].stat().st_size} bytes")


def test_dnf_and_the_key_went_through_the_proxy(built: dict) -> None:
    lines = [line for line in built["proxy_log"].splitlines() if " 10.200.0.11 " in f" {line} "]
    assert any("/docker-ce/linux/rhel/9/x86_64/stable/" in line for line in lines), lines[:5]
    assert any(line.split()[3].endswith("/docker-ce/linux/rhel/gpg") for line in lines)
    assert any(".rpm " in line for line in lines)


def test_verify_passes(built: dict) -> None:
    result = provision("bundle", "verify", str(built["output"]))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_list_shows_the_docker_packages_key_and_image(built: dict) -> None:
    result = provision("bundle", "list", str(built["output"]), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (release,) = doc["releases"]
    assert (release["release"], release["arch"]) == ("el9", "x86_64")
    names = {p["name"]: p for p in release["packages"]}
    for name in ("docker-ce", "docker-ce-cli", "containerd.io", "container-selinux"):
        assert name in names, sorted(names)
    assert names["docker-ce"]["source"].startswith("http://10.200.0.1:8080/docker-ce/")
    vars_file = lab_paths().inventory.parent / ".lab/vars.yml"
    pinned = vars_file.read_text().split('docker_gpg_fingerprint: "')[1].split('"')[0]
    assert [k["fingerprint"] for k in doc["gpg_keys"]] == [pinned]
    assert doc["images"] == [
        {
            "ref": "lab/registry:2",
            "id": built["image_id"],
            "path": "images/lab_registry_2.tar",
            "size": doc["images"][0]["size"],
        }
    ]
    text = provision("bundle", "list", str(built["output"]))
    assert "docker-ce" in text.stdout and doc["id"] in text.stdout


def test_repodata_is_a_dnf_repository(built: dict, tmp_path: Path) -> None:
    with tarfile.open(built["output"]) as archive:
        archive.extractall(tmp_path, filter="data")
    repo = tmp_path / "rpms/el9/x86_64"
    assert (repo / "repodata/repomd.xml").is_file()
    check = subprocess.run(
        ["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=tmp_path, capture_output=True
    )
    assert check.returncode == 0, check.stdout


def test_one_byte_corruption_is_named(built: dict, tmp_path: Path) -> None:
    source = built["output"]
    with tarfile.open(source) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".rpm"))
    data = bytearray(source.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0x01
    corrupt = tmp_path / "corrupt.bundle.tar"
    corrupt.write_bytes(bytes(data))
    result = provision("bundle", "verify", str(corrupt))
    assert result.returncode == 1
    assert f"bundle {corrupt}: member {member.name}: sha256 mismatch" in result.stderr


def test_docker_save_on_the_reference_host(built: dict, tmp_path: Path) -> None:
    """An images-only bundle: `docker save` of an image on rocky2 (docker-ce installed
    from the lab repository first, the image made with `docker import`)."""
    host = built["hosts"][1]
    run_on(
        host,
        "dnf -q -y remove podman-docker"  # owns /usr/bin/docker, as on a real host
        " && dnf -q -y config-manager --add-repo"
        " http://10.200.0.1:8080/docker-ce/linux/rhel/docker-ce.repo"
        " && dnf -q -y --setopt=proxy=http://10.200.0.1:3128 --allowerasing install docker-ce"
        " && systemctl start docker"
        " && docker import /opt/lab/busybox-rootfs.tar lab/busybox:1 >/dev/null",
        timeout=300,
    )
    image_id = run_on(host, "docker image inspect --format '{{.Id}}' lab/busybox:1").stdout.strip()
    output = tmp_path / "images.bundle.tar"
    result = provision(
        "bundle", "create", str(lab_paths().inventory), "--reference", host.name,
        "--image", "lab/busybox:1", "-o", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert provision("bundle", "verify", str(output)).returncode == 0
    doc = json.loads(provision("bundle", "list", str(output), "--format", "json").stdout)
    assert doc["releases"] == [] and doc["gpg_keys"] == []
    assert [(i["ref"], i["id"]) for i in doc["images"]] == [("lab/busybox:1", image_id)]
    left = run_on(host, "ls -d /var/tmp/provision-bundle.* 2>/dev/null || true").stdout
    assert left == ""
