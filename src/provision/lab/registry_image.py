"""The lab's `registry:2` image, built from Debian's docker-registry package.

The lab has no internet, so Docker Hub's `registry:2` cannot be pulled. Debian bookworm
packages the same program (Docker's Distribution registry 2.8.2): this module
`apt-get download`s it with libc6 (the binary is dynamically linked against libc.so.6),
lays out a minimal root filesystem (the binary as /bin/registry, its two libraries, a
default /etc/docker/registry/config.yml) and packs it as a `docker save` tarball tagged
`registry:2`, loadable with `docker load -i`.

The tarball is deterministic (fixed times and owners, sorted members), so its image ID
is the same on every build of the same packages. It is cached in
``CACHE_ROOT/registry-image-<key>/`` (key: a hash of this module), built in a
``.partial`` directory and renamed into place when complete, like the base image.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from . import config
from .util import LabError, run, safe_rmtree

HERE = Path(__file__).resolve().parent
DEBS = ("docker-registry", "libc6")
IMAGE_REF = "registry:2"
TARBALL_NAME = "registry-2.tar"
#: fixed time of every member and of the image config (deterministic image ID)
EPOCH = 1684000000
CREATED = "2023-05-13T17:46:40Z"
#: where the lab test puts the tarball on a lab host
ON_HOST = "/opt/lab/registry-2.tar"

#: the image's default configuration (the docker_registry role mounts its own over it)
DEFAULT_CONFIG = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
"""

#: (path in the image, path in the unpacked debs, mode)
BINARIES = (
    ("bin/registry", "docker-registry/usr/bin/docker-registry", 0o755),
    ("lib/x86_64-linux-gnu/libc.so.6", "libc6/lib/x86_64-linux-gnu/libc.so.6", 0o755),
    (
        "lib64/ld-linux-x86-64.so.2",
        "libc6/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        0o755,
    ),
)
DIRECTORIES = (
    "bin",
    "etc",
    "etc/docker",
    "etc/docker/registry",
    "lib",
    "lib/x86_64-linux-gnu",
    "lib64",
    "tmp",
    "var",
    "var/lib",
    "var/lib/registry",
)
TEXT_FILES = (
    ("etc/docker/registry/config.yml", DEFAULT_CONFIG),
    ("etc/passwd", "root:x:0:0:root:/:/bin/registry\nnobody:x:65534:65534::/:/bin/false\n"),
    ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ("etc/nsswitch.conf", "hosts: files dns\n"),
)


@dataclass(frozen=True)
class RegistryImage:
    """A built image tarball and its image ID (`sha256:...`, what `docker image inspect
    --format '{{.Id}}'` shows after `docker load`)."""

    tarball: Path
    image_id: str
    ref: str = IMAGE_REF


def cache_key() -> str:
    h = hashlib.sha256((HERE / "registry_image.py").read_bytes())
    return h.hexdigest()[:16]


def image_dir(key: str | None = None) -> Path:
    return config.CACHE_ROOT / f"registry-image-{key or cache_key()}"


def current_registry_image() -> RegistryImage | None:
    """The cached image for this module's version, if built."""
    path = image_dir()
    try:
        meta = json.loads((path / "image.json").read_text())
    except (OSError, ValueError):
        return None
    if not (path / TARBALL_NAME).is_file():
        return None
    return RegistryImage(path / TARBALL_NAME, meta["id"], meta.get("ref", IMAGE_REF))


