"""Unit tests of the benchmark's pure parts: `bench/.venv/bin/pytest bench/tests`."""
# ruff: noqa: E501  (verbatim tool output lines)

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchcore  # noqa: E402

JOURNAL = """\
1700000000.100000 rocky1 sshd[101]: Connection from 10.200.0.1 port 40000 on 10.200.0.11 port 22
1700000000.150000 rocky1 sshd[101]: Accepted key ED25519 SHA256:x found at /home/rocky/.ssh/authorized_keys:1
1700000000.200000 rocky1 sshd[101]: Accepted publickey for rocky from 10.200.0.1 port 40000 ssh2: ED25519 SHA256:x
1700000000.300000 rocky1 sshd[101]: pam_unix(sshd:session): session opened for user rocky
1700000000.400000 rocky1 sshd[103]: Starting session: command for rocky from 10.200.0.1 port 40000 id 0
1700000000.500000 rocky1 sshd[103]: Starting session: subsystem 'sftp' for rocky from 10.200.0.1 port 40000 id 1
1700000000.600000 rocky1 sudo[110]:    rocky : PWD=/home/rocky ; USER=root ; COMMAND=/bin/sh -s
1700000005.000000 rocky1 sshd[201]: Accepted publickey for rocky from 10.200.0.1 port 40002 ssh2: ED25519 SHA256:x
1700000005.100000 rocky1 sshd[203]: Starting session: command for rocky from 10.200.0.1 port 40002 id 0
-- Boot 1234 --
"""


def test_journal_counts_per_window() -> None:
    lines = benchcore.parse_journal("rocky1", JOURNAL)
    assert all(line.host == "rocky1" for line in lines)
    assert len(lines) == 8  # sudo's line and the boot marker are dropped
    first = benchcore.count_ssh(lines, 1700000000.0, 1700000001.0)
    assert first == benchcore.SshCounts(connections=1, sessions=2, commands=1)
    second = benchcore.count_ssh(lines, 1700000004.0, 1700000006.0)
    assert second == benchcore.SshCounts(connections=1, sessions=1, commands=1)
    assert benchcore.count_ssh(lines, 1700000001.0, 1700000004.0) == benchcore.SshCounts()


def test_per_host_counts_lists_hosts_without_lines() -> None:
    lines = benchcore.parse_journal("rocky1", JOURNAL)
    counts = benchcore.per_host_counts(lines, ["rocky1", "rocky2"], 0, 2e9)
    assert counts["rocky1"] == {"connections": 2, "sessions": 3, "commands": 2}
    assert counts["rocky2"] == {"connections": 0, "sessions": 0, "commands": 0}


ANSIBLE_OUT = """\
PLAY [Docker hosts] ************************************************************

TASK [dnf proxy URL in dnf.conf [main]] ****************************************
ok: [rocky1]
changed: [rocky2]

PLAY RECAP *********************************************************************
rocky1                     : ok=24   changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
rocky2                     : ok=24   changed=3    unreachable=0    failed=1    skipped=2    rescued=0    ignored=0
"""


def test_ansible_recap() -> None:
    recap = benchcore.ansible_recap(ANSIBLE_OUT)
    assert recap["rocky1"] == {"ok": 24, "changed": 0, "unreachable": 0, "failed": 0}
    assert recap["rocky2"]["changed"] == 3 and recap["rocky2"]["failed"] == 1
    assert benchcore.ansible_recap("no recap here") == {}


PYINFRA_APPLY = """\
--> Beginning operation run...
--> Starting operation: dnf proxy URL in dnf.conf [main]
    [rocky1] No changes
--> Results:
    Operation                                     Hosts   Success   Error   No Change
    dnf proxy URL in dnf.conf [main]              1       -         -       1
    system packages up to date                    1       1         -       -
    Grand total                                   28      2         -       26

--> Disconnecting from hosts...
"""

PYINFRA_DRY = """\
--> Detected changes:
    Operation                                     Change       Conditional Change
    dnf proxy URL in dnf.conf [main]              -            -
    system packages up to date                    3 (rocky1, rocky2, rocky3)   -
    daemon.json                                   1 (rocky2)   -
    restart docker (its configuration changed)    -            3 (rocky1, rocky2, rocky3)

    Detected changes may not include every change pyinfra will execute.

--> Dry run, exiting
"""


def test_pyinfra_changes() -> None:
    assert benchcore.pyinfra_applied_changes(PYINFRA_APPLY) == 2
    assert benchcore.pyinfra_applied_changes(PYINFRA_APPLY.replace("28      2", "28      -")) == 0
    assert benchcore.pyinfra_applied_changes("--> nothing") is None
    assert benchcore.pyinfra_dry_changes(PYINFRA_DRY) == 4
    assert benchcore.pyinfra_dry_changes("no table") is None
    colored = PYINFRA_APPLY.replace("Grand total", "\x1b[1mGrand total\x1b[0m")
    assert benchcore.pyinfra_applied_changes(colored) == 2


def test_provision_changes() -> None:
    doc: dict[str, Any] = {
        "hosts": {
            "a": {"counts": {"ok": 20, "changed": 2, "pending": 0}},
            "b": {"counts": {"ok": 20, "changed": 0, "pending": 3}},
        }
    }
    assert benchcore.provision_changes(doc) == 5
    assert benchcore.provision_changes({"hosts": {}}) == 0


