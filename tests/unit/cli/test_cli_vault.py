"""Vault-encrypted group_vars, host_vars and extra vars files made by `ansible-vault`,
through the real CLI on a local host: the value reaches the file, and never the output
(plan, diff, -vvv, JSON, errors); a wrong or missing password is exit 2 naming file:line,
before any host is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.tools.ansible_cli import ANSIBLE_VAULT, run_ansible_vault

from provision.cli import main
from provision.project import vault
from provision.reporting.mask import forget_vault_values

pytestmark = pytest.mark.skipif(ANSIBLE_VAULT is None, reason="ansible-core not installed")

INLINE = "inline-Vault-Secret-1"
WHOLE = "whole-File-Secret-2"
EXTRA = "extra-Vars-Secret-3"


def ansible_vault(*args: str, cwd: Path) -> str:
    return run_ansible_vault(*args, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    vault.KEYRING.clear()
    forget_vault_values()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pw").write_text("the-vault-pw\n")
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    (tmp_path / "group_vars").mkdir()
    inline = ansible_vault(
        "encrypt_string", "--vault-id", "dev@pw", INLINE, "--name", "api_token", cwd=tmp_path
    )
    (tmp_path / "group_vars/all.yml").write_text("plain_value: hello\n" + inline)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars/a.yml").write_text(f"db:\n  password: {WHOLE}\n  port: 5432\n")
    ansible_vault("encrypt", "--vault-password-file", "pw", "host_vars/a.yml", cwd=tmp_path)
    (tmp_path / "extra.yml").write_text(f"extra_secret: {EXTRA}\n")
    ansible_vault("encrypt", "--vault-password-file", "pw", "extra.yml", cwd=tmp_path)
    tasks = [
        {
            "name": "write {{ api_token }}",
            "copy": {
                "dest": str(tmp_path / "out.txt"),
                "content": "{{ api_token }}\n{{ db.password }}\n{{ extra_secret }}\n",
            },
        }
    ]
    (tmp_path / "site.yml").write_text(json.dumps([{"hosts": "all", "tasks": tasks}]))
    yield tmp_path
    vault.KEYRING.clear()
    forget_vault_values()


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def hidden(text: str) -> None:
    for secret in (INLINE, WHOLE, EXTRA, "the-vault-pw"):
        assert secret not in text, f"{secret} shown:\n{text}"


RUN = ("inventory.yml", "-p", "site.yml", "-e", "@extra.yml")


@pytest.mark.parametrize(
    "flags",
    [
        ("--vault-password-file", "pw"),
        ("--vault-id", "dev@pw"),
        ("--vault-id", "other@pw"),
        ("--vault-id", "pw"),
    ],
)
def test_vault_values_reach_the_file_and_never_the_output(project: Path, flags: tuple) -> None:
    planned = cli("plan", *RUN, *flags, "-vvv")
    assert planned.exit_code == 4, planned.output
    as_json = cli("plan", *RUN, *flags, "--format", "json", "-vvv")
    assert as_json.exit_code == 4, as_json.output
    json.loads(as_json.stdout)
    applied = cli("apply", *RUN, *flags, "--diff", "-vvv")
    assert applied.exit_code == 0, applied.output
    assert (project / "out.txt").read_text() == f"{INLINE}\n{WHOLE}\n{EXTRA}\n"
    again = cli("plan", *RUN, *flags, "-vvv")
    assert again.exit_code == 0, again.output
    for result in (planned, as_json, applied, again):
        hidden(result.output)
    assert "write ********" in planned.output


def test_wrong_password_is_exit_2_with_file_and_line(project: Path) -> None:
    (project / "bad").write_text("not-the-pw\n")
    result = cli("apply", *RUN, "--vault-password-file", "bad")
    assert result.exit_code == 2, result.output
    assert "extra.yml:1: cannot decrypt" in result.output  # -e files are read first
    result = cli("apply", *RUN[:3], "--vault-password-file", "bad")
    assert result.exit_code == 2, result.output
    assert "group_vars/all.yml:2" in result.output
    assert "cannot decrypt" in result.output
    assert not (project / "out.txt").exists()
    hidden(result.output)


def test_no_password_is_exit_2(project: Path) -> None:
    result = cli("apply", *RUN)
    assert result.exit_code == 2, result.output
    assert "no vault password was given" in result.output
    assert "--vault-password-file" in result.output
    assert not (project / "out.txt").exists()


@pytest.mark.parametrize(
    "flags, words",
    [
        (("--vault-password-file", "missing"), "not found"),
        (("--vault-id", "@pw"), "expected LABEL@FILE"),
        (("--vault-id", "bad label@pw"), "letters, digits"),
    ],
)
def test_bad_vault_options_are_exit_2(project: Path, flags: tuple, words: str) -> None:
    result = cli("plan", *RUN, *flags)
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_error_quoting_a_vault_value_is_masked(project: Path) -> None:
    tasks = [{"copy": {"dest": "/tmp/x", "content": "x", "mode": "{{ api_token }}"}}]
    (project / "site.yml").write_text(json.dumps([{"hosts": "all", "tasks": tasks}]))
    result = cli("plan", *RUN, "--vault-password-file", "pw")
    assert result.exit_code == 2, result.output
    hidden(result.output)


def test_facts_command_takes_vault_options(project: Path) -> None:
    result = cli("facts", "inventory.yml", "--vault-password-file", "pw", "-e", "@extra.yml")
    hidden(result.output)
    assert result.exit_code in (0, 1, 3), result.output


def test_ask_vault_pass_prompts_on_the_terminal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "_stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(main, ["plan", *RUN, "--ask-vault-pass"], input="the-vault-pw\n")
    assert result.exit_code == 4, result.output
    assert "Vault password" in result.output
    hidden(result.output)


def test_ask_vault_pass_without_a_terminal(project: Path) -> None:
    result = cli("plan", *RUN, "--ask-vault-pass")
    assert result.exit_code == 2, result.output
    assert "needs a terminal" in result.output


def test_verify_takes_vault_options(project: Path) -> None:
    (project / "bad").write_text("not-the-pw\n")
    result = cli("verify", *RUN[:3], "--vault-password-file", "bad")
    assert result.exit_code == 2, result.output
    assert "group_vars/all.yml:2" in result.output
