"""The built wheel, installed into a clean virtualenv: `provision init` + `provision plan`
with the roles the wheel ships. See wheel.py for how it is built and installed."""

from __future__ import annotations

import json
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.wheel import ROOT, Installed, built_and_installed

EXAMPLE_HOST = "docker1.example.internal"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    yield built_and_installed(tmp_path_factory.mktemp("wheel"))


@pytest.fixture()
def project(installed: Installed, tmp_path: Path) -> Path:
    """A starter project from the installed provision (`provision init demo`)."""
    proc = installed.run("init", "demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp_path / "demo"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plan_on_loopback(installed: Installed, project: Path, *extra: str):
    """`provision plan` of the starter as a user runs it (from the project folder, default
    playbook), the example host pointed at a closed loopback port: nothing is reached."""
    return installed.run(
        "plan",
        "inventories/hosts.yml",
        "--limit",
        EXAMPLE_HOST,
        "-e",
        "ansible_host=127.0.0.1",
        "-e",
        f"ansible_port={closed_port()}",
        "--timeout",
        "2",
        *extra,
        cwd=project,
    )


def shipped_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def installed_package(installed: Installed) -> Path:
    proc = installed.run("--version", cwd=installed.venv)
    assert proc.returncode == 0
    site = list(installed.venv.glob("lib/python3*/site-packages/provision"))
    assert len(site) == 1, site
    return site[0]


def test_the_installed_provision_is_the_wheels(installed: Installed) -> None:
    proc = installed.run("--version", cwd=installed.venv)
    assert proc.returncode == 0, proc.stderr
    assert "0.1.0" in proc.stdout
    code = "import provision, provision.shipped as s; print(provision.__file__, s.roles_dir())"
    out = subprocess.run(
        [str(installed.python), "-c", code], capture_output=True, text=True, cwd=installed.venv
    ).stdout.splitlines()
    package = installed_package(installed)
    assert out == [f"{package / '__init__.py'} {package / 'shipped' / 'roles'}"]
    assert str(ROOT) not in "\n".join(out)


@pytest.mark.parametrize("kind", ["roles", "playbooks"])
def test_the_wheel_ships_the_top_level_folders_unchanged(installed: Installed, kind: str) -> None:
    package = installed_package(installed)
    assert shipped_files(package / "shipped" / kind) == shipped_files(ROOT / kind)


def test_wheel_metadata(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
        licenses = [n for n in names if "/licenses/" in n]
        license_text = wheel.read(licenses[0]) if licenses else b""
    assert "License-Expression: Apache-2.0" in metadata
    assert "Author: provision developers" in metadata
    assert "Classifier: Topic :: System :: Systems Administration" in metadata
    assert "Keywords: " in metadata
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert any(n.startswith("provision/starter/files/") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_init_writes_the_starter_project(installed: Installed, project: Path) -> None:
    for name in ("inventories/hosts.yml", "inventories/group_vars/all.yml", "playbooks/site.yml"):
        assert (project / name).is_file(), name
    assert ".provision/" in (project / ".gitignore").read_text()


def test_plan_of_the_starter_compiles_with_the_shipped_roles(
    installed: Installed, project: Path
) -> None:
    proc = plan_on_loopback(installed, project)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # unreachable, not bad input (2)
    assert f"PLAY Docker hosts (1 host: {EXAMPLE_HOST})" in proc.stdout
    assert "Connection refused" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_plan_json_of_the_starter(installed: Installed, project: Path) -> None:
    proc = plan_on_loopback(installed, project, "--format", "json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    document = json.loads(proc.stdout)
    assert document["hosts"][EXAMPLE_HOST]["status"] == "unreachable"


def test_a_role_missing_everywhere_is_bad_input(installed: Installed, project: Path) -> None:
    """The plan test above can fail: a role neither the project nor the wheel has is exit 2,
    and the message names the shipped folder it looked in."""
    site = project / "playbooks" / "site.yml"
    site.write_text(site.read_text() + "    - no_such_role\n")
    proc = plan_on_loopback(installed, project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "role 'no_such_role' not found" in proc.stderr
    assert str(installed_package(installed) / "shipped" / "roles") in proc.stderr


def test_a_project_role_replaces_the_shipped_one(installed: Installed, project: Path) -> None:
    """A project's roles/docker_check wins: its bad task is the one reported."""
    mine = project / "roles" / "docker_check" / "tasks"
    mine.mkdir(parents=True)
    (mine / "main.yml").write_text("- name: a task of the project's copy\n  nosuchtype: {}\n")
    proc = plan_on_loopback(installed, project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # the project's file, named relative to the current folder (the shipped one would be
    # named under site-packages)
    assert proc.stderr.startswith(
        "error: roles/docker_check/tasks/main.yml:2: unknown task type 'nosuchtype'"
    ), proc.stderr


def test_the_lab_is_not_imported_for_help(installed: Installed) -> None:
    code = "import sys, provision.cli; print(sorted(m for m in sys.modules if 'lab' in m))"
    proc = subprocess.run([str(installed.python), "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr
    lab = installed.run("lab", "--help", cwd=installed.venv)
    assert lab.returncode == 0, lab.stderr
    assert "systemd-nspawn" in lab.stdout
