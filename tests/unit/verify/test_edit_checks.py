"""`provision verify` checks of `replace`, `blockinfile` and `firewalld` tasks: each task's
assertion, checked against a fake testinfra host (table-driven), and one local run of
`provision verify` over replace and blockinfile tasks (the controller is the host)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provision.cli import main
from provision.errors import Location
from provision.tasks.base import TaskContext, checkers, task_types
from provision.verify.checks import check

LINE_BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]


@dataclass
class FakeFile:
    content_string: str | None = None
    mode: int = 0o644
    user: str = "root"
    group: str = "root"
    kind: str = "file"

    @property
    def exists(self) -> bool:
        return self.content_string is not None or self.kind != "file"

    @property
    def is_file(self) -> bool:
        return self.kind == "file" and self.content_string is not None


@dataclass
class FakeRun:
    rc: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class FakeHost:
    files: dict[str, FakeFile] = field(default_factory=dict)
    answers: dict[str, FakeRun] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    def file(self, path: str) -> FakeFile:
        return self.files.get(path, FakeFile())

    def run(self, command: str) -> FakeRun:
        self.ran.append(command)
        return self.answers[command]


def make(type_name: str, **args: Any) -> Any:
    cls = task_types()[type_name]
    where = Location("t.yml", 1)
    params = cls.coerce(cls.parse(args, where), where)
    return cls(params, TaskContext(where, None, {}))


def problem(task: Any, host: FakeHost) -> str | None:
    [assertion] = task.assertions()
    assert assertion.kind in checkers()
    return check(host, assertion)


# --- replace -----------------------------------------------------------------------------

REPLACE_CASES = [
    # (file content, args, expected problem substring or None)
    ("a=1\n", {"regexp": "^a=1$", "replace": "a=2"}, "still matches"),
    ("a=2\n", {"regexp": "^a=1$", "replace": "a=2"}, None),
    ("a=1\n", {"regexp": "^a=(?!2)\\d$", "replace": "a=2"}, "still matches"),
    ("x\nSTART\na=1\nEND\n", {"regexp": "a=1", "replace": "a=2", "after": "START"}, "still"),
    ("a=1\nSTART\nEND\n", {"regexp": "a=1", "replace": "a=2", "after": "START"}, None),
    ("a=1\nEND\n", {"regexp": "a=1", "replace": "a=2", "before": "NOMATCH"}, None),
    ("k='v'\n", {"regexp": "'v'", "replace": '"v"'}, "still matches"),
    ('k="v"\n', {"regexp": "'v'", "replace": '"v"'}, None),
    ("-x\n", {"regexp": "^-x$", "replace": "y"}, "still matches"),
    ("../a\n", {"regexp": r"\.\./", "replace": "/"}, "still matches"),
    ("ok\x01\n", {"regexp": "\x01", "replace": ""}, "still matches"),
    ("b" * 200_000 + "\n", {"regexp": "c", "replace": "d"}, None),
    ("a=2\n", {"regexp": "^a=1$", "replace": "a=2", "mode": "0600"}, "mode 0644"),
    ("a=2\n", {"regexp": "^a=1$", "replace": "a=2", "owner": "app"}, "owner is not app"),
    ("a=2\n", {"regexp": "^a=1$", "replace": "a=2", "group": "app"}, "group is not app"),
    (None, {"regexp": "a", "replace": "b"}, "does not exist"),
] + [(f"a{b}b\n", {"regexp": "a\\sb", "replace": "ab"}, "still matches") for b in LINE_BREAKS]


@pytest.mark.parametrize("content,args,wanted", REPLACE_CASES)
def test_replace_check(content: str | None, args: dict[str, Any], wanted: str | None) -> None:
    host = FakeHost({"/etc/x.conf": FakeFile(content)})
    found = problem(make("replace", path="/etc/x.conf", **args), host)
    if wanted is None:
        assert found is None
    else:
        assert found is not None and wanted in found, found


def test_replace_check_refuses_a_directory() -> None:
    host = FakeHost({"/etc/x": FakeFile(None, kind="directory")})
    assert "not a regular file" in (problem(make("replace", path="/etc/x", regexp="a"), host) or "")


# --- blockinfile ----------------------------------------------------------------------------

B = "# BEGIN ANSIBLE MANAGED BLOCK"
E = "# END ANSIBLE MANAGED BLOCK"
BLOCK_CASES = [
    (f"top\n{B}\nx=1\n{E}\n", {"block": "x=1"}, None),
    (f"top\n{B}\nx=2\n{E}\n", {"block": "x=1"}, "missing or differs"),
    ("top\n", {"block": "x=1"}, "missing or differs"),
    (None, {"block": "x=1"}, "does not exist"),
    (None, {"block": "x=1", "state": "absent"}, None),
    ("top\n", {"block": "x=1", "state": "absent"}, None),
    (f"{B}\nx=1\n{E}\n", {"block": "x=1", "state": "absent"}, "still there"),
    (f"{B}\nx=1\n{E}\n", {"block": ""}, "still there"),
    (f"{B}\n'q' \"d\"\n{E}\n", {"block": "'q' \"d\""}, None),
    (f"{B}\n-x\n../y\n{E}\n", {"block": "-x\n../y"}, None),
    (f"{B}\na\tb\n{E}\n", {"block": "a\tb"}, None),
    (f"{B}\nx=1\r\n{E}\n", {"block": "x=1"}, "missing or differs"),
    (
        "<m A>\nx\n<m Z>\n",
        {"block": "x", "marker": "<m {mark}>", "marker_begin": "A", "marker_end": "Z"},
        None,
    ),
    (f"{B}\n{'y' * 100_000}\n{E}\n", {"block": "y" * 100_000}, None),
] + [
    (f"{B}\nx{b}y\n{E}\n", {"block": "x\ny"}, "missing or differs")
    for b in ["\r", "\v", "\f", "\x85", "\u2028", "\u2029"]
]


@pytest.mark.parametrize("content,args,wanted", BLOCK_CASES)
def test_blockinfile_check(content: str | None, args: dict[str, Any], wanted: str | None) -> None:
    host = FakeHost({"/etc/b.conf": FakeFile(content)})
    found = problem(make("blockinfile", path="/etc/b.conf", **args), host)
    if wanted is None:
        assert found is None
    else:
        assert found is not None and wanted in found, found


# --- firewalld ------------------------------------------------------------------------------

Q_RUN = "firewall-cmd --query-service=http"
Q_PERM = "firewall-cmd --permanent --query-service=http"
FIREWALLD_CASES = [
    # (args, {command: rc}, expected problem or None)
    ({"state": "enabled"}, {Q_RUN: 0}, None),
    ({"state": "enabled"}, {Q_RUN: 1}, "not allowed in the running"),
    ({"state": "disabled"}, {Q_RUN: 1}, None),
    ({"state": "disabled"}, {Q_RUN: 0}, "is allowed in the running"),
    ({"state": "enabled", "permanent": True}, {Q_PERM: 0}, None),
    ({"state": "enabled", "permanent": True}, {Q_PERM: 1}, "permanent"),
    ({"state": "enabled", "permanent": True, "immediate": True}, {Q_RUN: 0, Q_PERM: 0}, None),
    ({"state": "enabled", "permanent": True, "immediate": True}, {Q_RUN: 1, Q_PERM: 0}, "running"),
    ({"state": "enabled"}, {Q_RUN: 252}, "cannot answer"),
]


@pytest.mark.parametrize("args,rcs,wanted", FIREWALLD_CASES)
def test_firewalld_check(args: dict[str, Any], rcs: dict[str, int], wanted: str | None) -> None:
    host = FakeHost(
        answers={c: FakeRun(rc, "", "not running" if rc > 1 else "") for c, rc in rcs.items()}
    )
    found = problem(make("firewalld", service="http", **args), host)
    assert host.ran and set(host.ran) <= set(rcs)
    if wanted is None:
        assert found is None
    else:
        assert found is not None and wanted in found, found


def test_firewalld_check_queries_zone_and_port() -> None:
    task = make("firewalld", port="8080-8090/tcp", zone="dmz", state="enabled", permanent=True)
    [assertion] = task.assertions()
    assert assertion.expect["queries"] == [
        ("permanent", "firewall-cmd --permanent --zone=dmz --query-port=8080-8090/tcp")
    ]


# --- one local run of `provision verify` -------------------------------------------------------

PLAYBOOK = """\
- hosts: all
  tasks:
    - name: port
      replace: {path: "{{ playbook_dir }}/out/app.conf", regexp: "^port=80$", replace: "port=8080"}
    - name: block
      blockinfile: {path: "{{ playbook_dir }}/out/app.conf", block: "x=1\\n-y=../z"}
"""


def test_verify_runs_replace_and_blockinfile_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVISION_HOST_RECORD", str(tmp_path / "record.json"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out/app.conf").write_text("port=80\nname='a'\n")
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    runner = CliRunner()
    applied = runner.invoke(main, ["apply", "inventory.yml", "-p", "site.yml", "-y"])
    assert applied.exit_code == 0, applied.output
    result = runner.invoke(main, ["verify", "inventory.yml", "-p", "site.yml"])
    assert result.exit_code == 0, result.output
    conf = tmp_path / "out/app.conf"
    conf.write_text(conf.read_text().replace("port=8080", "port=80").replace("x=1", "x=2"))
    result = runner.invoke(main, ["verify", "inventory.yml", "-p", "site.yml"])
    assert result.exit_code == 1, result.output
    assert "regexp still matches" in result.output, result.output
    assert "block is missing or differs" in result.output, result.output
    assert "Traceback" not in result.output
