"""The backup script of role docker_image_backup, rendered by the compiler and run here
against a fake `docker` (records its arguments, prints a fake archive): atomic writes,
names, failures, retention by count and by age."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from provision.project.compile import compile_run

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = "/usr/local/sbin/provision-image-backup"
INVENTORY = "all:\n  children:\n    docker_hosts:\n      hosts:\n        h1:\n"
INVENTORY += "          ansible_connection: local\n"
FAKE_DOCKER = """#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$1" in
  ps) [ -n "${FAKE_PS:-}" ] && printf '%s\\n' "$FAKE_PS";;
  save)
    shift; [ "$1" = -- ] && shift
    [ "$1" = "${FAKE_FAIL:-}" ] && { echo "no such image: $1" >&2; exit 1; }
    printf 'archive of %s\\n' "$1";;
esac
"""
NEEDED = ("bash", "gzip", "sha256sum", "find", "stat", "sync", "tr", "cut", "date", "sort")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in NEEDED), reason="needs bash and coreutils"
)


def render(tmp_path: Path, **extra: Any) -> Path:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    backups = tmp_path / "backups"
    extra.setdefault("docker_image_backup_dir", str(backups))
    compiled = compile_run(inventory, ROOT / "playbooks" / "operations.yml", extra_vars=extra)
    for task in compiled.plays[0][1][0].tasks:
        if getattr(getattr(task.task, "params", None), "dest", None) == SCRIPT:
            script = tmp_path / "provision-image-backup"
            script.write_bytes(task.task.content)
            script.chmod(0o755)
            return script
    raise AssertionError("no backup script task")


def run(tmp_path: Path, script: Path, ps: str = "", fail: str = "") -> subprocess.CompletedProcess:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "docker").write_text(FAKE_DOCKER)
    (fake / "docker").chmod(0o755)
    env = {
        "PATH": f"{fake}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LC_ALL": "C",
        "FAKE_LOG": str(tmp_path / "docker.log"),
        "FAKE_PS": ps,
        "FAKE_FAIL": fail,
    }
    return subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)


def stem(image: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", image)[:100]
    return f"{safe}-{hashlib.sha256(image.encode()).hexdigest()[:8]}"


def archives(backups: Path, image: str) -> list[Path]:
    pattern = re.compile(re.escape(stem(image)) + r"\.\d{8}T\d{6}Z\.tar\.gz")
    return sorted(p for p in backups.iterdir() if pattern.fullmatch(p.name))


def test_saves_each_named_image_atomically(tmp_path: Path) -> None:
    images = ["busybox:1.36", "registry.example.internal:5000/team/app@sha256:00ff"]
    script = render(tmp_path, docker_image_backup_images=images)
    proc = run(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    backups = tmp_path / "backups"
    for image in images:
        (archive,) = archives(backups, image)
        assert gzip.decompress(archive.read_bytes()) == f"archive of {image}\n".encode()
        assert archive.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in backups.iterdir() if p.name.startswith(".")] == []
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert calls == [f"save -- {image}" for image in images]


def test_all_images_in_use_when_none_named(tmp_path: Path) -> None:
    script = render(tmp_path)
    used = "busybox:1\nweird name $(touch pwned) 'q'"
    proc = run(tmp_path, script, ps=used)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "pwned").exists()
    backups = tmp_path / "backups"
    for image in used.splitlines():
        (archive,) = archives(backups, image)
        assert gzip.decompress(archive.read_bytes()).decode() == f"archive of {image}\n"
    assert "ps --all --format {{.Image}}" in (tmp_path / "docker.log").read_text()


def test_nothing_to_save(tmp_path: Path) -> None:
    proc = run(tmp_path, render(tmp_path))
    assert proc.returncode == 0
    assert "no image to save" in proc.stdout
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_failed_save_leaves_no_archive_and_fails_the_run(tmp_path: Path) -> None:
    script = render(tmp_path, docker_image_backup_images=["bad:1", "good:1"])
    proc = run(tmp_path, script, fail="bad:1")
    assert proc.returncode == 1
    assert "FAILED to save bad:1" in proc.stderr
    backups = tmp_path / "backups"
    assert archives(backups, "bad:1") == []
    assert len(archives(backups, "good:1")) == 1
    assert sorted(p.name for p in backups.iterdir()) == [archives(backups, "good:1")[0].name]


def _old(backups: Path, image: str, stamps: list[str], days: float = 0) -> None:
    backups.mkdir(exist_ok=True)
    for stamp in stamps:
        path = backups / f"{stem(image)}.{stamp}.tar.gz"
        path.write_bytes(gzip.compress(b"old"))
        when = time.time() - days * 86400
        os.utime(path, (when, when))


def test_retention_by_count_keeps_the_newest(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    old = [f"2026010{d}T000000Z" for d in range(1, 6)]
    _old(backups, "app:1", old)
    _old(backups, "other:1", old[:2])  # another image's archives are not counted
    script = render(tmp_path, docker_image_backup_images=["app:1"], docker_image_backup_keep=3)
    proc = run(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    kept = [p.name.split(".")[-3] for p in archives(backups, "app:1")]
    assert kept[:2] == old[-2:] and len(kept) == 3  # two old ones and today's
    assert len(archives(backups, "other:1")) == 2
    assert proc.stdout.count("removed") == 3


def test_retention_by_age_spares_the_newest(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    _old(backups, "app:1", ["20250101T000000Z", "20250102T000000Z"], days=40)
    _old(backups, "app:1", ["20260101T000000Z"], days=10)
    script = render(
        tmp_path,
        docker_image_backup_images=["app:1"],
        docker_image_backup_max_age_days=30,
        docker_image_backup_keep=10,
    )
    assert run(tmp_path, script).returncode == 0
    kept = [p.name.split(".")[-3] for p in archives(backups, "app:1")]
    assert kept[0] == "20260101T000000Z" and len(kept) == 2


def test_age_limit_never_removes_the_only_archive(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    _old(backups, "app:1", ["20250101T000000Z"], days=400)
    script = render(tmp_path, docker_image_backup_images=["app:1"], docker_image_backup_keep=1)
    proc = run(tmp_path, script, fail="app:1")  # today's save fails: nothing is pruned
    assert proc.returncode == 1
    assert len(archives(backups, "app:1")) == 1


def test_no_age_limit(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    _old(backups, "app:1", ["20200101T000000Z"], days=2000)
    script = render(
        tmp_path, docker_image_backup_images=["app:1"], docker_image_backup_max_age_days=0
    )
    assert run(tmp_path, script).returncode == 0
    assert len(archives(backups, "app:1")) == 2
