"""`apply --step` over real SSH (sshd on loopback), through click's runner: each question is
asked just before its task runs (the earlier task's effect is on the host when the next
question comes, the task's own effect is not), once for all the hosts of the play; `n`
skips the task (reported skipped, "declined at --step", its registered result skipped),
`c` runs the rest without asking; handlers, block/rescue and the JSON report are as in a
normal run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision import cli_ansible
from provision.cli import main
from provision.execution import stepmode
from tests.integration.sshd import Sshd

pytestmark = pytest.mark.integration

TASKS = """\
- name: folder
  directory: {path: "{{ base }}", mode: "0755"}
- name: first file
  ansible.builtin.command: {cmd: "touch {{ base }}/one", creates: "{{ base }}/one"}
  notify: mark handled
- name: second file
  ansible.builtin.command: {cmd: "touch {{ base }}/two", creates: "{{ base }}/two"}
  register: second
- name: after the second
  ansible.builtin.command: {cmd: "touch {{ base }}/three", creates: "{{ base }}/three"}
  when: second is changed
- block:
    - name: this fails
      ansible.builtin.fail: {msg: boom}
  rescue:
    - name: rescued
      ansible.builtin.command: {cmd: "touch {{ base }}/rescued", creates: "{{ base }}/rescued"}
"""
HANDLERS = """\
- name: mark handled
  ansible.builtin.command: {cmd: "touch {{ base }}/handled", creates: "{{ base }}/handled"}
