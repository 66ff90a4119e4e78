"""How long `plan --limit ONE_HOST` takes to compile against a large inventory.

    .venv/bin/python bench/inventory_scale.py            # 5,000 and 50,000 hosts
    .venv/bin/python bench/inventory_scale.py 200000     # any host counts

Writes a generated project (inventory of N hosts in N/1000 groups, a playbook with one
task, group_vars/ for every group) to a temporary folder and times `compile_run` with a
`--limit` of one host: loading the inventory, its group_vars, matching and compiling.
Prints one line per size; the target of issue 10 is under 2 s for 50,000 hosts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from provision.project.compile import Selection, compile_run

GROUP_SIZE = 1000


def write_project(root: Path, hosts: int) -> tuple[Path, Path, str]:
    """An inventory of `hosts` hosts and a one-task playbook; (inventory, playbook, a host)."""
    lines = ["all:", "  vars:", "    ansible_connection: local", "  children:"]
    for group in range(max(1, hosts // GROUP_SIZE)):
        lines += [f"    g{group}:", "      hosts:"]
        first = group * GROUP_SIZE
        for host in range(first, min(hosts, first + GROUP_SIZE)):
            address = f"10.0.{host // 250 % 250}.{host % 250 + 1}"
            lines.append(f"        h{host}: {{ansible_host: {address}}}")
    (root / "inventory.yml").write_text("\n".join(lines) + "\n")
    group_vars = root / "group_vars"
    group_vars.mkdir()
    (group_vars / "all.yml").write_text("greeting: hello\n")
    (group_vars / "g0.yml").write_text("colour: blue\n")
    playbook = root / "site.yml"
    playbook.write_text(
        "- name: scale\n  hosts: all\n  tasks:\n"
        "    - name: a directory\n      directory:\n        path: /tmp/{{ greeting }}\n"
    )
    return root / "inventory.yml", playbook, f"h{hosts // 2}"


def measure(hosts: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        inventory, playbook, one = write_project(Path(folder), hosts)
        started, cpu = time.perf_counter(), time.process_time()
        compiled = compile_run(inventory, playbook, selection=Selection(limit=one))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        planned = compiled.host_names()
        assert planned == [one], planned
        return elapsed, cpu


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [5_000, 50_000]
    for hosts in sizes:
        seconds, cpu = measure(hosts)
        print(f"{hosts:>8} hosts, plan --limit one host: compile {seconds:.2f} s (CPU {cpu:.2f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
