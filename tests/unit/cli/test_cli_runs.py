"""plan/apply with `ansible_connection: local` on files under tmp_path; JSON; secrets; exits."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

SECRET_VAR = "s3cr3t-T0ken-value"
SECRET_TASK = "hunter2-task-secret"

INVENTORY = """\
all:
  children:
    web:
      hosts:
        a: {ansible_connection: local}
    db:
      hosts:
        b: {ansible_connection: local}
"""

PLAYBOOK = """\
- hosts: all
  secrets: [api_token]
  vars:
    out: "{{ playbook_dir }}/out/{{ inventory_hostname }}"
    greeting: hello
    api_token: "SECRET_VAR"
  tasks:
    - name: output directory
      directory: {path: "{{ out }}", mode: "0750", owner: root, group: root}
    - name: greeting file
      copy: {dest: "{{ out }}/greeting", content: "say {{ greeting }}\\n", owner: root, group: root}
    - name: token line
      line: {path: "{{ out }}/app.conf", line: "token={{ api_token }}", owner: root, group: root}
    - name: secret file
      copy: {dest: "{{ out }}/pw", content: "SECRET_TASK\\n", mode: "0600"}
      secret: true
""".replace("SECRET_VAR", SECRET_VAR).replace("SECRET_TASK", SECRET_TASK)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return tmp_path


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_plan_apply_plan(project: Path):
    first = cli("plan", "inventory.yml", "-p", "site.yml")
    assert first.exit_code == 4, first.output
    assert "will change" in first.output
    assert not (project / "out").exists()  # plan touched nothing
    applied = cli("apply", "inventory.yml", "-p", "site.yml")
    assert applied.exit_code == 0, applied.output
    assert (project / "out/a/greeting").read_text() == "say hello\n"
    assert (project / "out/b/app.conf").read_text() == f"token={SECRET_VAR}\n"
    assert (project / "out/a/pw").stat().st_mode & 0o777 == 0o600
    assert (project / "out/a").stat().st_mode & 0o777 == 0o750
    again = cli("plan", "inventory.yml", "-p", "site.yml")
    assert again.exit_code == 0, again.output
    assert "will change" not in again.output
    assert "RECAP" in again.output


def test_json_output_has_hosts_and_tasks(project: Path):
    result = CliRunner().invoke(
        main, ["plan", "inventory.yml", "-p", "site.yml", "--format", "json"]
    )
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert doc["command"] == "plan" and doc["exit_code"] == 4
    assert set(doc["hosts"]) == {"a", "b"}
    tasks = doc["hosts"]["a"]["tasks"]
    assert [t["name"] for t in tasks] == [
        "output directory",
        "greeting file",
        "token line",
        "secret file",
    ]
    assert {t["status"] for t in tasks} == {"pending"}
    assert tasks[1]["type"] == "copy" and tasks[1]["diffs"][0]["path"].endswith("greeting")
    assert doc["hosts"]["a"]["connections"] == 1 and doc["hosts"]["a"]["remote_commands"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["plan", "--format", "json"],
        ["apply", "--diff"],
        ["apply", "--diff", "--format", "json"],
        ["apply", "--check"],
        ["plan", "-v", "--stats"],
        ["plan", "-vv"],
        ["plan", "-vvv", "--color"],
        ["apply", "-vvv", "--diff"],
    ],
    ids=lambda a: " ".join(a),
)
def test_secrets_never_shown(project: Path, args):
    result = cli(args[0], "inventory.yml", "-p", "site.yml", *args[1:])
    assert result.exit_code in (0, 4), result.output
    for secret in (SECRET_VAR, SECRET_TASK):
        assert secret not in result.output
        assert secret not in (project / ".provision/last-run.json").read_text()
    assert "********" in result.output or "content hidden" in result.output


def test_secrets_masked_in_a_failure_message(project: Path):
    # make the secret line's file a directory: the task fails, naming the path only
    (project / "out/a/app.conf").mkdir(parents=True)
    result = cli("apply", "inventory.yml", "-p", "site.yml", "--diff")
    assert result.exit_code == 1
    assert SECRET_VAR not in result.output and SECRET_TASK not in result.output


def test_extra_vars_override_play_vars(project: Path):
    result = cli("apply", "inventory.yml", "-p", "site.yml", "-e", "greeting=bye")
    assert result.exit_code == 0, result.output
    assert (project / "out/a/greeting").read_text() == "say bye\n"


def test_limit_restricts_hosts(project: Path):
    result = CliRunner().invoke(
        main, ["plan", "inventory.yml", "-p", "site.yml", "--limit", "db", "--format", "json"]
    )
    assert set(json.loads(result.stdout)["hosts"]) == {"b"}
    result = cli("apply", "inventory.yml", "-p", "site.yml", "-l", "a")
    assert result.exit_code == 0
    assert (project / "out/a").is_dir() and not (project / "out/b").exists()
    nothing = cli("plan", "inventory.yml", "-p", "site.yml", "--limit", "nosuch")
    assert nothing.exit_code == 2 and "matches no host" in nothing.output


def test_limit_last_failed(project: Path):
    (project / "out/b/app.conf").mkdir(parents=True)  # b fails
    assert cli("apply", "inventory.yml", "-p", "site.yml").exit_code == 1
    result = CliRunner().invoke(
        main, ["plan", "inventory.yml", "-p", "site.yml", "-l", "@last-failed", "--format", "json"]
    )
    assert set(json.loads(result.stdout)["hosts"]) == {"b"}


def test_tags_select_tasks(project: Path):
    text = PLAYBOOK.replace("      secret: true\n", "      secret: true\n      tags: [pw]\n")
    (project / "site.yml").write_text(text)
    result = CliRunner().invoke(
        main, ["plan", "inventory.yml", "-p", "site.yml", "-t", "pw", "--format", "json"]
    )
    statuses = [t["status"] for t in json.loads(result.stdout)["hosts"]["a"]["tasks"]]
    assert statuses == ["skipped", "skipped", "skipped", "pending"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_exits_3(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    port = closed_port()
    (tmp_path / "inventory.yml").write_text(
        f"all:\n  hosts:\n    gone: {{ansible_host: 127.0.0.1, ansible_port: {port}, "
        f"ansible_user: nobody, provision_known_hosts: {tmp_path}/known_hosts}}\n"
    )
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks:\n    - group: {name: x}\n")
    result = cli("plan", "inventory.yml", "-p", "site.yml", "--timeout", "2")
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.output
    assert f"127.0.0.1:{port}" in result.output


def test_secret_with_quote_in_a_shell_string_is_masked(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(
        '- hosts: a\n  secrets: [db_password]\n  vars: {db_password: "pa\'ss-w0rd"}\n'
        "  tasks:\n    - command:\n        cmd: echo {{ db_password }} > /dev/null\n"
        "        creates: /nonexistent/provision-unit\n"
    )
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 4, result.output
    assert "ss-w0rd" not in result.output