"""
FILES = ("one", "two", "three", "rescued", "handled")
QUESTION = "Perform task: "


def make_project(root: Path, sshd: Sshd, hosts: int = 1) -> list[Path]:
    (root / "known_hosts").write_text(sshd.known_hosts_line())
    lines = ["all:", "  hosts:"]
    bases = []
    for index in range(1, hosts + 1):
        base = root / f"target{index}"
        bases.append(base)
        lines += [
            f"    h{index}:",
            "      ansible_host: 127.0.0.1",
            f"      ansible_port: {sshd.port}",
            "      ansible_user: root",
            f"      ansible_ssh_private_key_file: {sshd.client_key}",
            "      provision_known_hosts: known_hosts",
            f"      base: {base}",
        ]
    (root / "inventory.yml").write_text("\n".join(lines) + "\n")
    indent = lambda text: "".join("    " + line + "\n" for line in text.splitlines())  # noqa: E731
    (root / "site.yml").write_text(
        "- hosts: all\n  tasks:\n" + indent(TASKS) + "  handlers:\n" + indent(HANDLERS)
    )
    return bases


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    monkeypatch.setattr(cli_ansible, "needs_terminal", lambda is_terminal: None)
    return tmp_path


def watch(monkeypatch: pytest.MonkeyPatch, bases: list[Path]) -> list[tuple[str, set[str]]]:
    """Each question with what is on the hosts when it is asked (before the answer)."""
    seen: list[tuple[str, set[str]]] = []
    real: Callable = stepmode.read_answer

    def reading(text: str, stop, err: bool = False) -> str | None:  # noqa: ANN001
        made = {f"{b.name}/{f}" for b in bases for f in FILES if (b / f).exists()}
        seen.append((text, made))
        return real(text, stop, err)

    monkeypatch.setattr(stepmode, "read_answer", reading)
    return seen


def apply(*answers: str, fmt: str = "json") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        ["apply", "inventory.yml", "-p", "site.yml", "--step", "--format", fmt],
        input="".join(a + "\n" for a in answers),
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def tasks_of(out: str, host: str = "h1") -> dict[str, dict]:
    return {t["name"]: t for t in json.loads(out)["hosts"][host]["tasks"]}


def test_each_question_comes_just_before_its_task(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base,) = make_project(project, sshd)
    seen = watch(monkeypatch, [base])
    # folder y, first file y, second file n, after the second (asked: its `when:` is
    # decided when it runs) y, this fails y, rescued y, handler y
    code, out, err = apply("y", "y", "n", "y", "y", "y", "y")
    assert code == 0, out + err
    questions = [text for text, _ in seen]
    assert questions == [
        QUESTION + name + " (N)o/(y)es/(c)ontinue: "
        for name in (
            "folder",
            "first file",
            "second file",
            "after the second",
            "this fails",
            "rescued",
            "mark handled (handler)",
        )
    ]
    assert err.count(QUESTION) == 7  # JSON on stdout: the questions on stderr
    made = [state for _, state in seen]
    assert made[1] == set()  # the folder exists, no file yet
    assert made[2] == {"target1/one"}  # the first file was made before the next question
    assert made[5] == {"target1/one"}  # nothing from the declined task, nor the failed one
    assert made[6] == {"target1/one", "target1/rescued"}  # the handler runs last
    assert sorted(p.name for p in base.iterdir()) == ["handled", "one", "rescued"]
    tasks = tasks_of(out)
    assert tasks["second file"]["status"] == "skipped"
    assert tasks["second file"]["reason"] == "declined at --step"
    assert tasks["after the second"]["status"] == "skipped"  # `second` is a skipped result
    assert tasks["this fails"]["status"] == "failed"
    assert tasks["rescued"]["status"] == "changed"
    assert tasks["mark handled"]["status"] == "changed"


def test_no_skips_and_continue_runs_the_rest_unasked(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base,) = make_project(project, sshd)
    seen = watch(monkeypatch, [base])
    code, out, err = apply("n", "n", "c")
    assert code not in (0, 130), out + err
    assert len(seen) == 3 and seen[2][0].startswith(QUESTION + "second file ")
    tasks = tasks_of(out)
    assert tasks["folder"]["status"] == "skipped" and tasks["first file"]["status"] == "skipped"
    # the folder was declined but `second file` made it there: touch fails, as it would
    # in Ansible; the host fails at that task and nothing after it runs
    assert tasks["second file"]["status"] == "failed"
    assert not base.exists()


def test_questions_are_asked_once_for_all_hosts(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    bases = make_project(project, sshd, hosts=3)
    seen = watch(monkeypatch, bases)
    code, out, err = apply("y", "y", "y", "n", "y", "y", "y", fmt="text")
    assert code == 0, out + err
    assert len(seen) == 7  # one question per task, not per host
    # lockstep: when the third question comes, every host has run the second task
    assert seen[2][1] == {f"target{i}/one" for i in (1, 2, 3)}
    assert seen[3][1] == {f"target{i}/{f}" for i in (1, 2, 3) for f in ("one", "two")}
    for base in bases:
        assert sorted(p.name for p in base.iterdir()) == ["handled", "one", "rescued", "two"]
    # on the console, each question comes after the lines of the task before it
    assert out.index("second file") < out.index(QUESTION + "after the second")


def test_end_of_input_stops_the_run(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base,) = make_project(project, sshd)
    code, out, err = apply("y", "y")  # then the input ends at the third question
    assert code == 130, out + err
    assert sorted(p.name for p in base.iterdir()) == ["one"]  # no handler either
    assert "interrupted" in out and "Traceback" not in out + err


def test_a_converged_rerun_in_step_mode_changes_nothing(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(project, sshd)
    code, out, err = apply("c")
    assert code == 0, out + err
    code, out, err = apply("c")
    assert code == 0, out + err
    report = json.loads(out)["hosts"]["h1"]
    assert report["counts"]["changed"] == 0
    assert os.environ.get("PROVISION_HOST_RECORD")  # the record went to a temp folder


def test_a_declined_handler_is_skipped(
    project: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base,) = make_project(project, sshd)
    seen = watch(monkeypatch, [base])
    code, out, err = apply("y", "y", "y", "y", "y", "y", "n")
    assert code == 0, out + err
    assert seen[-1][0].startswith(QUESTION + "mark handled (handler) ")
    handler = tasks_of(out)["mark handled"]
    assert handler["status"] == "skipped" and handler["reason"] == "declined at --step"
    assert sorted(p.name for p in base.iterdir()) == ["one", "rescued", "three", "two"]