def test_lab_hosts_and_pyinfra_inventory() -> None:
    inventory = {
        "all": {
            "vars": {"ansible_user": "rocky"},
            "children": {
                "docker_hosts": {
                    "hosts": {"rocky1": {"ansible_host": "10.200.0.11"}, "rocky2": None}
                }
            },
        }
    }
    hosts = benchcore.lab_hosts(inventory)
    assert hosts == [("rocky1", "10.200.0.11"), ("rocky2", "rocky2")]
    text = benchcore.pyinfra_inventory(hosts, "rocky", "/k/id", "/k/known_hosts")
    namespace: dict[str, Any] = {}
    exec(compile(text, "inventory.py", "exec"), namespace)
    names, data = namespace["docker_hosts"]
    assert names[0] == ("rocky1", {"ssh_hostname": "10.200.0.11"})
    assert data["ssh_strict_host_key_checking"] == "yes"
    assert data["ssh_known_hosts_file"] == "/k/known_hosts"
    assert "docker_gpg_fingerprint" not in data
    fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"
    text = benchcore.pyinfra_inventory(
        hosts, "rocky", "/k/id", "/k/known_hosts", {"docker_gpg_fingerprint": fingerprint}
    )
    namespace = {}
    exec(compile(text, "inventory.py", "exec"), namespace)
    assert namespace["docker_hosts"][1]["docker_gpg_fingerprint"] == fingerprint


def test_summarize() -> None:
    assert benchcore.summarize([3.0, 1.0, 2.0]) == {"n": 3, "median": 2.0, "min": 1.0, "max": 3.0}
    assert benchcore.summarize([])["median"] is None
    assert benchcore.ratio(1.0, 0) is None and benchcore.ratio(3.0, 2.0) == 1.5


def _cell(median: float, conn: int = 1, cmds: int = 1) -> dict[str, Any]:
    return {
        "seconds": benchcore.summarize([median]),
        "cpu_seconds": benchcore.summarize([0.5]),
        "ssh": {
            "mean_connections_per_host": conn,
            "max_connections_per_host": conn,
            "mean_sessions_per_host": cmds,
            "mean_commands_per_host": cmds,
            "max_commands_per_host": cmds,
        },
    }


def _results(ours_warm10: float, cmds: int = 1) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for tool, warm, cold in (
        ("floor", {1: 0.6, 10: 2.5}, {1: 5.0, 10: 30.0}),
        ("provision", {1: 0.9, 10: ours_warm10}, {1: 5.5, 10: 33.0}),
        ("pyinfra", {1: 3.7, 10: 14.0}, {1: 20.0, 10: 90.0}),
        ("ansible", {1: 10.0, 10: 39.6}, {1: 40.0, 10: 150.0}),
    ):
        cells[tool] = {
            str(n): {
                "cold": _cell(cold[n]),
                "warm": _cell(warm[n], cmds=cmds),
                "dry": _cell(warm[n], cmds=cmds),
                "second_run": {"changes": 0},
            }
            for n in (1, 10)
        }
    return {
        "hosts": [1, 10],
        "tools": list(cells),
        "cells": cells,
        "probe_floor": {"1": {"probe_seconds_max_host": 0.5}, "10": {"probe_seconds_max_host": 2}},
        "cli_help_seconds": {"median": 0.1},
    }


def test_targets_met_and_missed() -> None:
    met = {t["target"]: t for t in benchcore.evaluate_targets(_results(3.0))}
    assert all(t["met"] in (True, None) for t in met.values()), met
    cold = next(t for name, t in met.items() if name.startswith("Cold apply"))
    assert cold["met"] is True and "N=1: 1.10×" in cold["figure"]
    missed = benchcore.evaluate_targets(_results(5.0, cmds=3))
    verdicts = {t["target"]: t["met"] for t in missed}
    assert verdicts["Warm re-run: within 1.5× of the floor at N = 10"] is False
    assert any(
        name.startswith("Warm re-run: ≤ 1 SSH") and ok is False for name, ok in verdicts.items()
    )
    scaling = next(t for t in missed if t["target"].startswith("Scaling"))
    assert scaling["met"] is False  # 5.0 - (2.5 - 0.6) = 3.1 > 2 × 0.9


def test_targets_with_nothing_measured() -> None:
    targets = benchcore.evaluate_targets({"hosts": [], "cells": {}})
    assert targets and all(t["met"] is None for t in targets)


def test_tables_and_markers() -> None:
    table = benchcore.results_table(_results(3.0))
    assert "| provision | 10 | 33.00 | 3.00 | 3.00 | 1.20× | 1.20× | 1.10× |" in table
    doc = "# P\n\nintro\n<!-- b -->\nold\n<!-- e -->\nafter\n"
    assert benchcore.replace_between(doc, "<!-- b -->", "<!-- e -->", "new\n") == (
        "# P\n\nintro\n<!-- b -->\nnew\n<!-- e -->\nafter\n"
    )
    fresh = benchcore.replace_between("# P\n", "<!-- b -->", "<!-- e -->", "new\n")
    assert fresh == "# P\n\n<!-- b -->\nnew\n<!-- e -->\n"
    assert "| t | f | met |" in benchcore.targets_table(
        [{"target": "t", "figure": "f", "verdict": "met"}]
    )


@pytest.mark.parametrize(("items", "by", "expected"), [("abc", 1, "bca"), ("abc", 4, "bca")])
def test_rotation_in_harness(items: str, by: int, expected: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import harness

    assert "".join(harness.rotated(list(items), by)) == expected
