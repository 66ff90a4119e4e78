"""A host's release identity on its disk: written for `--os`, forgotten again (the image's
files show through) when the host boots as the default, the marker kept for `lab reset`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.lab import config, core, releases


@pytest.fixture
def host_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(config, "STATE_ROOT", tmp_path)
    hd = core._host_dir("rocky2")
    (hd / "upper").mkdir(parents=True)
    return hd


def test_no_marker_is_the_default(host_dir: Path) -> None:
    assert core.host_release("rocky2") == releases.DEFAULT


@pytest.mark.parametrize("content", ["rhel9\n", "alma10", "debian12\n", "../x\n", ""])
def test_the_marker_names_a_known_release_or_the_default(host_dir: Path, content: str) -> None:
    (host_dir / "os").write_text(content)
    expected = content.strip() if content.strip() in releases.RELEASES else releases.DEFAULT
    assert core.host_release("rocky2") == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="writes files owned by root, as lab up does")
def test_written_then_forgotten(host_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text('ID="rocky"\nVERSION_ID="9.5"\n')
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    (root / "etc/rocky-release").write_text("Rocky Linux release 9.5 (Blue Onyx)\n")
    core._write_identity(root, "rhel8")
    assert not (root / "etc/os-release").is_symlink()
    assert 'ID="rhel"' in (root / "etc/os-release").read_text()
    assert not (root / "etc/rocky-release").exists()  # RHEL has no rocky-release
    assert (root / "etc/redhat-release").read_text().startswith("Red Hat Enterprise Linux")
    # as if those writes had landed in the upper layer: forgetting removes them all
    for path in releases.IDENTITY_PATHS:
        entry = host_dir / "upper" / path.lstrip("/")
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text("x")
    keep = host_dir / "upper/etc/hostname"
    keep.write_text("rocky2\n")
    core._forget_identity(host_dir)
    left = sorted(str(p.relative_to(host_dir / "upper")) for p in (host_dir / "upper").rglob("*"))
    assert left == ["etc", "etc/hostname", "usr", "usr/lib"]


def test_the_default_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    core._write_identity(root, releases.DEFAULT)
    assert list(root.iterdir()) == []
