"""dnf transactions merged: consecutive `dnf -y install` commands of one role in a batch run
as ONE transaction (a real `sh` running the batch, a fake `dnf` on PATH that logs its
calls); each task keeps its own result, and when the transaction fails each command runs
alone, so the failure is reported on its own task exactly as without merging."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from provision.execution.batchscript import (
    Item,
    batch_script,
    dnf_installs,
    new_marker,
    parse_batch,
)
from provision.execution.runner import _merge_dnf, _task_script
from provision.planning.model import command, dnf

FAKE_DNF = """#!/bin/sh
echo "$*" >>"$DNF_LOG"
for word in "$@"; do
  case $word in bad*) echo "No match for argument: $word" >&2; exit 1 ;; esac
done
echo "Installed: $*"
"""


def task(role: str = "docker_engine", register: str | None = None, **kw: object) -> object:
    values = {"become": True, "become_user": "root", "environment": (), **kw}
    return SimpleNamespace(role=role, register=register, **values)


def run(pairs: list, tmp_path: Path) -> tuple[list[str], list]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "dnf").write_text(FAKE_DNF)
    (bin_dir / "dnf").chmod(0o755)
    log = tmp_path / "dnf.log"
    items = [Item(_task_script(t, c), c.stdin, c.progress) for t, c in pairs]
    _merge_dnf(pairs, items)
    marker = new_marker()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DNF_LOG": str(log)}
    proc = subprocess.run(
        ["sh", "-s"],
        input=batch_script(items, marker).encode(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return calls, parse_batch(marker, proc.stdout)


A, B, C = task(), task(), task()
INSTALL = dnf("-y", "install", "--", "container-selinux", "iptables-nft")
DOCKER = dnf("-y", "install", "--", "docker-ce", "containerd.io")
CASES = [
    # (id, pairs, dnf calls, exit codes per command)
    (
        "two installs, one transaction",
        [(A, INSTALL), (B, DOCKER)],
        ["-y install -- container-selinux iptables-nft docker-ce containerd.io"],
        [0, 0],
    ),
    (
        "three, duplicates once",
        [(A, INSTALL), (B, DOCKER), (C, dnf("-y", "install", "--", "docker-ce", "jq"))],
        ["-y install -- container-selinux iptables-nft docker-ce containerd.io jq"],
        [0, 0, 0],
    ),
    (
        "the second's package is bad: each alone, the second fails",
        [(A, INSTALL), (B, dnf("-y", "install", "--", "docker-ce", "bad-pkg"))],
        [
            "-y install -- container-selinux iptables-nft docker-ce bad-pkg",
            "-y install -- container-selinux iptables-nft",
            "-y install -- docker-ce bad-pkg",
        ],
        [0, 1],
    ),
    (
        "the first's package is bad: it fails alone, the second never runs",
        [(A, dnf("-y", "install", "--", "bad-one")), (B, DOCKER)],
        ["-y install -- bad-one docker-ce containerd.io", "-y install -- bad-one"],
        [1],
    ),
    (
        "other roles: not merged",
        [(A, INSTALL), (task(role="os_update"), DOCKER)],
        ["-y install -- container-selinux iptables-nft", "-y install -- docker-ce containerd.io"],
        [0, 0],
    ),
    (
        "a registered result: not merged",
        [(A, INSTALL), (task(register="out"), DOCKER)],
        ["-y install -- container-selinux iptables-nft", "-y install -- docker-ce containerd.io"],
        [0, 0],
    ),
    (
        "another environment: not merged",
        [(A, INSTALL), (task(environment=(("http_proxy", "x"),)), DOCKER)],
        ["-y install -- container-selinux iptables-nft", "-y install -- docker-ce containerd.io"],
        [0, 0],
    ),
    (
        "a remove between: not merged",
        [(A, INSTALL), (B, dnf("-y", "remove", "--", "podman")), (C, DOCKER)],
        [
            "-y install -- container-selinux iptables-nft",
            "-y remove -- podman",
            "-y install -- docker-ce containerd.io",
        ],
        [0, 0, 0],
    ),
]


@pytest.mark.parametrize(
    ("pairs", "calls", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_consecutive_installs_of_one_role_are_one_transaction(
    tmp_path: Path, pairs: list, calls: list[str], codes: list[int]
) -> None:
    got, results = run(pairs, tmp_path)
    assert got == calls
    assert [r.rc for r in results] == codes
    if codes[-1]:
        failed = results[-1]
        names = dnf_installs(pairs[len(codes) - 1][1])
        assert (
            f"No match for argument: {[n for n in names if n.startswith('bad')][0]}".encode()
            in failed.stderr
        )


@pytest.mark.parametrize(
    "cmd",
    [
        command("dnf", "-y", "install", "--", "x"),  # no lock wait: not as the task builds it
        dnf("-y", "upgrade", "--", "x"),
        dnf("-y", "install", "x"),
        dnf("-y", "install", "--"),
        dnf("--enablerepo=x", "-y", "install", "--", "x"),
    ],
)
def test_only_plain_installs_merge(cmd: object) -> None:
    assert dnf_installs(cmd) is None


def test_a_plain_install_is_recognised() -> None:
    assert dnf_installs(dnf("-y", "install", "--", "a", "-b")) == ["a", "-b"]
