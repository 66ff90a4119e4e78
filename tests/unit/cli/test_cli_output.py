"""What `plan` and `apply` print, through the real CLI on local hosts: each verbosity level,
colour (NO_COLOR, FORCE_COLOR, --color/--no-color), and a run where one host is unreachable
while another has changes pending (text and JSON say both; exit 3 wins)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

SECRET = "pa55-Word-in-output"

INVENTORY = "all:\n  hosts:\n    alpha: {ansible_connection: local}\n"
PLAYBOOK = """\
- hosts: all
  secrets: [token]
  vars: {out: "OUT", token: "SECRET"}
  tasks:
    - name: output directory
      directory: {path: "{{ out }}", mode: "0750"}
    - name: the config
      copy: {dest: "{{ out }}/app.conf", content: "token={{ token }}\\n", mode: "0600"}
    - name: already there
      directory: {path: "{{ playbook_dir }}", mode: "MODE"}
    - name: never on this host
      directory: {path: "{{ out }}/never"}
      when: false
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    mode = f"{tmp_path.stat().st_mode & 0o7777:04o}"
    text = PLAYBOOK.replace("OUT", str(tmp_path / "out")).replace("SECRET", SECRET)
    text = text.replace("MODE", mode)  # the directory as it is: nothing to change
    (tmp_path / "site.yml").write_text(text)
    return tmp_path


def cli(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    assert SECRET not in result.output
    return result


def plan(*args: str, env: dict[str, str] | None = None):
    return cli("plan", "inventory.yml", "-p", "site.yml", *args, env=env)


@pytest.mark.parametrize("level", ["", "-v", "-vv", "-vvv"])
def test_plan_at_each_verbosity(project: Path, level: str) -> None:
    verbosity = len(level) - 1 if level else 0
    result = plan(*([level] if level else []))
    assert result.exit_code == 4, result.output
    text = result.output
    # what changes: at every level, with its changes and diff
    assert "alpha  will change output directory" in text
    assert "alpha  will change the config" in text and "+token=********" in text
    # what does not change: only from -v, with its reason
    assert ("already there" in text) == (verbosity >= 1)
    assert ("never on this host  (condition false" in text) == (verbosity >= 1)
    # commands from -vv; the probe from -vvv (counts only)
    assert ("$ mkdir -p -m 0750" in text) == (verbosity >= 2)
    assert bool(re.search(r"probe +3 facts in one script of \d+ bytes", text)) == (verbosity >= 3)
    # then the recap, one line per host, and the verdict
    assert re.search(r"\nRECAP\nalpha  ok=\d+ +pending=2 ", text)
    assert text.rstrip().endswith("plan: 1 host to change (alpha); exit 4: changes pending")


def test_converged_apply_prints_only_the_recap(project: Path) -> None:
    first = cli("apply", "inventory.yml", "-p", "site.yml")
    assert first.exit_code == 0, first.output
    assert "alpha  changed     the config" in first.output
    assert "already there" not in first.output
    again = cli("apply", "inventory.yml", "-p", "site.yml")
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[:3] == ["PLAY all (1 host: alpha)", "", "RECAP"]
    assert again.output.rstrip().endswith("apply: 1 host in sync (alpha); exit 0: success")
    verbose = cli("apply", "inventory.yml", "-p", "site.yml", "-v")
    assert "alpha  ok          the config" in verbose.output


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, False),  # not a terminal
        (["--color"], {}, True),
        (["--color"], {"NO_COLOR": "1"}, True),  # the command line wins
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"CLICOLOR_FORCE": "1"}, True),
        ([], {"FORCE_COLOR": "0"}, False),
        ([], {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ([], {"NO_COLOR": "x", "CLICOLOR_FORCE": "1"}, False),
        ([], {"NO_COLOR": "", "FORCE_COLOR": "1"}, True),  # empty NO_COLOR: not set
    ],
)
def test_colour_flags_and_environment(
    project: Path, args: list[str], env: dict[str, str], coloured: bool
) -> None:
    result = plan(*args, env=env)
    assert result.exit_code == 4, result.output
    assert ("\x1b[33mwill change\x1b[0m" in result.output) == coloured
    if not coloured:
        assert "\x1b" not in result.output


def test_json_is_never_coloured(project: Path) -> None:
    result = plan("--format", "json", "--color")
    assert "\x1b" not in result.stdout
    assert json.loads(result.stdout)["summary"]["pending"] == ["alpha"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def half_reachable(project: Path) -> Path:
    port = closed_port()
    (project / "inventory.yml").write_text(
        INVENTORY + f"    gone: {{ansible_host: 127.0.0.1, ansible_port: {port}, "
        f"ansible_user: nobody, provision_known_hosts: {project}/known_hosts}}\n"
    )
    return project


def test_unreachable_and_pending_are_both_reported_and_exit_3_wins(half_reachable: Path) -> None:
    result = plan("--timeout", "2")
    assert result.exit_code == 3, result.output
    text = result.output
    assert "alpha  will change the config" in text
    assert re.search(r"\ngone   unreachable gone: cannot connect to ", text), text
    assert re.search(r"\nalpha  ok=\d+ +pending=2 ", text)
    assert re.search(r"\ngone   ok=0 +pending=0 +failed=0 +skipped=0 +unreachable=1 ", text)
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("plan: 1 host unreachable (gone), 1 to change (alpha); exit 3: ")
    assert "wins over 4" in last

    doc = json.loads(plan("--timeout", "2", "--format", "json").stdout)
    assert doc["exit_code"] == 3 and "wins over 4" in doc["exit_reason"]
    assert doc["summary"] == {
        "failed": [],
        "unreachable": ["gone"],
        "not_started": [],
        "pending": ["alpha"],
        "changed": [],
        "ok": [],
    }
    assert doc["hosts"]["alpha"]["counts"]["pending"] == 2
    assert doc["hosts"]["gone"]["status"] == "unreachable"


def test_help_lists_the_output_options() -> None:
    text = CliRunner().invoke(main, ["plan", "--help"]).output
    assert "--color / --no-color" in text and "-vv" in text
    assert "the first of 130, 1, 3, 4 wins" in text
