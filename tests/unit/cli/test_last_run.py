""".provision/last-run.json: written after every run (atomically, never through a symlink),
read for `--limit @last-failed` with a shape check; and a host's internal error through the
real CLI: recap printed, last-run.json written, secrets masked."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import provision.execution.runner as runner
from provision.cli import main
from provision.execution.reports import FAILED, OK, UNREACHABLE, HostReport
from provision.state import MAX_BYTES, StateError, last_failed, record_run

SECRET = "s3cr3t-conn-T0ken"

INVENTORY = """\
all:
  hosts:
    a: {ansible_connection: local}
    b: {ansible_connection: local}
"""

PLAYBOOK = """\
- hosts: all
  secrets: [token]
  vars:
    token: "SECRET"
    out: "{{ playbook_dir }}/out/{{ inventory_hostname }}"
  tasks:
    - name: output directory
      directory: {path: "{{ out }}"}
""".replace("SECRET", SECRET)

BAD_FILES = [
    (b"", "is not JSON"),
    (b"not json", "is not JSON"),
    (b"\xff\xfe\x00", "is not JSON"),
    (b"null", "is not a run record"),
    (b"[]", "is not a run record"),
    (b'["a"]', "is not a run record"),
    (b'"a"', "is not a run record"),
    (b"42", "is not a run record"),
    (b"{}", "is not a run record"),
    (b'{"failed": "a"}', "is not a run record"),
    (b'{"failed": {"a": 1}}', "is not a run record"),
    (b'{"failed": null}', "is not a run record"),
    (b'{"failed": [1]}', "1, which is not a host name"),
    (b'{"failed": [null]}', "not a host name"),
    (b'{"failed": [["a"]]}', "not a host name"),
    (b'{"failed": ["~.*"]}', "not a host name"),
    (b'{"failed": ["a,b"]}', "not a host name"),
    (b'{"failed": ["a:b"]}', "not a host name"),
    (b'{"failed": ["*"]}', "not a host name"),
    (b'{"failed": ["!a"]}', "not a host name"),
    (b'{"failed": ["all"]}', "not a host name"),
    (b'{"failed": [""]}', "not a host name"),
    (b'{"failed": ["a b"]}', "not a host name"),
    (b'{"failed": ["a\\nb"]}', "not a host name"),
    (b'{"failed": ["-a"]}', "not a host name"),
    (b'{"failed": ["' + b"a" * 300 + b'"]}', "not a host name"),
    (b"[" * 100_000, "is not JSON"),
    (b'{"failed": []}' + b" " * MAX_BYTES, "larger than"),
]


@pytest.mark.parametrize(("data", "words"), BAD_FILES, ids=lambda v: repr(v)[:30])
def test_bad_state_files_are_refused(tmp_path: Path, data: bytes, words: str) -> None:
    (tmp_path / "last-run.json").write_bytes(data)
    with pytest.raises(StateError) as caught:
        last_failed(tmp_path)
    assert words in str(caught.value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("data", "hosts"),
    [
        (b'{"failed": []}', []),
        (b'{"failed": ["a"]}\n', ["a"]),
        (b'{"failed": ["b", "a", "b"], "other": 1}', ["b", "a"]),
        (b'{"failed": ["web-01.example.com", "h_2", "x@y"]}', ["web-01.example.com", "h_2", "x@y"]),
    ],
)
def test_good_state_files(tmp_path: Path, data: bytes, hosts: list[str]) -> None:
    (tmp_path / "last-run.json").write_bytes(data)
    assert last_failed(tmp_path) == hosts


def test_missing_state_file_is_no_record(tmp_path: Path) -> None:
    assert last_failed(tmp_path) is None


def test_state_file_that_is_a_directory_or_fifo(tmp_path: Path) -> None:
    (tmp_path / "last-run.json").mkdir()
    with pytest.raises(StateError, match="not a regular file"):
        last_failed(tmp_path)
    os.rmdir(tmp_path / "last-run.json")
    os.mkfifo(tmp_path / "last-run.json")
    result: list = []
    reader = threading.Thread(target=lambda: result.append(_state_error(tmp_path)), daemon=True)
    reader.start()
    reader.join(5)
    assert result == ["not a regular file"], "a FIFO must be refused, not waited on"


def _state_error(directory: Path) -> str:
    try:
        last_failed(directory)
    except StateError as exc:
        return "not a regular file" if "not a regular file" in str(exc) else str(exc)
    return "accepted"


def test_record_run_replaces_a_symlink_without_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    state = tmp_path / ".provision"
    state.mkdir()
    (state / "last-run.json").symlink_to(victim)
    reports = [HostReport("a", status=FAILED), HostReport("b", status=OK)]
    reports.append(HostReport("c", status=UNREACHABLE))
    assert record_run(state, reports) is None
    assert victim.read_text() == "keep me\n"
    assert not (state / "last-run.json").is_symlink()
    assert json.loads((state / "last-run.json").read_text()) == {"failed": ["a", "c"]}
    assert sorted(p.name for p in state.iterdir()) == ["last-run.json"]


def test_record_run_warns_when_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / ".provision").write_text("a file, not a directory")
    warning = record_run(tmp_path / ".provision", [HostReport("a")])
    assert warning is not None and "could not record this run" in warning


# ---- through the CLI ----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text(PLAYBOOK)
    return tmp_path


@pytest.mark.parametrize("data", [b"[1, 2]", b"{", b'{"failed": ["~.*"]}'])
def test_limit_last_failed_with_a_bad_state_file_is_an_input_error(
    project: Path, data: bytes
) -> None:
    (project / ".provision").mkdir()
    (project / ".provision" / "last-run.json").write_bytes(data)
    result = CliRunner().invoke(main, ["apply", "inventory.yml", "--limit", "@last-failed"])
    assert result.exit_code == 2, result.output
    assert ".provision/last-run.json" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (project / "playbooks" / "out").exists()


def test_a_bad_state_file_does_not_stop_a_normal_run(project: Path) -> None:
    (project / ".provision").mkdir()
    (project / ".provision" / "last-run.json").write_bytes(b"[1, 2]")
    result = CliRunner().invoke(main, ["apply", "inventory.yml"])
    assert result.exit_code == 0, result.output
    assert json.loads((project / ".provision" / "last-run.json").read_text()) == {"failed": []}


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_internal_error_on_one_host_recap_and_state_written(
    project: Path, monkeypatch, output_format: str
) -> None:
    real_connect = runner.connect

    def connect(config, options):
        if config.name == "a":
            raise ValueError(f"cannot use {SECRET}")
        return real_connect(config, options)

    monkeypatch.setattr(runner, "connect", connect)
    result = CliRunner().invoke(main, ["apply", "inventory.yml", "--format", output_format])
    output = result.output
    assert result.exit_code == 1, output
    assert "Traceback" not in output
    assert SECRET not in output
    assert (project / "playbooks" / "out" / "b").is_dir(), "the other host was not converged"
    assert not (project / "playbooks" / "out" / "a").exists()
    state = json.loads((project / ".provision" / "last-run.json").read_text())
    assert state == {"failed": ["a"]}
    if output_format == "text":
        assert "RECAP" in output
        assert "internal error: ValueError: cannot use" in output
    else:
        doc = json.loads(output[output.index("{") :])
        assert doc["hosts"]["a"]["status"] == "failed"
        assert doc["hosts"]["b"]["status"] == "changed"
    again = CliRunner().invoke(main, ["apply", "inventory.yml", "--limit", "@last-failed"])
    assert "PLAY" in again.output and "(1 host: a)" in again.output, again.output
