"""`run_once` with a result: the first host's result is every host's (a loop under it is
refused); `delegate_to` another inventory host: refused at file:line with what is
supported (Ansible runs a delegated task over the delegate's connection; this tool does
not yet, so it says so instead of running something else)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tools.roleproject import compile_role

from provision.errors import InputError
from provision.project.compile import Compiled


def _compile(tmp_path: Path, tasks: str, hosts: tuple[str, ...] = ("h1", "h2")) -> Compiled:
    return compile_role(tmp_path, tasks, hosts)


RUN_ONCE_SHARED = {
    "register-read": (
        "- debug: {msg: x}\n- command: cat /etc/hostname\n  register: r\n"
        "  changed_when: false\n  run_once: true\n",
        1,
        "r",
    ),
    "register-change": ("- command: touch /tmp/x\n  register: r\n  run_once: yes\n", 0, "r"),
    "set_fact": ("- set_fact: {a: 1}\n  run_once: true\n", 0, "a"),
    "fqcn-set_fact": ("- ansible.builtin.set_fact:\n    a: 1\n  run_once: true\n", 0, "a"),
    "from-block": (
        "- block:\n    - stat: {path: /etc}\n      register: s\n  run_once: true\n",
        0,
        "s",
    ),
}


@pytest.mark.parametrize(
    ("tasks", "index", "name"), RUN_ONCE_SHARED.values(), ids=RUN_ONCE_SHARED.keys()
)
def test_run_once_with_a_result_gives_the_first_hosts_result(
    tmp_path: Path, tasks: str, index: int, name: str
) -> None:
    """The first host runs (reads) the task; the others take its result at plan time
    (project/sharing.py), as Ansible gives the first host's result to every host."""
    first, second = (hp.tasks[index] for hp in _compile(tmp_path, tasks).plays[0][1])
    assert first.skip_reason == "" and second.skip_reason == ""
    assert second.task is None and second.pending is not None
    assert second.pending.groups == {f"reg:run_once['h1'].{name}"}
    assert second.changed_when is None and second.failed_when is None


@pytest.mark.parametrize("loop", ["loop: [1, 2]", "with_items: [1, 2]"])
def test_run_once_with_a_loop_and_a_result_is_refused(tmp_path: Path, loop: str) -> None:
    tasks = f"- debug: {{msg: x}}\n- set_fact: {{a: 1}}\n  run_once: true\n  {loop}\n"
    with pytest.raises(InputError) as caught:
        _compile(tmp_path, tasks)
    assert "main.yml:3" in str(caught.value) and "loop" in str(caught.value)


def test_run_once_without_a_result_still_runs_on_the_first_host(tmp_path: Path) -> None:
    result = _compile(tmp_path, "- debug: {msg: x}\n  run_once: true\n")
    first, second = (host_plays.tasks[0] for host_plays in result.plays[0][1])
    assert first.task is not None
    assert "run_once: runs on h1 only" in second.skip_reason


DELEGATES = ["h2", "db1", "'{{ groups.all[1] }}'", "10.0.0.5", "localhost.localdomain"]


@pytest.mark.parametrize("delegate", DELEGATES)
def test_delegate_to_another_host_is_refused_with_what_is_supported(
    tmp_path: Path, delegate: str
) -> None:
    tasks = f"- debug: {{msg: x}}\n- command: cat /etc/hostname\n  delegate_to: {delegate}\n"
    with pytest.raises(InputError) as caught:
        _compile(tmp_path, tasks)
    text = str(caught.value)
    assert "main.yml:3" in text
    assert "only `delegate_to: localhost`" in text and "read-only step" in text
    assert "hosts: NAME" in (caught.value.hint or "")


@pytest.mark.parametrize("delegate", ["localhost", "127.0.0.1"])
def test_delegate_to_localhost_on_a_read_is_accepted(tmp_path: Path, delegate: str) -> None:
    tasks = f"- stat: {{path: /etc}}\n  register: s\n  delegate_to: {delegate}\n"
    assert _compile(tmp_path, tasks).plays