def ensure_registry_image() -> RegistryImage:
    """The cached image, built first (a few seconds: two debs) if it is not cached."""
    image = current_registry_image()
    if image:
        return image
    final = image_dir()
    partial = final.with_name(final.name + ".partial")
    safe_rmtree(partial)
    partial.mkdir(parents=True)
    try:
        debs = _fetch_debs(partial / "debs", partial / "build.log")
        files = collect_files(debs)
        data, image_id = docker_save_tarball(files, IMAGE_REF)
        (partial / TARBALL_NAME).write_bytes(data)
        (partial / "image.json").write_text(
            json.dumps({"id": image_id, "ref": IMAGE_REF, "packages": list(DEBS)}) + "\n"
        )
        safe_rmtree(partial / "debs")
    except BaseException:
        safe_rmtree(partial)
        raise
    safe_rmtree(final)
    os.rename(partial, final)
    return RegistryImage(final / TARBALL_NAME, image_id)


def _fetch_debs(dest: Path, log: Path) -> Path:
    dest.mkdir(parents=True)
    os.chmod(dest, 0o777)  # _apt downloads into it
    argv = ["apt-get", "download", *DEBS]
    proc = subprocess.run(argv, cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:  # stale package lists: refresh once and retry
        run(["apt-get", "update", "-qq"], log=log, check=False)
        proc = subprocess.run(argv, cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(
            f"apt-get download {' '.join(DEBS)} failed:\n{proc.stderr.strip()[-1500:]}\n"
            "The lab's registry image needs Debian bookworm's docker-registry package."
        )
    for deb in dest.glob("*.deb"):
        run(["dpkg-deb", "-x", deb, dest / deb.name.split("_", 1)[0]], log=log)
    return dest


def collect_files(debs: Path) -> dict[str, tuple[bytes, int]]:
    """The image's regular files: path -> (content, mode)."""
    files: dict[str, tuple[bytes, int]] = {}
    for target, source, mode in BINARIES:
        path = debs / source
        if not path.is_file():
            raise LabError(f"the registry image needs {source}, which the debs lack")
        files[target] = (path.read_bytes(), mode)
    for target, text in TEXT_FILES:
        files[target] = (text.encode(), 0o644)
    return files


def _member(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def layer_tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """One deterministic layer: the directories, then the files, in sorted order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(DIRECTORIES):
            tar.addfile(_member(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        for name in sorted(files):
            data, mode = files[name]
            tar.addfile(_member(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
    return buf.getvalue()


def image_config(layer_digest: str) -> bytes:
    """The image configuration (its sha256 is the image ID)."""
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": ["PATH=/bin"],
            "Entrypoint": ["/bin/registry"],
            "Cmd": ["serve", "/etc/docker/registry/config.yml"],
            "ExposedPorts": {"5000/tcp": {}},
            "Volumes": {"/var/lib/registry": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [
            {
                "created": CREATED,
                "created_by": "provision lab: Debian bookworm docker-registry (Distribution 2.8)",
            }
        ],
    }
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def docker_save_tarball(files: dict[str, tuple[bytes, int]], ref: str) -> tuple[bytes, str]:
    """A `docker save`-format tarball of one image with one layer, and its image ID."""
    layer = layer_tar(files)
    layer_hex = hashlib.sha256(layer).hexdigest()
    cfg = image_config(f"sha256:{layer_hex}")
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    repo, _, tag = ref.rpartition(":")
    manifest = [
        {"Config": f"{cfg_hex}.json", "RepoTags": [ref], "Layers": [f"{layer_hex}/layer.tar"]}
    ]
    members: list[tuple[str, bytes | None]] = [
        (f"{layer_hex}", None),
        (f"{layer_hex}/VERSION", b"1.0"),
        (f"{layer_hex}/layer.tar", layer),
        (f"{cfg_hex}.json", cfg),
        ("manifest.json", json.dumps(manifest).encode()),
        ("repositories", json.dumps({repo: {tag: layer_hex}}).encode()),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            if data is None:
                tar.addfile(_member(name, tarfile.DIRTYPE, 0o755))
            else:
                tar.addfile(_member(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return buf.getvalue(), f"sha256:{cfg_hex}"


def copy_to(image: RegistryImage, dest: Path) -> None:
    """Copy the tarball to `dest` (used by tests that put it on a host's disk)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image.tarball, dest)
