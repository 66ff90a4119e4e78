"""Rolling batches and disruption through the real CLI on local hosts: a batch that fails
stops the later ones (their hosts untouched), the recap and the JSON say which batches ran,
`--limit @last-failed` resumes the rollout, `--batch-pause` and `--max-disruption` are
checked like every option, and `plan` shows one disruption line per host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

INVENTORY = """\
all:
  hosts:
    h1: {ansible_connection: local, out: /nonexistent-provision-test}
    h2: {ansible_connection: local}
    h3: {ansible_connection: local}
"""
PLAYBOOK = """\
- name: rollout
  hosts: all
  serial: [1, "50%"]
  vars:
    marker: "{{ out | default(playbook_dir ~ '/out') }}/{{ inventory_hostname }}"
  tasks:
    - name: out exists
      directory: {path: "{{ playbook_dir }}/out"}
    - name: the change
      command: {cmd: "touch {{ marker }}", creates: "{{ marker }}"}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return tmp_path


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_a_failed_first_batch_leaves_the_others_untouched(project: Path) -> None:
    result = cli("apply", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 1, result.output
    text = result.output
    assert "BATCH 1/3 of rollout: h1" in text
    assert "BATCH 2/3" not in text  # never started
    assert "\nBATCHES\n" in text
    assert "rollout batch 1/3 (h1): stopped, failed: h1: 1 of 1 host failed: every host of " in text
    assert "rollout batch 2/3 (h2): not started" in text
    assert "rollout batch 3/3 (h3): not started" in text
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("apply: 1 host failed (h1), 2 not started (h2, h3); exit 1: ")
    assert "later batches were not started" in last
    assert not (project / "out" / "h2").exists() and not (project / "out" / "h3").exists()
    assert json.loads((project / ".provision" / "last-run.json").read_text()) == {
        "failed": ["h1", "h2", "h3"]
    }


def test_json_says_which_batches_ran(project: Path) -> None:
    result = cli("apply", "inventory.yml", "-p", "site.yml", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(b["batch"], b["of"], b["hosts"], b["state"]) for b in doc["batches"]] == [
        (1, 3, ["h1"], "stopped"),
        (2, 3, ["h2"], "not started"),
        (3, 3, ["h3"], "not started"),
    ]
    assert doc["batches"][0]["failed"] == ["h1"]
    assert doc["hosts"]["h2"]["status"] == "not started"
    assert doc["hosts"]["h2"]["not_started"] == ["rollout"]
    assert doc["hosts"]["h2"]["connections"] == 0
    assert doc["summary"]["not_started"] == ["h2", "h3"]


def test_last_failed_resumes_the_rollout(project: Path) -> None:
    assert cli("apply", "inventory.yml", "-p", "site.yml").exit_code == 1
    (project / "inventory.yml").write_text(
        INVENTORY.replace(", out: /nonexistent-provision-test", "")
    )
    result = cli("apply", "inventory.yml", "-p", "site.yml", "--limit", "@last-failed")
    assert result.exit_code == 0, result.output
    for index, host in enumerate(("h1", "h2", "h3"), 1):
        assert f"BATCH {index}/3 of rollout: {host}" in result.output
        assert (project / "out" / host).exists()
    assert json.loads((project / ".provision" / "last-run.json").read_text()) == {"failed": []}


def test_batch_pause_is_shown_between_batches(project: Path) -> None:
    (project / "inventory.yml").write_text(
        INVENTORY.replace(", out: /nonexistent-provision-test", "")
    )
    result = cli("apply", "inventory.yml", "-p", "site.yml", "--batch-pause", "0.1")
    assert result.exit_code == 0, result.output
    assert result.output.count("pausing 0.1s before batch") == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--batch-pause", "-1"], "--batch-pause"),
        (["--batch-pause", "soon"], "--batch-pause"),
        (["--batch-pause", "nan"], "--batch-pause"),
        (["--batch-pause", "100000"], "--batch-pause"),
        (["--max-disruption", "loud"], "--max-disruption"),
        (["--max-disruption", "Restart"], "--max-disruption"),
        (["--max-disruption", ""], "--max-disruption"),
    ],
)
def test_bad_options_exit_2_and_touch_nothing(project: Path, args: list[str], words: str):
    result = cli("apply", "inventory.yml", "-p", "site.yml", *args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (project / "out").exists()


def test_plan_shows_one_disruption_line_per_host(project: Path) -> None:
    result = cli("plan", "inventory.yml", "-p", "site.yml", "--limit", "h2,h3")
    assert result.exit_code == 4, result.output
    lines = result.output.splitlines()
    start = lines.index("DISRUPTION")
    assert lines[start + 1 : start + 3] == ["h2  none", "h3  none"]
    doc = json.loads(
        cli("plan", "inventory.yml", "-p", "site.yml", "--format", "json").stdout or "{}"
    )
    assert doc["hosts"]["h2"]["disruption"] == {"level": "none", "unit": "", "detail": ""}


def test_help_documents_the_options() -> None:
    text = cli("apply", "--help").output
    assert "--batch-pause" in text and "--max-disruption" in text
    assert "[none|reload|restart|reboot]" in text


REBOOTING = """\
- hosts: all
  tasks:
    - name: first a file
      copy: {dest: "{{ playbook_dir }}/out/a", content: "a\\n"}
    - name: firmware
      command:
        cmd: "touch {{ playbook_dir }}/out/{{ inventory_hostname }}"
        creates: "{{ playbook_dir }}/out/{{ inventory_hostname }}"
        disruption: DISRUPTION
    - name: decided at apply
      command:
        cmd: "true"
        unless: "test -e {{ playbook_dir }}/out/a"
        disruption: LATER
"""


@pytest.mark.parametrize(
    ("declared", "later", "limit", "host_level", "refused"),
    [
        ("reboot", "none", "restart", "reboot", True),
        ("reboot", "none", "reboot", "reboot", False),
        ("none", "none", "none", "none", False),
        ("none", "restart", "reload", "restart", True),  # a deferred task counts its declared level
        ("reload", "none", "reload", "reload", False),
    ],
)
def test_a_command_declares_what_it_disrupts(
    project: Path, declared: str, later: str, limit: str, host_level: str, refused: bool
) -> None:
    (project / "out").mkdir()
    text = REBOOTING.replace("DISRUPTION", declared).replace("LATER", later)
    (project / "site.yml").write_text(text)
    doc = json.loads(
        cli("plan", "inventory.yml", "-p", "site.yml", "-l", "h2", "--format", "json").stdout
    )
    assert doc["hosts"]["h2"]["disruption"]["level"] == host_level
    result = cli("apply", "inventory.yml", "-p", "site.yml", "-l", "h2", "--max-disruption", limit)
    assert (result.exit_code == 1) is refused, result.output
    assert ("refused: its plan needs " in result.output) is refused
    assert (project / "out" / "h2").exists() is not refused
    assert (project / "out" / "a").exists() is not refused  # nothing at all was changed


def test_a_bad_declared_disruption_is_an_input_error(project: Path) -> None:
    (project / "site.yml").write_text(REBOOTING.replace("DISRUPTION", "loud"))
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 2
    assert "`disruption` must be one of none, reload, restart, reboot" in result.output
    assert "site.yml:" in result.output
