"""Red team 2: `provision lint --ansible` still reports the task keywords and keyword
modules merged today (register, changed_when, vars, block, debug, set_fact, stat...) as
"not in this build yet", and exits 1, while `provision plan` runs the same role. lint
reads `compile.TASK_KEYWORDS`, a name compile does not define (it has TASK_KEYS), and
checks `debug`/`set_fact`/`stat` against the task-type registry only (compile handles
them as KEYWORD_MODULES). Fixing it changes what tests/unit/ansible/test_lint.py expects
(`with_items`, `no_log` as "need a change"). Fixed by the ansible-e2e branch (lint reads
compile's keyword list): these now pass and guard it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

SUPPORTED = {
    "register-changed_when": "- ansible.builtin.command: cat /etc/hostname\n  register: r\n"
    "  changed_when: false\n",
    "debug": "- ansible.builtin.debug: {msg: hi}\n",
    "set_fact": "- ansible.builtin.set_fact: {a: 1}\n",
    "stat": "- ansible.builtin.stat: {path: /etc}\n  register: st\n",
    "vars": "- ansible.builtin.file: {path: /srv/a, state: directory}\n  vars: {x: 1}\n",
}


@pytest.mark.parametrize("tasks", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_lint_accepts_what_plan_runs(tmp_path: Path, tasks: str) -> None:
    (tmp_path / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "r" / "tasks" / "main.yml").write_text(tasks)
    result = CliRunner().invoke(main, ["lint", "--ansible", str(tmp_path / "r")])
    assert "not in this build yet" not in result.output
    assert "is not supported by this build" not in result.output
    assert result.exit_code == 0, result.output
