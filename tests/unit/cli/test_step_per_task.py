"""--step through click's runner: (y)es/(n)o/(c)ontinue per task, read as
ansible-playbook reads it (y/yes, c/continue, anything else is no: ansible-core's
StrategyBase._take_step), refused without a terminal and beside --yes (no host touched:
exit 2 before any connection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.tools.localproject import local_project
from tests.tools.localproject import run_cli as run

from provision import cli_ansible


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    hosts = f"[web]\nweb1 ansible_connection=local base={tmp_path / 'target'}/1\n"
    return local_project(tmp_path, monkeypatch, hosts)


def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cli_ansible.step
    monkeypatch.setattr(
        cli_ansible, "step", lambda compiled, ask, is_terminal: real(compiled, ask, True)
    )


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_step_without_a_terminal_is_refused(project: Path, command: str) -> None:
    code, _, err = run(command, "hosts.ini", "--step")
    assert code == 2 and "needs a terminal" in err and "Traceback" not in err
    assert not (project / "target").exists()


@pytest.mark.parametrize("flags", [("--step", "--yes"), ("--yes", "--step"), ("-y", "--step")])
def test_step_with_yes_is_refused(project: Path, flags: tuple[str, ...]) -> None:
    code, _, err = run("apply", "hosts.ini", *flags, stdin="y\ny\ny\ny\n")
    assert code == 2 and "--step" in err and "--yes" in err
    assert not (project / "target").exists()


# answers typed, then which of the first tasks are skipped (True) and how many questions
ANSWERS = {
    "all-no": ("n\nn\nn\nn\nn\nn\n", None, None),
    "yes-then-continue": ("y\nc\n", [False, False], 2),
    "no-then-continue": ("n\nc\n", [True, False], 2),
    "empty-is-no": ("\nc\n", [True, False], 2),
    "upper-case": ("N\nY\nC\n", [True, False, False], 3),
    "junk-is-no": ("maybe\nyes!\ny\nc\n", [True, True, False, False], 4),
    "words": ("yes\ncontinue\n", [False, False], 2),
    "padded": ("  Y  \n\tc\n", [False, False], 2),
    "continue-first": ("c\n", [False, False, False], 1),
}


@pytest.mark.parametrize(("stdin", "skipped", "asked"), ANSWERS.values(), ids=ANSWERS.keys())
def test_each_task_is_asked(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    stdin: str,
    skipped: list[bool] | None,
    asked: int | None,
) -> None:
    on_a_terminal(monkeypatch)
    code, out, _ = run("plan", "hosts.ini", "--step", "--format", "json", stdin=stdin)
    assert code in (0, 4), out
    tasks = json.loads(out[out.index("{") :])["hosts"]["web1"]["tasks"]
    if skipped is None:  # every answer no: every task skipped, one question per task
        assert all(t["status"] == "skipped" for t in tasks)
        assert out.count("Perform task: ") == len(tasks)
        return
    assert out.count("Perform task: ") == asked
    assert [t["status"] == "skipped" for t in tasks[: len(skipped)]] == skipped
    assert all(
        "declined" in t.get("reason", "") for t in tasks[: len(skipped)] if t["status"] == "skipped"
    )
    assert not (project / "target").exists()  # plan: nothing touched
