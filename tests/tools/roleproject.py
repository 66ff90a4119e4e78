"""A one-role project written under a test's folder and compiled: role `r` with the given
tasks, hosts h1.. in `inventory.yml`, `site.yml` running the role on all of them."""

from __future__ import annotations

from pathlib import Path

from provision.facts.readonly import ReadCommandFact
from provision.project.compile import Compiled, compile_run


def compile_role(folder: Path, tasks: str, hosts: tuple[str, ...] = ("h1",)) -> Compiled:
    (folder / "roles/r/tasks").mkdir(parents=True, exist_ok=True)
    (folder / "roles/r/tasks/main.yml").write_text(tasks)
    (folder / "inventory.yml").write_text(
        "all:\n  hosts:\n" + "".join(f"    {host}:\n" for host in hosts)
    )
    (folder / "site.yml").write_text("- hosts: all\n  roles: [r]\n")
    return compile_run(folder / "inventory.yml", folder / "site.yml")


def probe_scripts(folder: Path, tasks: str) -> list[str]:
    """The registered commands `plan` would run in the probe (proven read-only), in order."""
    compiled = compile_role(folder, tasks)
    found = []
    for compiled_task in compiled.plays[0][1][0].tasks:
        task = compiled_task.task
        facts = task.facts() if hasattr(task, "facts") else []
        found += [f.script for f in facts if isinstance(f, ReadCommandFact)]
    return found
