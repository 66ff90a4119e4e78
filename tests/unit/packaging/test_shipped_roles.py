"""Roles resolve from the project's roles/ first, then the roles shipped with provision."""

from __future__ import annotations

from pathlib import Path

import pytest

import provision.shipped as shipped
from provision.errors import InputError, Location
from provision.project.playbook import find_role, load_playbook
from provision.starter import starter_text

ROOT = Path(__file__).resolve().parents[3]
WHERE = Location("site.yml", 3)
SHIPPED_ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


def role(folder: Path, name: str) -> Path:
    (folder / name / "tasks").mkdir(parents=True)
    (folder / name / "tasks" / "main.yml").write_text("- group: {name: g}\n")
    return folder / name


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project; the current folder has no roles/ (the checkout's would be found)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo" / "playbooks").mkdir(parents=True)
    return tmp_path / "demo"


def test_source_checkout_ships_its_own_folders() -> None:
    assert shipped.roles_dir() == ROOT / "roles"
    assert shipped.playbooks_dir() == ROOT / "playbooks"
    assert {
        "os_support",
        "docker_engine",
        "offline_repo",
        "docker_registry",
        "docker_swarm",
        "docker_audit_rules",
        "docker_file_modes",
    } <= set(SHIPPED_ROLES)
    assert len(SHIPPED_ROLES) >= 13


def test_packaged_folders_win_over_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "roles").mkdir()
    monkeypatch.setattr(shipped, "HERE", tmp_path)
    assert shipped.roles_dir() == tmp_path / "roles"
    assert shipped.playbooks_dir() == ROOT / "playbooks"  # not packaged there: checkout's


def test_no_shipped_folders_outside_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "roles").mkdir()  # a roles/ but no pyproject.toml: not a checkout
    monkeypatch.setattr(shipped, "HERE", tmp_path / "pkg")
    monkeypatch.setattr(shipped, "CHECKOUT", tmp_path)
    assert shipped.roles_dir() is None
    assert shipped.playbooks_dir() is None


@pytest.mark.parametrize("name", SHIPPED_ROLES)
def test_a_shipped_role_is_found_when_the_project_has_none(project: Path, name: str) -> None:
    assert find_role(name, project / "playbooks", WHERE) == ROOT / "roles" / name


# where the project's copy of docker_engine lives -> it wins over the shipped one
PROJECT_FOLDERS = {
    "beside the playbook": "playbooks/roles",
    "project top level": "roles",
    "current folder": "../roles",
}


@pytest.mark.parametrize("folder", PROJECT_FOLDERS.values(), ids=PROJECT_FOLDERS.keys())
def test_the_projects_role_comes_first(project: Path, folder: str) -> None:
    mine = role(project / folder, "docker_engine")
    assert find_role("docker_engine", project / "playbooks", WHERE).resolve() == mine.resolve()


def test_a_dependency_near_its_role_comes_first(project: Path) -> None:
    near = project / "vendor"
    mine = role(near, "dnf_proxy")
    role(project / "roles", "dnf_proxy")
    assert find_role("dnf_proxy", project / "playbooks", WHERE, near) == mine


def test_missing_role_names_every_folder_searched(project: Path) -> None:
    with pytest.raises(InputError) as caught:
        find_role("no_such_role", project / "playbooks", WHERE)
    message = str(caught.value)
    assert "role 'no_such_role' not found" in message
    assert message.rstrip(")").endswith(str(ROOT / "roles"))  # the shipped folder, last


def test_without_shipped_roles_a_docker_role_is_missing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("provision.project.playbook.shipped_roles", lambda: None)
    with pytest.raises(InputError, match="role 'docker_engine' not found"):
        find_role("docker_engine", project / "playbooks", WHERE)


def test_bad_role_names_are_refused_before_the_shipped_folder(project: Path) -> None:
    for name in ("../roles/docker_engine", "-docker_engine", ".hidden", "a/b", ""):
        with pytest.raises(InputError):
            find_role(name, project / "playbooks", WHERE)


def test_starter_playbook_loads_with_the_shipped_roles(project: Path) -> None:
    site = project / "playbooks" / "site.yml"
    site.write_bytes(starter_text("playbooks/site.yml"))
    (play,) = load_playbook(site)
    assert [r.name for r in play.roles] == [
        "os_support",
        "dnf_proxy",
        "offline_repo",
        "os_update",
        "security_baseline",
        "ip_forward",
        "container_cleanup",
        "docker_storage",
        "docker_repo",
        "docker_engine",
        "docker_check",
    ]
    assert {r.path.parent for r in play.roles} == {ROOT / "roles"}


def test_starter_playbook_takes_a_project_copy_of_one_role(project: Path) -> None:
    site = project / "playbooks" / "site.yml"
    site.write_bytes(starter_text("playbooks/site.yml"))
    mine = role(project / "roles", "docker_check")
    (play,) = load_playbook(site)
    paths = {r.name: r.path for r in play.roles}
    assert paths["docker_check"] == mine
    assert paths["docker_engine"] == ROOT / "roles" / "docker_engine"
