"""-i, --list-hosts, --list-tasks, --syntax-check, --start-at-task, --step, ansible.cfg's
inventory and forks, -F and -J: through click's runner, on a local-connection project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.tools.localproject import local_project
from tests.tools.localproject import run_cli as run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "target"
    local_project(
        tmp_path,
        monkeypatch,
        f"[web]\nweb1 ansible_connection=local base={target}/1\n"
        f"web2 ansible_connection=local base={target}/2\n",
    )
    (tmp_path / "more.yml").write_text(
        f"all:\n  hosts:\n    db1:\n      ansible_connection: local\n      base: {target}/3\n"
    )
    return tmp_path


def test_list_hosts_with_several_i(project: Path) -> None:
    code, out, _ = run("plan", "-i", "hosts.ini", "-i", "more.yml", "--list-hosts")
    assert code == 0
    assert out.splitlines() == ["play: demo (3 hosts)", "  web1", "  web2", "  db1"]
    assert not (project / "target").exists()


def test_positional_and_i_merge(project: Path) -> None:
    code, out, _ = run("plan", "hosts.ini", "-i", "more.yml", "--list-hosts", "-l", "db1")
    assert code == 0 and out.splitlines()[1:] == ["  db1"]


def test_list_tasks_and_syntax_check(project: Path) -> None:
    code, out, _ = run("plan", "hosts.ini", "--list-tasks")
    assert code == 0
    assert "  demo : target directory" in out.splitlines()
    code, out, _ = run("plan", "hosts.ini", "--syntax-check")
    assert code == 0 and "syntax and input checked" in out
    (project / "hosts.ini").write_text("[web]\nweb1 port\n")
    code, _, err = run("plan", "hosts.ini", "--syntax-check")
    assert code == 2 and "hosts.ini:2" in err and "expected key=value" in err


def test_inventory_from_ansible_cfg_and_none_at_all(project: Path) -> None:
    code, _, err = run("plan", "--list-hosts")
    assert code == 2 and "no inventory given" in err
    (project / "ansible.cfg").write_text("[defaults]\ninventory = hosts.ini,more.yml\n")
    code, out, _ = run("plan", "--list-hosts")
    assert code == 0 and "play: demo (3 hosts)" in out


def test_bad_ansible_cfg_is_exit_2_with_line(project: Path) -> None:
    (project / "ansible.cfg").write_text("[defaults]\nforks = lots\n")
    code, _, err = run("plan", "hosts.ini", "--list-hosts")
    assert code == 2 and "ansible.cfg:2" in err and "Traceback" not in err


def test_start_at_task(project: Path) -> None:
    code, out, _ = run(
        "plan", "hosts.ini", "-l", "web1", "--start-at-task", "rendered file", "--format", "json"
    )
    assert code == 4, out
    tasks = json.loads(out)["hosts"]["web1"]["tasks"]
    statuses = {t["name"]: t["status"] for t in tasks}
    assert statuses["target directory"] == "skipped"
    assert statuses["rendered file"] != "skipped"
    code, _, err = run("plan", "hosts.ini", "--start-at-task", "no such task")
    assert code == 2 and "no task of the selected plays" in err


def test_step_needs_a_terminal(project: Path) -> None:
    code, _, err = run("plan", "hosts.ini", "--step")
    assert code == 2 and "needs a terminal" in err


def test_step_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provision import cli_ansible

    real = cli_ansible.step
    monkeypatch.setattr(
        cli_ansible, "step", lambda compiled, ask, is_terminal: real(compiled, ask, True)
    )
    code, out, _ = run(
        "plan", "hosts.ini", "-l", "web1", "--step", "--format", "json", stdin="n\ny\nc\n"
    )
    assert code == 4
    assert out.count("Perform task: demo : ") == 3  # n, y, then c: no more questions
    tasks = json.loads(out[out.index("{") :])["hosts"]["web1"]["tasks"]
    statuses = [t["status"] for t in tasks]
    assert statuses[0] == "skipped" and "skipped" not in statuses[1:3]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("-J", "-oProxyCommand=x"), "starts with '-'"),
        (("-J", "a\nb"), "line break"),
        (("-F", "no-such-file"), "ssh config file not found"),
    ],
)
def test_bad_connection_options(project: Path, args: tuple[str, ...], words: str) -> None:
    code, _, err = run("plan", "hosts.ini", *args)
    assert code == 2 and words in err
