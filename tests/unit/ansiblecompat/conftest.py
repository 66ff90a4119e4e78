"""Compile one Ansible-syntax task through the real compile path (no host touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.project.compile import CompiledTask, compile_run


def compile_tasks(tmp_path: Path, tasks: list[Any], play_vars: dict | None = None) -> list:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"hosts": {"h1": {"ansible_connection": "local"}}}})
    )
    play = {"hosts": "all", "become": True, "vars": play_vars or {}, "tasks": tasks}
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "motd.j2").write_text("hello {{ who }}\n")
    playbook = tmp_path / "site.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False, allow_unicode=False))
    compiled = compile_run(inventory, playbook)
    return compiled.plays[0][1][0].tasks


@pytest.fixture
def compile_one(tmp_path: Path):
    def run(task: dict, play_vars: dict | None = None) -> CompiledTask:
        (result,) = compile_tasks(tmp_path, [task], play_vars)
        return result

    return run
