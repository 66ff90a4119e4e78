"""`become_user` on a task, block or include: with `become`, a `command`/`shell` task's
commands (and a read-only command in the probe) run as that user through `runuser -u USER
-- sh -c SCRIPT`, quoted by construction; other task types and other methods are refused."""

from __future__ import annotations

import shlex

import pytest
from tests.unit.project.test_ansible_keywords import compiled, input_error, tasks_of

from provision.facts.readonly import as_user

READ = "- command: id -un\n  register: who\n  changed_when: false\n"
RUN = "- shell: {cmd: 'id -un > /tmp/x', creates: /tmp/x}\n"


@pytest.mark.parametrize(
    "user", ["postgres", "app-user", "svc.web", "u_1", "nobody", "{{ owner }}"]
)
def test_a_read_only_command_runs_as_the_user_in_the_probe(tmp_path, user) -> None:
    text = READ + f"  become: true\n  become_user: '{user}'\n  vars: {{owner: dbadmin}}\n"
    (task,) = tasks_of(compiled(tmp_path, text))
    name = "dbadmin" if "{{" in user else user
    assert task.task.fact.script == as_user(name, "id -un")
    assert shlex.split(task.task.fact.script) == ["runuser", "-u", name, "--", "sh", "-c", "id -un"]


@pytest.mark.parametrize(
    ("place", "text"),
    [
        ("task", RUN + "  become: true\n  become_user: postgres\n"),
        (
            "block",
            "- block:\n  "
            + RUN.replace("\n  ", "\n    ")
            + "  become: true\n  become_user: postgres\n",
        ),
        (
            "ansible",
            "- ansible.builtin.command: {cmd: touch /tmp/y, creates: /tmp/y}\n"
            "  become: true\n  become_user: postgres\n",
        ),
    ],
)
def test_a_changing_command_carries_the_user(tmp_path, place, text) -> None:
    (task,) = tasks_of(compiled(tmp_path, text))
    assert (task.become, task.become_user) == (True, "postgres"), place


def test_without_become_the_user_is_not_used(tmp_path) -> None:
    (task,) = tasks_of(compiled(tmp_path, RUN + "  become: false\n  become_user: postgres\n"))
    assert task.become_user == "root"
    (read,) = tasks_of(compiled(tmp_path, READ + "  become: false\n  become_user: postgres\n"))
    assert "runuser" not in read.task.fact.script


def test_the_environment_is_set_inside_the_users_shell(tmp_path) -> None:
    text = READ + "  become: true\n  become_user: app\n  environment: {LANG: C}\n"
    (task,) = tasks_of(compiled(tmp_path, text))
    assert task.task.fact.script == as_user("app", "export LANG=C; id -un")
    assert task.task.fact.environment == ()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "- service: {name: x, state: started}\n  become: true\n  become_user: app\n",
            "packages and services as root",
        ),
        (
            "- package: {name: git}\n  become: true\n  become_user: app\n",
            "packages and services as root",
        ),
        (READ + "  become: true\n  become_user: '-oProxyCommand=x'\n", "become_user"),
        (READ + "  become: true\n  become_user: 'a b'\n", "become_user"),
        (READ + '  become: true\n  become_user: "a\\nb"\n', "become_user"),
        (READ + "  become: true\n  become_user: 'a:b'\n", "become_user"),
        (READ + "  become_method: su\n", "become_method: su"),
        (READ + "  become_method: doas\n", "become_method: doas"),
    ],
)
def test_refused(tmp_path, text, words) -> None:
    error = input_error(tmp_path, text)
    assert words in str(error), str(error)
    assert "main.yml:" in str(error)


@pytest.mark.parametrize(
    ("host_vars", "task_keys", "expected"),
    [
        (", ansible_become_user: app", "  become: true\n", "app"),
        (", ansible_become_user: app", "  become: true\n  become_user: db\n", "db"),
        (", ansible_become_user: root", "  become: true\n", "root"),
        ("", "  become: true\n", "root"),
    ],
)
def test_the_inventorys_become_user_is_the_hosts_default(
    tmp_path, host_vars, task_keys, expected
) -> None:
    """`ansible_become_user` is honoured per task, like the keyword (the connection itself
    becomes root): one rule for inventory, ansible.cfg, play, block and task."""
    (task,) = tasks_of(compiled(tmp_path, RUN + task_keys, host_vars=host_vars))
    assert task.become_user == expected


def test_the_inventorys_become_user_refuses_a_package_task(tmp_path) -> None:
    text = "- package: {name: git}\n  become: true\n"
    error = input_error(tmp_path, text, host_vars=", ansible_become_user: app")
    assert "`become_user: app` is supported on `command`/`shell` and file tasks" in str(error)


def test_the_connection_becomes_root_whatever_the_hosts_become_user() -> None:
    from provision.execution.connection import LocalConnection
    from provision.project.hostconfig import HostConfig

    config = HostConfig(
        "h", "h", 22, "root", "local", None, None, True, None, None, None, None, become_user="app"
    )
    assert LocalConnection(config).become.target == "root"


def test_without_become_a_file_task_ignores_the_hosts_become_user(tmp_path) -> None:
    text = "- copy: {dest: /x, content: a}\n"
    (task,) = tasks_of(compiled(tmp_path, text, host_vars=", ansible_become_user: app"))
    assert (task.become, task.become_user) == (False, "root")


@pytest.mark.parametrize(
    "task",
    [
        "- assert: {that: ['1 == 1']}\n",
        "- ansible.builtin.assert: {that: ['1 == 1']}\n",
        "- fail: {msg: no}\n  when: false\n",
        "- ansible.builtin.fail: {msg: no}\n  when: false\n",
    ],
)
def test_a_task_that_runs_nothing_on_the_host_takes_any_become_user(tmp_path, task) -> None:
    """A play's `become_user` reaches `assert`/`fail` too (Ansible ignores it there): they
    judge facts and run no command, so they are not refused (the lab's su-to-user play)."""
    (compiled_task,) = tasks_of(compiled(tmp_path, task + "  become: true\n  become_user: app\n"))
    assert compiled_task.become


def test_a_package_task_is_still_refused_beside_them(tmp_path) -> None:
    text = "- package: {name: git}\n  become: true\n  become_user: app\n"
    assert "is supported on `command`/`shell` and file tasks" in str(input_error(tmp_path, text))
