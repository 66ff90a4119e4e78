"""ansible.cfg's `roles_path` is searched for roles after the project's own roles/ folders
and before the roles shipped with provision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main
from provision.errors import InputError, Location
from provision.project import playbook
from provision.project.playbook import configure_roles_path, find_role
from provision.shipped import roles_dir

WHERE = Location("site.yml", 1)


@pytest.fixture(autouse=True)
def _no_roles_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playbook, "_roles_path", ())


def _role(folder: Path, name: str) -> Path:
    (folder / name / "tasks").mkdir(parents=True)
    (folder / name / "tasks" / "main.yml").write_text("- debug: {msg: x}\n")
    return folder / name


@pytest.mark.parametrize(
    ("own", "in_path", "found"),
    [
        (False, ["first"], "first"),  # only in roles_path
        (False, ["first", "second"], "first"),  # the first folder of roles_path wins
        (False, ["second"], "second"),
        (True, ["first"], "own"),  # the project's roles/ beat roles_path
    ],
)
def test_order(tmp_path, monkeypatch, own, in_path, found) -> None:
    project = tmp_path / "project"
    (project / "roles").mkdir(parents=True)
    monkeypatch.chdir(project)
    folders = {"own": project / "roles", "first": tmp_path / "a", "second": tmp_path / "b"}
    if own:
        _role(folders["own"], "web")
    for key in in_path:
        _role(folders[key], "web")
    configure_roles_path((folders["first"], folders["second"]))
    assert find_role("web", project, WHERE) == folders[found] / "web"


def test_roles_path_comes_before_the_shipped_roles(tmp_path, monkeypatch) -> None:
    shipped = roles_dir()
    if shipped is None or not any(shipped.iterdir()):
        pytest.skip("no shipped roles in this build")
    name = sorted(p.name for p in shipped.iterdir() if (p / "tasks").is_dir())[0]
    monkeypatch.chdir(tmp_path)
    assert find_role(name, tmp_path, WHERE) == shipped / name
    _role(tmp_path / "mine", name)
    configure_roles_path((tmp_path / "mine",))
    assert find_role(name, tmp_path, WHERE) == tmp_path / "mine" / name


def test_a_missing_role_names_the_roles_path_folders(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    configure_roles_path((tmp_path / "nowhere",))
    with pytest.raises(InputError) as caught:
        find_role("absent", tmp_path, WHERE)
    assert str(tmp_path / "nowhere") in str(caught.value)
    with pytest.raises(InputError, match="role name"):
        find_role("../escape", tmp_path, WHERE)


def test_ansible_cfg_roles_path_through_the_cli(tmp_path, monkeypatch) -> None:
    """A playbook naming a role that lives only in ansible.cfg's roles_path plans."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    monkeypatch.delenv("ANSIBLE_ROLES_PATH", raising=False)
    role = _role(tmp_path / "shared" / "roles", "greet")
    (role / "tasks" / "main.yml").write_text("- debug: {msg: hello from shared}\n")
    (tmp_path / "hosts.ini").write_text("web1 ansible_connection=local\n")
    (tmp_path / "site.yml").write_text("- hosts: all\n  roles: [greet]\n")
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "hosts.ini", "-p", "site.yml", "--list-tasks"])
    assert result.exit_code == 2 and "role 'greet' not found" in result.stderr
    (tmp_path / "ansible.cfg").write_text("[defaults]\nroles_path = elsewhere:shared/roles\n")
    result = runner.invoke(main, ["plan", "hosts.ini", "-p", "site.yml", "--list-tasks"])
    assert result.exit_code == 0, result.stderr
    assert "greet : " in result.stdout
    shutil.rmtree(tmp_path / "shared")
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", str(tmp_path / "env"))
    _role(tmp_path / "env", "greet")
    result = runner.invoke(main, ["plan", "hosts.ini", "-p", "site.yml", "--list-tasks"])
    assert result.exit_code == 0, result.stderr
