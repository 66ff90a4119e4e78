"""What the template code cache (project/codecache.py) saves in a warm run's compile phase.

    .venv/bin/python bench/tplcache.py                 # 1 and 10 hosts, 15 runs each
    .venv/bin/python bench/tplcache.py --runs 21 1 3 10

Each run is a new process that compiles playbooks/docker-host.yml (`compile_run`) for a
generated inventory of N lab-like hosts, as `provision apply` does first. Three modes, run
in turn (off, warm, cold, off, warm, cold...) so a machine that drifts moves all three:

- off:  PROVISION_CACHE_DIR= (no cache, as before the cache);
- warm: the cache directory holds the file of an earlier run;
- cold: an empty cache directory (this run compiles everything and writes the file).

Prints the medians (and min-max) of the compile phase's wall and CPU seconds, of the
cache write at exit, and of the whole process (start, imports, compile, write, exit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "docker-host.yml"

CHILD = r"""
import json, sys, time
from pathlib import Path
from provision.project import codecache
from provision.project.compile import compile_run
wall, cpu = time.perf_counter(), time.process_time()
compiled = compile_run(Path(sys.argv[1]), Path(sys.argv[2]))
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
cache = codecache.active()
save_wall, save_cpu = time.perf_counter(), time.process_time()
written = cache.save() if cache is not None else False
save_wall, save_cpu = time.perf_counter() - save_wall, time.process_time() - save_cpu
print(json.dumps({
    "wall": wall, "cpu": cpu, "save_wall": save_wall, "save_cpu": save_cpu,
    "written": written, "hits": cache.hits if cache else 0,
    "misses": cache.misses if cache else 0,
    "hosts": sum(len(h) for _, h in compiled.plays),
}))
"""

VARS = """\
all:
  vars:
    ansible_user: rocky
    ansible_become: true
    lab_repo_base: http://10.200.0.1:8080
    docker_repo_url: "{{ lab_repo_base }}/docker-ce/linux/rhel/docker-ce.repo"
    docker_gpg_key_url: "{{ lab_repo_base }}/docker-ce/linux/rhel/gpg"
    dnf_proxy: http://10.200.0.1:3128
    docker_http_proxy: http://10.200.0.1:3128
    docker_https_proxy: http://10.200.0.1:3128
    docker_no_proxy: localhost,127.0.0.1
    selinux_allowed_modes: [Enforcing, Permissive, Disabled]
    docker_check_image_tarball: /opt/lab/busybox-rootfs.tar
  children:
    docker_hosts:
      hosts:
"""


def write_inventory(folder: Path, hosts: int) -> Path:
    lines = [f"        rocky{n}: {{ansible_host: 10.200.0.{10 + n}}}" for n in range(1, hosts + 1)]
    path = folder / f"inventory-{hosts}.yml"
    path.write_text(VARS + "\n".join(lines) + "\n")
    return path


def one_run(inventory: Path, cache: str) -> dict:
    env = {**os.environ, "PROVISION_CACHE_DIR": cache}
    started = time.perf_counter()
    before = os.times()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(inventory), str(PLAYBOOK)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    after = os.times()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - started
    result["process_cpu"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return result


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("hosts", nargs="*", type=int, default=[1, 10])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for hosts in args.hosts:
            inventory = write_inventory(folder, hosts)
            warm = folder / f"warm-{hosts}"
            one_run(inventory, str(warm))  # fills the warm cache
            results: dict[str, list[dict]] = {"off": [], "warm": [], "cold": []}
            for _ in range(args.runs):
                for mode in results:
                    cold = folder / f"cold-{hosts}"
                    shutil.rmtree(cold, ignore_errors=True)
                    where = {"off": "", "warm": str(warm), "cold": str(cold)}[mode]
                    results[mode].append(one_run(inventory, where))
            print(f"N = {hosts} host(s), {args.runs} runs per mode, medians (min-max), seconds")
            print(
                f"{'mode':5} {'compile wall':>20} {'compile CPU':>20} {'write at exit':>20}"
                f" {'process wall':>20} {'process CPU':>20}  hits/misses"
            )
            for mode, runs in results.items():
                print(
                    f"{mode:5} {summary([r['wall'] for r in runs]):>20}"
                    f" {summary([r['cpu'] for r in runs]):>20}"
                    f" {summary([r['save_wall'] for r in runs]):>20}"
                    f" {summary([r['process_wall'] for r in runs]):>20}"
                    f" {summary([r['process_cpu'] for r in runs]):>20}"
                    f"  {runs[-1]['hits']}/{runs[-1]['misses']}"
                )
            print()


if __name__ == "__main__":
    main(sys.argv[1:])
