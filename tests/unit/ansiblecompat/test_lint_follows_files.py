"""`provision lint --ansible` follows the files a playbook or role names: static
`include_tasks`/`import_tasks` files, `include_role`/`import_role` roles and `template`
sources; a problem inside one is reported at its own file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

OK_TASK = "- ansible.builtin.file: {path: /srv, state: directory}\n"
BAD_TASK = "- ansible.builtin.dnf: {name: x, disable_gpg_check: true}\n"


def _lint(path: Path):
    return CliRunner().invoke(main, ["lint", "--ansible", str(path)])


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


# (include line, where the included file is written): every spelling Ansible accepts
INCLUDES = {
    "include_tasks": "- include_tasks: more.yml\n",
    "import_tasks": "- import_tasks: more.yml\n",
    "fqcn": "- ansible.builtin.include_tasks: more.yml\n",
    "legacy": "- ansible.legacy.import_tasks: more.yml\n",
    "file-arg": "- include_tasks: {file: more.yml}\n",
    "file-arg-block": "- name: more\n  ansible.builtin.include_tasks:\n    file: more.yml\n",
    "with-when": "- include_tasks: more.yml\n  when: x is defined\n",
}


@pytest.mark.parametrize("line", INCLUDES.values(), ids=INCLUDES.keys())
def test_a_playbook_include_is_followed(tmp_path: Path, line: str) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n"
            + "".join("    " + x + "\n" for x in line.splitlines()),
            "more.yml": OK_TASK + BAD_TASK,
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'more.yml'}:2" in result.output
    assert "disable_gpg_check" in result.output
    assert "3 tasks: 2 run as they are, 1 need a change" in result.output


def test_nested_includes_and_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n    - include_tasks: tasks/a.yml\n",
            "tasks/a.yml": OK_TASK + "- include_tasks: b.yml\n",  # beside a.yml
            "tasks/b.yml": "- import_tasks: a.yml\n" + BAD_TASK,  # back to a: read once
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'tasks' / 'b.yml'}:2" in result.output
    assert result.output.count(f"{tmp_path / 'tasks' / 'a.yml'}:1") == 1


def test_a_missing_include_is_named_at_its_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n    - debug: {msg: x}\n"
            "    - include_tasks: nothere.yml\n"
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert (
        f"{tmp_path / 'site.yml'}:4: `include_tasks` names 'nothere.yml', which is not found"
        in result.output
    )


def test_a_templated_include_name_is_not_followed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n"
            "    - include_tasks: '{{ item }}.yml'\n      loop: [a]\n"
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 0, result.output


def test_an_include_in_a_role_resolves_in_the_role(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  roles: [web]\n",
            "roles/web/tasks/main.yml": "- include_tasks: sub/config.yml\n",
            "roles/web/tasks/sub/config.yml": "- include_tasks: other.yml\n",  # role tasks/
            "roles/web/tasks/other.yml": BAD_TASK,
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'roles/web/tasks/other.yml'}:1" in result.output
    assert result.output.count("change  ") == 1  # read once (listed and included)


@pytest.mark.parametrize(
    "line",
    [
        "- include_role: {name: db}\n",
        "- ansible.builtin.import_role:\n    name: db\n",
    ],
)
def test_an_included_role_is_followed(tmp_path: Path, line: str) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n"
            + "".join("    " + x + "\n" for x in line.splitlines()),
            "roles/db/tasks/main.yml": BAD_TASK,
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'roles/db/tasks/main.yml'}:1" in result.output


# -- templates ------------------------------------------------------------------------

TEMPLATE_PROBLEMS = {
    "unknown-filter": ("a\nb {{ x | nothere }}\n", 2, "Jinja filter `nothere` is not supported"),
    "syntax": ("line1\nline2\n{% if x %}\n", 3, "template syntax error"),
    "refused-lookup": ("{{ lookup('pipe', 'id') }}\n", 1, "lookup `pipe` is refused"),
    "unknown-test": ("\n\n\n{% if x is nothere %}y{% endif %}\n", 4, "Jinja test `nothere`"),
    "block-scalar-first-line": ("key: |\n  {{ x | nothere }}\n", 2, "`nothere`"),
    "unknown-lookup": ("{{ lookup('nothere', 'x') }}", 1, "lookup `nothere` is not supported"),
}


@pytest.mark.parametrize(
    ("text", "line", "words"), TEMPLATE_PROBLEMS.values(), ids=TEMPLATE_PROBLEMS.keys()
)
def test_a_role_template_is_checked_at_its_own_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    _write(
        tmp_path,
        {
            "web/tasks/main.yml": "- template: {src: app.conf.j2, dest: /etc/app.conf}\n",
            "web/templates/app.conf.j2": text,
        },
    )
    result = _lint(tmp_path / "web")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'web/templates/app.conf.j2'}:{line}: " in result.output
    assert words in result.output
    assert (
        "1 tasks: 1 run as they are, 0 need a change; "
        "1 templates: 0 render as they are, 1 need a change" in result.output
    )


TEMPLATE_SOURCES = {
    "playbook-templates": ("templates/a.j2", "- template: {src: a.j2, dest: /a}\n"),
    "beside-playbook": ("a.j2", "- template: {src: a.j2, dest: /a}\n"),
    "one-line-form": ("templates/a.j2", "- template: src=a.j2 dest=/a\n"),
    "fqcn": ("templates/a.j2", "- ansible.builtin.template:\n    src: a.j2\n    dest: /a\n"),
}


@pytest.mark.parametrize(("where", "task"), TEMPLATE_SOURCES.values(), ids=TEMPLATE_SOURCES.keys())
def test_a_playbook_template_is_found_as_ansible_finds_it(
    tmp_path: Path, where: str, task: str
) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n"
            + "".join("    " + x + "\n" for x in task.splitlines()),
            where: "ok {{ x }}\n{{ y | nothere }}\n",
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / where}:2: Jinja filter `nothere`" in result.output


def test_a_clean_template_and_a_missing_one(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "site.yml": "- hosts: all\n  tasks:\n    - template: {src: good.j2, dest: /a}\n"
            "    - template: {src: gone.j2, dest: /b}\n"
            "    - template: {src: '{{ x }}.j2', dest: /c}\n",
            "templates/good.j2": "{{ a | default('x') | upper }}\n"
            "{% raw %}{{ kept }}{% endraw %}\n",
        },
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert f"ok      {tmp_path / 'templates/good.j2'}:1  template good.j2" in result.output
    assert f"{tmp_path / 'site.yml'}:4: template 'gone.j2' is not found" in result.output
    assert "3 tasks: 2 run as they are, 1 need a change; 1 templates: 1 render" in result.output


def test_an_undecodable_template_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    _write(tmp_path, {"web/tasks/main.yml": OK_TASK})
    (tmp_path / "web/templates").mkdir()
    (tmp_path / "web/templates/bin.j2").write_bytes(b"\xff\xfe\x00")
    result = _lint(tmp_path / "web")
    assert result.exit_code == 1, result.output
    assert "template cannot be read" in result.output
    assert "Traceback" not in result.output
