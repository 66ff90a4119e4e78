"""`provision verify` checks the tasks whose `when:` or arguments read host facts too,
decided on the host's facts (read on the connection the checks use). Local connection:
the controller is the host."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

PLAYBOOK = """\
- hosts: all
  vars:
    out: "{{ playbook_dir }}/out"
  tasks:
    - name: out dir
      directory: {path: "{{ out }}"}
    - name: argument reads a fact
      copy: {dest: "{{ out }}/os", content: "{{ ansible_distribution }}\\n"}
    - name: when false on this host
      copy: {dest: "{{ out }}/never", content: "x\\n"}
      when: ansible_distribution == "NoSuchOS"
    - name: when true on this host
      copy: {dest: "{{ out }}/when", content: "y\\n"}
      when: ansible_os_family != "NoSuchFamily"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVISION_HOST_RECORD", str(tmp_path / "record.json"))
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return tmp_path


def verify() -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", "inventory.yml", "-p", "site.yml"])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_fact_dependent_tasks_are_verified(project: Path) -> None:
    code, output = verify()
    assert code == 1, output
    failures = [line for line in output.splitlines() if line.startswith("  a: ")]
    assert any("/out/os" in line for line in failures), output
    assert any("/out/when" in line for line in failures), output
    assert not any("/out/never" in line for line in failures), output

    applied = CliRunner().invoke(main, ["apply", "inventory.yml", "-p", "site.yml", "-y"])
    assert applied.exit_code == 0, applied.output
    assert (project / "out/os").read_text().strip() not in ("", "{{ ansible_distribution }}")
    code, output = verify()
    assert code == 0, output
    (project / "out/os").write_text("Other\n")
    code, output = verify()
    assert code == 1 and "/out/os" in output, output
