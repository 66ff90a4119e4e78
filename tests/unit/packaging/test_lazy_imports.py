"""`import provision.cli` stays light: the lab, SSH and testinfra load only when used."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from provision.cli import LAZY_COMMANDS, main

HEAVY = ("provision.lab", "paramiko", "fabric", "invoke", "testinfra", "pytest", "jinja2", "yaml")


def loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level and provision.* modules in sys.modules after `code`, in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def running(*args: str) -> str:
    """Code that runs `provision ARGS` in-process, as the entry point does."""
    call = f"main({list(args)!r})"
    return f"from provision.cli import main\ntry:\n    {call}\nexcept SystemExit:\n    pass"


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "code",
    [
        "import provision.cli",
        "from provision.cli import main",
        running("--help"),
        running("plan", "--help"),
        running("init", "--help"),
        running("inventory", "--help"),
        running("--version"),
    ],
    ids=["import", "from-import", "help", "plan-help", "init-help", "inventory-help", "version"],
)
def test_cli_import_loads_no_heavy_module(code: str) -> None:
    assert heavy_in(loaded_after(code)) == []


def test_lab_help_loads_the_lab() -> None:
    """The check above can fail: running `provision lab` does load the lab."""
    assert "provision.lab" in loaded_after(running("lab", "--help"))


def test_lazy_help_text_is_the_commands_own() -> None:
    from provision.ansible.lint import lint
    from provision.changecontrol.commands import show
    from provision.lab.cli import lab

    assert set(LAZY_COMMANDS) == {"lab", "lint", "show", "pull", "audit", "bundle"}
    assert LAZY_COMMANDS["lab"] == ("provision.lab.cli:lab", inspect.cleandoc(lab.help or ""))
    assert LAZY_COMMANDS["lint"] == (
        "provision.ansible.lint:lint",
        inspect.cleandoc(lint.help or ""),
    )
    assert LAZY_COMMANDS["show"] == (
        "provision.changecontrol.commands:show",
        inspect.cleandoc(show.help or ""),
    )
    from provision.pull import pull

    assert LAZY_COMMANDS["pull"] == ("provision.pull:pull", inspect.cleandoc(pull.help or ""))
    from provision.audit.cli import audit

    assert LAZY_COMMANDS["audit"] == (
        "provision.audit.cli:audit",
        inspect.cleandoc(audit.help or ""),
    )
    from provision.bundle.cli import bundle

    assert LAZY_COMMANDS["bundle"] == ("provision.bundle.cli:bundle", inspect.cleandoc(bundle.help))


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in ("apply", "check", "facts", "init", "inventory", "lab", "plan", "show", "verify"):
        assert f"\n  {name} " in listed, name
    assert "The container lab: Rocky 9-like hosts" in listed


def test_no_lab_environment_leaves_the_lab_out() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", running("--help")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PROVISION_NO_LAB": "1"},
    )
    assert "\n  lab " not in proc.stdout
    assert "\n  plan " in proc.stdout


def test_lab_subcommand_runs_through_the_lazy_group() -> None:
    result = CliRunner().invoke(main, ["lab", "--help"])
    assert result.exit_code == 0, result.output
    for sub in ("up", "down", "status", "ssh", "clean"):
        assert f"\n  {sub} " in result.output, sub
