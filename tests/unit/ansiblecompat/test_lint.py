"""`provision lint --ansible PATH`: per task, runs as it is or what to change; exit 0/1/2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

ROOT = Path(__file__).parents[3]

ROLE_OK = """\
- name: packages
  ansible.builtin.dnf: {name: "git,vim", state: installed}
- name: a line
  lineinfile: {dest: /etc/x.conf, regexp: '^a=', line: a=1, create: true}
- name: kernel setting
  ansible.posix.sysctl: {name: vm.swappiness, value: 10}
- name: a directory
  ansible.builtin.file: {path: /srv/app, state: directory, mode: "0750"}
"""

# (tasks/main.yml text, words the output holds)
NEEDS_CHANGE = [
    (
        "- ansible.builtin.dnf: {name: x, disable_gpg_check: true}\n",
        ["change", "tasks/main.yml:9", "`disable_gpg_check`", "instead: provision never installs"],
    ),
    (
        "- name: slow\n  ansible.builtin.command: sleep 100\n  async: 60\n  poll: 0\n",
        ["tasks/main.yml:11: task keyword `async` is not supported", "synchronously"],
    ),
    (
        "- ansible.builtin.command: ls\n  until: x is success\n  retries: 3\n",
        ["`until`", "does not retry"],
    ),
    (
        "- community.docker.docker_container: {name: web}\n",
        ["Ansible module `community.docker.docker_container` is not supported"],
    ),
    (
        "- ansible.builtin.unarchive: {src: a.tgz, dest: /opt}\n",
        ["instead: ansible.builtin.get_url"],
    ),
    ("- ansible.builtin.command: ls | wc -l\n", ["shell syntax", "ansible.builtin.shell"]),
    (
        "- ansible.builtin.lineinfile: {path: /x, line: a, search_string: b}\n",
        ["`search_string`"],
    ),
    ("- apt: {name: x}\n", ["unknown module or keyword `apt`", "ansible.builtin.dnf"]),
    ("- ansible.builtin.copy: {dest: /x, content: a}\n  with_nested: [1, 2]\n", ["`with_nested`"]),
    ("- ansible.builtin.meta: end_play\n", ["`meta: end_play`", "flush_handlers"]),
    # Jinja: unknown filters, tests and lookups, with the line of the node
    (
        '- copy: {dest: /x, content: "{{ a | to_uuid }}"}\n',
        ["tasks/main.yml:9: Jinja filter `to_uuid` is not supported"],
    ),
    (
        "- copy:\n    dest: /x\n    content: |\n      a\n      {{ b | regex_replace('x', 'y') }}\n"
        "      {{ c | to_nice_jsn }}\n",
        ["tasks/main.yml:14: Jinja filter `to_nice_jsn`", "did you mean `to_nice_json`?"],
    ),
    (
        "- debug: {msg: x}\n  when: a is vault_encrypted\n",
        ["tasks/main.yml:10: Jinja test `vault_encrypted` is not supported"],
    ),
    (
        "- debug: {msg: x}\n  when: a is vaulted_file\n",
        ["tasks/main.yml:10: Jinja test `vaulted_file` is not supported"],
    ),
    (
        "- debug: {msg: x}\n  when:\n    - a is defined\n    - b | ipaddr\n",
        ["tasks/main.yml:12: Jinja filter `ipaddr`"],
    ),
    (
        "- debug: {msg: \"{{ lookup('pipe', 'date') }}\"}\n",
        ["lookup `pipe` is refused", "instead: compute the value before the run"],
    ),
    (
        "- debug: {msg: \"{{ query('ansible.builtin.dig', 'x') }}\"}\n",
        ["lookup `ansible.builtin.dig` is not supported", "lookups: env, file, template"],
    ),
    (
        '- copy: {dest: /x, content: "{{ a | ansible.builtin.to_json }}"}\n',
        ["filter `ansible.builtin.to_json`", "write `to_json` (the short name)"],
    ),
    ('- copy: {dest: /x, content: "{{ a | }}"}\n', ["tasks/main.yml:9: template syntax"]),
    ("- debug: {msg: x}\n  changed_when: a ==\n", ["tasks/main.yml:10: template syntax"]),
    (
        "- ansible.builtin.shell: echo {{ x | urlsplit('hostname') }}\n  args: {chdir: /}\n",
        ["filter `urlsplit`"],
    ),
]

# Jinja that runs as it is: known filters, tests, lookups, raw blocks, no templates at all
JINJA_OK = [
    '- copy: {dest: /x, content: "{{ a | regex_escape | b64encode | to_nice_json(indent=2) }}"}\n',
    "- debug: {msg: x}\n  when: a is defined and b | bool and c is not none\n",
    "- debug: {msg: \"{{ lookup('env', 'HOME') }} {{ query('file', 'a') }}\"}\n",
    "- command: docker info --format '{% raw %}{{.Driver | nothere}}{% endraw %}'\n",
    "- debug: {msg: 'a | to_uuid and {x}'}\n",
    '- assert: {that: ["x | default(omit) == 1", "y is success and z is not changed"]}\n',
    '- copy: {dest: /x, content: "{{ d | dict2items | items2dict | combine({}) }}"}\n',
]


def _role(tmp_path: Path, tasks: str) -> Path:
    (tmp_path / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "r" / "tasks" / "main.yml").write_text(tasks)
    return tmp_path / "r"


def _lint(path: Path):
    return CliRunner().invoke(main, ["lint", "--ansible", str(path)])


def test_a_role_that_runs_as_it_is(tmp_path: Path):
    result = _lint(_role(tmp_path, ROLE_OK))
    assert result.exit_code == 0, result.output
    assert "4 tasks: 4 run as they are, 0 need a change" in result.output
    assert "(ansible.builtin.file → file)" in result.output
    assert "(lineinfile → line)" in result.output


@pytest.mark.parametrize(("tasks", "words"), NEEDS_CHANGE)
def test_tasks_that_need_a_change(tmp_path: Path, tasks: str, words: list[str]):
    result = _lint(_role(tmp_path, ROLE_OK + tasks))
    assert result.exit_code == 1, result.output
    assert "need a change" in result.output and "1 need a change" in result.output
    for word in words:
        assert word in result.output, (word, result.output)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("tasks", JINJA_OK)
def test_jinja_that_runs_as_it_is(tmp_path: Path, tasks: str):
    result = _lint(_role(tmp_path, ROLE_OK + tasks))
    assert result.exit_code == 0, result.output


def test_a_playbook_with_a_role_and_play_keywords(tmp_path: Path):
    _role(tmp_path / "roles", ROLE_OK)
    (tmp_path / "roles" / "r").rename(tmp_path / "roles" / "web")
    (tmp_path / "site.yml").write_text(
        "- hosts: all\n  strategy: free\n  roles: [web]\n  tasks:\n"
        "    - ansible.builtin.fail: {msg: stop}\n      when: false\n"
    )
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 1, result.output
    assert "site.yml:2: play keyword `strategy` is not supported" in result.output
    assert "roles/web/tasks/main.yml:1" in result.output
    assert "6 tasks: 5 run as they are, 1 need a change" in result.output


def test_blocks_are_entered(tmp_path: Path):
    tasks = "- block:\n    - ansible.builtin.dnf: {name: x, exclude: y}\n  rescue:\n    - fail:\n"
    result = _lint(_role(tmp_path, tasks))
    assert result.exit_code == 1
    assert "tasks/main.yml:2" in result.output and "`exclude`" in result.output


def test_the_benchmark_playbook_modules_all_translate():
    result = _lint(ROOT / "bench" / "ansible" / "docker-host.yml")
    module_problems = [
        line
        for line in result.output.splitlines()
        if "is not an argument" in line or "not supported by provision" in line
    ]
    assert module_problems == [], module_problems


def test_bad_input_exits_2(tmp_path: Path):
    (tmp_path / "site.yml").write_text("- hosts: [\n")
    result = _lint(tmp_path / "site.yml")
    assert result.exit_code == 2
    assert "site.yml" in result.output
    result = _lint(tmp_path / "missing.yml")
    assert result.exit_code == 2
    empty = tmp_path / "empty_role"
    empty.mkdir()
    assert _lint(empty).exit_code == 2
