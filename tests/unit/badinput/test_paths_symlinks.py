"""Bad-input cases that need symlinks (git case folders cannot hold them reliably).

Each case builds a broken mini project in a temporary folder, with a symlink that leads
out of a role, out of the roles folder, out of the playbook's folder, or round in a loop.
Checked as the corpus does: `plan` and `apply` exit 2, name the file:line and the path,
print no traceback, fit on one screen, open no connection and create no file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

INVENTORY = """\
all:
  hosts:
    h1:
      ansible_connection: local
      base: "{{ env.BADINPUT_BASE }}"
"""
TASK = '- name: a harmless directory\n  directory:\n    path: "{{ base }}/d"\n'
PLAY = "- name: badinput\n  hosts: all\n  roles:\n    - r\n"
TEMPLATE_TASK = "- name: conf\n  template:\n    src: app.j2\n    dest: /tmp/app.conf\n"


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _link(root: Path, link: str, target: str | Path) -> None:
    path = root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


Setup = Callable[[Path, Path], None]  # (project, outside folder)


def role_folder_out(project: Path, outside: Path) -> None:
    _files(outside, {"evil/tasks/main.yml": TASK})
    _files(project, {"playbooks/site.yml": PLAY.replace("- r", "- evil")})
    _link(project, "roles/evil", outside / "evil")


def role_folder_loop(project: Path, outside: Path) -> None:
    _files(project, {"playbooks/site.yml": PLAY.replace("- r", "- loop")})
    _link(project, "roles/loop", "loop")


def template_out(project: Path, outside: Path) -> None:
    _files(project, {"roles/r/tasks/main.yml": TEMPLATE_TASK})
    _link(project, "roles/r/templates/app.j2", outside / "secret.txt")


def template_out_relative(project: Path, outside: Path) -> None:
    _files(project, {"roles/r/tasks/main.yml": TEMPLATE_TASK})
    _link(project, "roles/r/templates/app.j2", "../../../inventory.yml")


def files_folder_out(project: Path, outside: Path) -> None:
    _files(project, {"roles/r/tasks/main.yml": "- copy:\n    src: secret.txt\n    dest: /tmp/x\n"})
    _link(project, "roles/r/files", outside)


def tasks_file_out(project: Path, outside: Path) -> None:
    (project / "roles/r/tasks/main.yml").unlink()
    _files(outside, {"tasks.yml": TASK})
    _link(project, "roles/r/tasks/main.yml", outside / "tasks.yml")


def defaults_out(project: Path, outside: Path) -> None:
    _link(project, "roles/r/defaults/main.yml", outside / "secret.txt")


def meta_out(project: Path, outside: Path) -> None:
    _link(project, "roles/r/meta/main.yml", outside / "secret.txt")


def role_tests_out(project: Path, outside: Path) -> None:
    _files(outside, {"test_evil.py": "import os\n"})
    _link(project, "roles/r/tests/test_evil.py", outside / "test_evil.py")


def template_loop(project: Path, outside: Path) -> None:
    _files(project, {"roles/r/tasks/main.yml": TEMPLATE_TASK})
    _link(project, "roles/r/templates/app.j2", "other.j2")
    _link(project, "roles/r/templates/other.j2", "app.j2")


def play_src_out(project: Path, outside: Path) -> None:
    _files(
        project,
        {
            "playbooks/site.yml": "- name: badinput\n  hosts: all\n  tasks:\n"
            "    - name: file\n      copy:\n        src: evil.txt\n        dest: /tmp/x\n"
        },
    )
    _link(project, "playbooks/files/evil.txt", outside / "secret.txt")


def dependency_folder_out(project: Path, outside: Path) -> None:
    _files(outside, {"dep/tasks/main.yml": TASK})
    _files(project, {"roles/r/meta/main.yml": "dependencies:\n  - dep\n"})
    _link(project, "roles/dep", outside / "dep")


CASES: list[tuple[str, Setup, list[str], str]] = [
    # (id, setup, words the output must contain, FILE:LINE it must name)
    (
        "role-folder-out",
        role_folder_out,
        ["role 'evil'", "outside the roles folder"],
        "playbooks/site.yml:4",
    ),
    ("role-folder-loop", role_folder_loop, ["symlink loop", "roles/loop"], "playbooks/site.yml:4"),
    (
        "template-out",
        template_out,
        ["templates/app.j2 is a symlink to", "outside the role folder"],
        "playbooks/site.yml:4",
    ),
    (
        "template-out-relative",
        template_out_relative,
        ["templates/app.j2 is a symlink to", "outside the role"],
        "playbooks/site.yml:4",
    ),
    (
        "files-folder-out",
        files_folder_out,
        ["roles/r/files is a symlink to", "outside the role"],
        "playbooks/site.yml:4",
    ),
    (
        "tasks-file-out",
        tasks_file_out,
        ["tasks/main.yml is a symlink to", "outside the role"],
        "playbooks/site.yml:4",
    ),
    ("defaults-out", defaults_out, ["defaults/main.yml is a symlink to"], "playbooks/site.yml:4"),
    ("meta-out", meta_out, ["meta/main.yml is a symlink to"], "playbooks/site.yml:4"),
    (
        "role-tests-out",
        role_tests_out,
        ["tests/test_evil.py is a symlink to"],
        "playbooks/site.yml:4",
    ),
    (
        "template-loop",
        template_loop,
        ["symlink loop", "roles/r/templates/"],
        "playbooks/site.yml:4",
    ),
    (
        "play-src-out",
        play_src_out,
        ["copy: `src` 'evil.txt' leads to", "outside the playbook's folder"],
        "playbooks/site.yml:5",
    ),
    (
        "dependency-folder-out",
        dependency_folder_out,
        ["role 'dep'", "outside the roles folder"],
        "roles/r/meta/main.yml:2",
    ),
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("setup, words, where", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_symlink_out_is_refused(
    setup: Setup,
    words: list[str],
    where: str,
    command: str,
    tmp_path: Path,
    monkeypatch,
    no_connections,
):
    project, outside, base = tmp_path / "project", tmp_path / "outside", tmp_path / "base"
    for folder in (project, outside, base):
        folder.mkdir()
    _files(outside, {"secret.txt": "outside-secret-content\n"})
    _files(
        project,
        {"inventory.yml": INVENTORY, "playbooks/site.yml": PLAY, "roles/r/tasks/main.yml": TASK},
    )
    setup(project, outside)
    monkeypatch.setenv("BADINPUT_BASE", str(base))
    monkeypatch.chdir(project)
    before = _tree(project)
    result = CliRunner().invoke(main, [command, "inventory.yml"])
    output = result.output
    assert isinstance(result.exception, SystemExit), (result.exception, output)
    assert result.exit_code == 2, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert len(output.splitlines()) <= 25, output
    for word in words:
        assert word in output, f"{word!r} not in:\n{output}"
    assert re.search(re.escape(where) + r"(?![\w.])", output), f"{where} not in:\n{output}"
    assert "outside-secret-content" not in output
    assert _tree(project) == before and list(base.iterdir()) == []
    assert no_connections == []


def test_every_case_is_listed_in_the_readme():
    readme = (Path(__file__).parent / "README.md").read_text()
    for name, *_ in CASES:
        assert f"`symlink:{name}`" in readme, name
