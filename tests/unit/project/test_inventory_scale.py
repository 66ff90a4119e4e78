"""Loading and matching a large inventory is linear (issue 10: 50,000 hosts, `--limit`
one host, under 2 s; the timing itself lives in bench/inventory_scale.py).

No timed assertion here: the work is counted. Group membership is computed once per
group, each host's groups once, group_vars/ and host_vars/ are listed once instead of
probed per host, and CPU time grows about linearly from 2,000 to 20,000 hosts."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project import inventory as inventory_module
from provision.project.compile import Selection, compile_run
from provision.project.inventory import Inventory, load_inventory

sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
from inventory_scale import write_project  # noqa: E402


def _cpu(hosts: int, root: Path) -> float:
    root.mkdir()
    inventory, playbook, one = write_project(root, hosts)
    started = time.process_time()
    compiled = compile_run(inventory, playbook, selection=Selection(limit=one))
    assert [hp.host.name for _, hps in compiled.plays for hp in hps] == [one]
    return time.process_time() - started


def test_compile_time_grows_linearly(tmp_path: Path) -> None:
    small = min(_cpu(2000, tmp_path / f"s{i}") for i in range(3))
    large = _cpu(20000, tmp_path / "large")
    # linear: 10x; the quadratic loader this replaces took about 100x
    assert large < max(small, 0.02) * 30, (small, large)


def test_membership_is_computed_once_per_group(tmp_path: Path, monkeypatch) -> None:
    inventory, _, _ = write_project(tmp_path, 5000)
    loaded = load_inventory(inventory)
    calls = {"walks": 0}
    original = Inventory._members

    def counting(self: Inventory, group: str) -> set[str]:
        if group not in self._member_cache and group != "all":
            calls["walks"] += 1
        return original(self, group)

    monkeypatch.setattr(Inventory, "_members", counting)
    for host in list(loaded.hosts)[:200]:
        loaded.host_variables(host)
    for group in loaded.groups:
        loaded.match(group)
    loaded.match("g1:g2:&all:!g3")
    assert calls["walks"] <= len(loaded.groups)


def test_var_folders_are_listed_once_not_probed_per_host(tmp_path: Path, monkeypatch) -> None:
    inventory, _, _ = write_project(tmp_path, 3000)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "h7.yml").write_text("seven: 7\n")
    scans: list[str] = []
    stats = {"is_file": 0}
    real_scandir, real_is_file = os.scandir, Path.is_file

    def scandir(path: object) -> object:
        scans.append(str(path))
        return real_scandir(path)

    def is_file(self: Path) -> bool:
        stats["is_file"] += 1
        return real_is_file(self)

    monkeypatch.setattr(inventory_module.os, "scandir", scandir)
    monkeypatch.setattr(Path, "is_file", is_file)
    loaded = load_inventory(inventory)
    assert len(scans) == 2
    assert stats["is_file"] < 50
    assert loaded.hosts["h7"].vars["seven"] == 7
    assert loaded.groups["g0"].vars["colour"] == "blue"


@pytest.mark.parametrize("pattern", ["all", "g1", "h1*", "~h1\\d+", "g1:g2", "g*:!g1", "all:&g2"])
def test_matching_keeps_inventory_order(tmp_path: Path, pattern: str) -> None:
    inventory, _, _ = write_project(tmp_path, 3000)
    loaded = load_inventory(inventory)
    found = loaded.match(pattern)
    order = {h: i for i, h in enumerate(loaded.hosts)}
    assert found, pattern
    assert len(set(found)) == len(found)
    if ":" not in pattern:
        assert found == sorted(found, key=order.__getitem__)


def test_a_slow_regex_is_stopped_by_the_clock(tmp_path: Path, monkeypatch) -> None:
    """A pattern the static check lets through (polynomial) still has a time bound."""
    inventory = tmp_path / "inventory.yml"
    names = "".join(f"    {'a' * 200}{i}:\n" for i in range(200))
    inventory.write_text("all:\n  hosts:\n" + names)
    loaded = load_inventory(inventory)
    monkeypatch.setattr(inventory_module, "REGEX_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(InputError, match="takes too long"):
        loaded.match("~a*a*a*a*a*b")
    assert time.monotonic() - started < 10
