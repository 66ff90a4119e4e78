"""Red team 2: lookup('file'/'template') must stay in the role or playbook folder even when
a task, a template or a loop redefines `playbook_dir` or `role_path` (the folders the
lookup searches were taken from the template's variables, so any override moved them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run

SECRET = "controller-only-secret-7f3a"

READ = "\"{{ lookup('file', 'outside/secret.txt') }}\""
READ_T = "\"{{ lookup('template', 'outside/secret.txt') }}\""
READ_ROLE = "\"{{ lookup('file', 'secret.txt') }}\""

CASES = {
    "jinja-set-playbook_dir": (
        "- copy:\n    dest: /tmp/x\n    content: \"{% set playbook_dir = '@PARENT@' %}"
        "{{ lookup('file', 'outside/secret.txt') }}\"\n"
    ),
    "jinja-set-role_path": (
        "- copy:\n    dest: /tmp/x\n    content: \"{% set role_path = '@PARENT@/outside' %}"
        "{{ lookup('file', 'secret.txt') }}\"\n"
    ),
    "jinja-with-concat": (
        "- copy:\n    dest: /tmp/x\n    content: \"{% set playbook_dir = playbook_dir ~ '/..' %}"
        "{{ lookup('file', 'outside/secret.txt') }}\"\n"
    ),
    "task-vars-playbook_dir": (
        f"- copy:\n    dest: /tmp/x\n    content: {READ}\n  vars: {{playbook_dir: '@PARENT@'}}\n"
    ),
    "task-vars-role_path": (
        f"- copy:\n    dest: /tmp/x\n    content: {READ_ROLE}\n"
        "  vars: {role_path: '@PARENT@/outside'}\n"
    ),
    "task-vars-template-lookup": (
        f"- copy:\n    dest: /tmp/x\n    content: {READ_T}\n  vars: {{playbook_dir: '@PARENT@'}}\n"
    ),
    "set_fact": (
        "- set_fact: {playbook_dir: '@PARENT@'}\n"
        f"- copy:\n    dest: /tmp/x\n    content: {READ}\n"
    ),
    "loop_var": (
        f"- copy:\n    dest: /tmp/x\n    content: {READ}\n"
        "  loop: ['@PARENT@']\n  loop_control: {loop_var: playbook_dir}\n"
    ),
}


def project(tmp_path: Path, tasks: str) -> Path:
    root = tmp_path / "project"
    (root / "roles/r/tasks").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret.txt").write_text(SECRET + "\n")
    (root / "roles/r/tasks/main.yml").write_text(tasks.replace("@PARENT@", str(tmp_path)))
    (root / "inventory.yml").write_text("all:\n  hosts:\n    db1:\n")
    (root / "site.yml").write_text("- hosts: all\n  roles: [r]\n")
    return root


@pytest.mark.parametrize("tasks", CASES.values(), ids=CASES.keys())
def test_a_redefined_folder_variable_does_not_move_the_lookup(tmp_path: Path, tasks: str) -> None:
    root = project(tmp_path, tasks)
    with pytest.raises(InputError) as caught:
        compile_run(root / "inventory.yml", root / "site.yml")
    assert SECRET not in str(caught.value)
    assert "lookup" in str(caught.value)


def test_the_real_folders_still_work_and_can_be_passed_on(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        '- copy:\n    dest: /tmp/x\n    content: "{% set role_path = playbook_dir %}'
        "{{ lookup('file', 'inside.txt') }}|{{ role_path == playbook_dir }}\"\n",
    )
    (root / "inside.txt").write_text("in the project\n")
    compiled = compile_run(root / "inventory.yml", root / "site.yml")
    assert compiled.plays[0][1][0].tasks[0].task.content == b"in the project|True"
