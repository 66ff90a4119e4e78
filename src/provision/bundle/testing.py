"""`make_bundle`: a valid small bundle from local files, for tests (this project's and
other roles' tests). Nothing here touches a host.

    from provision.bundle.testing import make_bundle
    bundle = make_bundle(tmp_path, rpms=[rpm_file], keys=[key_file], images=[image_tar])

- rpms: RPM files (their name, version, release and arch are read from the file name
  NAME-VERSION-RELEASE.ARCH.rpm) for `release`/`arch`, or a mapping {"el9": [...], ...}.
  The repodata is made with createrepo_c when it is installed (the directory is then a
  real dnf repository), else a placeholder repomd.xml is written (`createrepo=False`
  forces that; `True` requires createrepo_c).
- keys: armored OpenPGP public key files; each file's one primary key is pinned.
- images: `docker save` archives (ref and id read from them) or (ref, file) pairs; a file
  that is not a docker save archive gets the SHA-256 of its bytes as its id.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from provision.bundle.format import GpgKey, Image, Release, image_member_path
from provision.bundle.writer import Member, image_tar_info, write_bundle
from provision.facts.openpgp import primary_fingerprints

_NEVRA = re.compile(r"(?P<name>.+)-(?P<version>[^-]+)-(?P<release>[^-]+)\.(?P<arch>[^.]+)\.rpm")


def nevra_of_filename(filename: str) -> dict[str, str]:
    match = _NEVRA.fullmatch(filename)
    if not match:
        raise ValueError(f"{filename}: expected NAME-VERSION-RELEASE.ARCH.rpm")
    return match.groupdict()


def make_bundle(
    directory: Path | str,
    rpms: Sequence[Path | str] | Mapping[str, Sequence[Path | str]] = (),
    keys: Iterable[Path | str] = (),
    images: Iterable[Path | str | tuple[str, Path | str]] = (),
    release: str = "el9",
    arch: str = "x86_64",
    name: str = "test.bundle.tar",
    createrepo: bool | None = None,
    created: str | None = None,
    key_source: str = "",
) -> Path:
    """Write `directory/name` and return its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    by_release = dict(rpms) if isinstance(rpms, Mapping) else {release: list(rpms)}
    members: list[Member] = []
    releases: list[Release] = []
    work = Path(tempfile.mkdtemp(prefix="bundle-repo-", dir=directory))
    try:
        for rel, files in by_release.items():
            if not files:
                continue
            repo_path = f"rpms/{rel}/{arch}"
            releases.append(Release(rel, arch, repo_path))
            repo = work / rel
            repo.mkdir()
            for file in map(Path, files):
                shutil.copyfile(file, repo / file.name)
                nevra = nevra_of_filename(file.name)
                members.append(Member(f"{repo_path}/{file.name}", "rpm", **nevra, local=file))
            _repodata(repo, createrepo)
            for meta in sorted((repo / "repodata").iterdir()):
                members.append(Member(f"{repo_path}/repodata/{meta.name}", "repodata", local=meta))
        gpg_keys = []
        for key in map(Path, keys):
            (fingerprint,) = primary_fingerprints(key.read_bytes())
            path = f"keys/{key.stem}.asc"
            gpg_keys.append(GpgKey(path, fingerprint, key_source))
            members.append(Member(path, "key", key_source, local=key))
        found_images = []
        for item in images:
            ref, file = item if isinstance(item, tuple) else (None, item)
            file = Path(file)
            info = image_tar_info(file)
            content_id = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
            image_id = info[1] if info else content_id
            ref = ref or (info[0] if info and info[0] else file.stem)
            path = image_member_path(ref)
            found_images.append(Image(ref, path, image_id))
            members.append(Member(path, "image", local=file))
        output = directory / name
        write_bundle(output, members, releases, gpg_keys, found_images, created)
        return output
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _repodata(repo: Path, createrepo: bool | None) -> None:
    tool = shutil.which("createrepo_c")
    if createrepo is True and tool is None:
        raise RuntimeError("createrepo_c is not installed")
    if tool and createrepo is not False:
        subprocess.run(
            [tool, "--quiet", "--no-database", str(repo)],
            check=True,
            capture_output=True,
        )
        return
    (repo / "repodata").mkdir()
    (repo / "repodata" / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo"><!-- placeholder --></repomd>\n'
    )


def bundle_id_of(bundle: Path | str) -> str:
    """The bundle id (SHA-256 of manifest.json's bytes), read from the bundle's first member."""
    from provision.bundle.format import bundle_id
    from provision.bundle.listing import read_manifest

    return bundle_id(read_manifest(Path(bundle))[1])


def make_bundle_of_bytes(
    directory: Path | str,
    rpms: Mapping[str, bytes],
    keys: Iterable[Path | str] = (),
    name: str = "test.bundle.tar",
    **options: Any,
) -> Path:
    """`make_bundle` from RPM bytes by file name (NAME-VERSION-RELEASE.ARCH.rpm), for tests
    that need no real RPM; the other options are make_bundle's."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    source = Path(tempfile.mkdtemp(prefix="bundle-rpms-", dir=directory))
    try:
        files = []
        for filename, data in rpms.items():
            (source / filename).write_bytes(data)
            files.append(source / filename)
        return make_bundle(directory, rpms=files, keys=keys, name=name, **options)
    finally:
        shutil.rmtree(source, ignore_errors=True)
