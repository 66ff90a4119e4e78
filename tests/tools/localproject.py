"""The integration fixtures' demo project copied into a test's folder with a local-connection
inventory, and the CLI run in-process through click's runner (for tests/unit/cli)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "integration" / "fixtures"


def local_project(folder: Path, monkeypatch: pytest.MonkeyPatch, hosts_ini: str) -> Path:
    """roles/ and playbooks/site.yml from the fixtures, `hosts.ini` with `hosts_ini`; the
    test then runs in `folder` with HOME under it and no ANSIBLE_CONFIG."""
    shutil.copytree(FIXTURES / "roles", folder / "roles")
    (folder / "playbooks").mkdir()
    shutil.copy(FIXTURES / "playbooks_site.yml", folder / "playbooks" / "site.yml")
    (folder / "hosts.ini").write_text(hosts_ini)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(folder / "home"))
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    return folder


def run_cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `provision ARGS` run in-process."""
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
