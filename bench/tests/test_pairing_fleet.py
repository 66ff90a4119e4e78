"""Pure parts of issue 15's benchmark: the paired harness's order and arithmetic, the routed
inventories and known_hosts (latency relay, fleet subsets), the fleet bookkeeping (limit,
slopes, growth exponent) and the tables made from them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchcore  # noqa: E402
from benchcore import Pair  # noqa: E402

# ------------------------------------------------------------------ the order of a round

ORDER_CASES = [
    ("even round: floor first", ["floor", "provision", "pyinfra"], 0,
     [("floor", "provision"), ("floor", "pyinfra")]),
    ("odd round: floor second", ["floor", "provision", "pyinfra"], 1,
     [("provision", "floor"), ("pyinfra", "floor")]),
    ("floor anywhere in the list", ["provision", "floor", "ansible"], 2,
     [("floor", "provision"), ("floor", "ansible")]),
    ("order of the others kept", ["ansible", "provision", "floor"], 3,
     [("ansible", "floor"), ("provision", "floor")]),
    ("no floor: one by one", ["provision", "pyinfra"], 0, [("provision",), ("pyinfra",)]),
    ("floor alone", ["floor"], 1, [("floor",)]),
    ("nothing", [], 0, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tools", "round_index", "expected"),
    [c[1:] for c in ORDER_CASES],
    ids=[c[0] for c in ORDER_CASES],
)
def test_pair_order(tools: list[str], round_index: int, expected: list[tuple[str, ...]]) -> None:
    assert benchcore.pair_order(tools, round_index) == expected


def test_every_contestant_gets_its_own_floor_run_each_round() -> None:
    tools = ["floor", "provision", "pyinfra", "ansible", "ansible-mitogen"]
    for round_index in range(6):
        groups = benchcore.pair_order(tools, round_index)
        assert sorted(g for group in groups for g in group if g != "floor") == sorted(tools[1:])
        assert all(group.count("floor") == 1 and len(group) == 2 for group in groups)


# ------------------------------------------------------------------ pairing arithmetic


def pairs_of(tool: str, kind: str, seconds: list[tuple[float, float]]) -> list[Pair]:
    return [Pair(tool, kind, i, t, f, i % 2 == 1) for i, (t, f) in enumerate(seconds)]


PAIRED_CASES = [
    ("one pair", [(1.5, 1.0)],
     {"n": 1, "median": 1.5, "q1": 1.5, "q3": 1.5, "min": 1.5, "max": 1.5}),
    ("drift cancels", [(1.2, 1.0), (2.4, 2.0), (3.6, 3.0)],
     {"n": 3, "median": 1.2, "min": 1.2, "max": 1.2}),
    ("odd count", [(1.0, 1.0), (3.0, 1.0), (2.0, 1.0)],
     {"n": 3, "median": 2.0, "q1": 1.5, "q3": 2.5}),
    ("even count", [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0)],
     {"n": 4, "median": 2.5, "q1": 1.75, "q3": 3.25, "min": 1.0, "max": 4.0}),
    ("floor of zero seconds dropped", [(1.0, 0.0), (2.0, 1.0)], {"n": 1, "median": 2.0}),
    ("nothing", [], {"n": 0, "median": None, "q1": None, "q3": None}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "expected"), [c[1:] for c in PAIRED_CASES], ids=[c[0] for c in PAIRED_CASES]
)
def test_paired_ratios(seconds: list[tuple[float, float]], expected: dict[str, Any]) -> None:
    found = benchcore.paired_ratios(pairs_of("provision", "warm", seconds), "provision", "warm")
    for key, value in expected.items():
        assert found[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_paired_ratios_differ_from_the_ratio_of_medians() -> None:
    # a machine that slows down during the run: the ratio of medians mixes rounds, the
    # pairs do not
    seconds = [(1.3, 1.0), (2.6, 2.0), (6.5, 5.0)]
    paired = benchcore.paired_ratios(pairs_of("provision", "warm", seconds), "provision", "warm")
    assert paired["median"] == pytest.approx(1.3)
    assert paired["max"] - paired["min"] == pytest.approx(0)


def test_paired_ratios_pick_tool_and_kind() -> None:
    pairs = [
        *pairs_of("provision", "warm", [(2.0, 1.0)]),
        *pairs_of("provision", "dry", [(3.0, 1.0)]),
        *pairs_of("pyinfra", "warm", [(7.0, 1.0)]),
    ]
    assert benchcore.paired_ratios(pairs, "provision", "warm")["median"] == 2.0
    assert benchcore.paired_ratios(pairs, "provision", "dry")["median"] == 3.0
    assert benchcore.paired_ratios(pairs, "pyinfra", "warm")["median"] == 7.0
    assert benchcore.paired_ratios(pairs, "ansible", "warm")["n"] == 0


RATIO_CELL_CASES = [
    ("paired, several", {"n": 3, "median": 1.234, "q1": 1.2, "q3": 1.3}, None, "1.23× (1.20–1.30)"),
    ("paired, one", {"n": 1, "median": 1.5, "q1": 1.5, "q3": 1.5}, None, "1.50×"),
    ("old results: ratio of medians", None, 1.456, "1.46×"),
    ("empty paired: fallback", {"n": 0, "median": None}, 2.0, "2.00×"),
    ("nothing", None, None, "—"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("paired", "fallback", "expected"),
    [c[1:] for c in RATIO_CELL_CASES],
    ids=[c[0] for c in RATIO_CELL_CASES],
)
def test_ratio_cell(paired: dict[str, Any] | None, fallback: float | None, expected: str) -> None:
    assert benchcore.ratio_cell(paired, fallback) == expected


def results_with(paired_warm: float, paired_dry: float, n: int) -> dict[str, Any]:
    def kind(median: float, paired: float | None) -> dict[str, Any]:
        return {
            "seconds": benchcore.summarize([median]),
            "cpu_seconds": benchcore.summarize([0.1]),
            "ssh": None,
            "paired": benchcore.spread([paired] if paired is not None else []),
        }

    return {
        "hosts": [n],
        "tools": ["floor", "provision"],
        "cells": {
            "floor": {
                str(n): {"cold": kind(3.0, None), "warm": kind(1.0, None),
                         "dry": kind(1.0, None)}
            },
            "provision": {
                str(n): {"cold": kind(3.2, None), "warm": kind(9.0, paired_warm),
                         "dry": kind(9.0, paired_dry)}
            },
        },
    }  # fmt: skip


TARGET_CASES = [
    (1, 1.29, 1.29, True),
    (1, 1.31, 1.2, False),
    (3, 1.2, 1.19, True),
    (3, 1.21, 1.0, False),
    (10, 1.0, 1.25, False),
]


@pytest.mark.parametrize(("n", "warm", "dry", "met"), TARGET_CASES)
def test_issue15_targets_use_the_paired_ratio(n: int, warm: float, dry: float, met: bool) -> None:
    # the ratio of medians (9.0 / 1.0) would fail every case: the paired one decides
    targets = benchcore.evaluate_targets(results_with(warm, dry, n))
    paired = [t for t in targets if "paired" in t["target"]]
    assert len(paired) == 2
    assert (paired[0]["met"] and paired[1]["met"]) is met
    assert f"N={n}: {warm:.2f}×" in paired[0]["figure"]
    cold = [t for t in targets if "1.1×" in t["target"]]
    assert cold[0]["met"] is True  # 3.2 / 3.0 = 1.07 ≤ 1.1
    assert "N=" + str(n) + ": 1.07×" in cold[0]["figure"]
    table = benchcore.results_table(results_with(warm, dry, n))
    assert f"| {warm:.2f}× | {dry:.2f}× |" in table


# ------------------------------------------------------------------ routes

LAB_INVENTORY = {
    "all": {
        "vars": {
            "ansible_user": "rocky",
            "ansible_ssh_private_key_file": ".lab/id_ed25519",
            "provision_known_hosts": ".lab/known_hosts",
            "provision_vars_files": [".lab/vars.yml"],
            "dnf_proxy": "http://10.200.0.1:3128",
        },
        "children": {
            "docker_hosts": {
                "hosts": {
                    "rocky1": {"ansible_host": "10.200.0.11"},
                    "rocky2": {"ansible_host": "10.200.0.12"},
                    "rocky3": {"ansible_host": "10.200.0.13", "ansible_port": 2222},
                }
            }
        },
    }
}


def test_routed_inventory_through_the_relay() -> None:
    endpoints = {f"rocky{i}": ("127.0.0.1", 40000 + i) for i in (1, 2, 3)}
    doc = benchcore.routed_inventory(LAB_INVENTORY, endpoints, "/w/bench/.work/", "/r/kh")
    hosts = doc["all"]["children"]["docker_hosts"]["hosts"]
    assert hosts == {
        "rocky1": {"ansible_host": "127.0.0.1", "ansible_port": 40001},
        "rocky2": {"ansible_host": "127.0.0.1", "ansible_port": 40002},
        "rocky3": {"ansible_host": "127.0.0.1", "ansible_port": 40003},
    }
    variables = doc["all"]["vars"]
    assert variables["ansible_ssh_private_key_file"] == "/w/bench/.work/.lab/id_ed25519"
    assert variables["provision_known_hosts"] == "/r/kh"
    assert variables["provision_vars_files"] == ["/w/bench/.work/.lab/vars.yml"]
    assert variables["dnf_proxy"] == "http://10.200.0.1:3128"
    # the original is not touched
    assert LAB_INVENTORY["all"]["vars"]["provision_known_hosts"] == ".lab/known_hosts"
    assert LAB_INVENTORY["all"]["children"]["docker_hosts"]["hosts"]["rocky1"] == {
        "ansible_host": "10.200.0.11"
    }


def test_routed_inventory_subset_keeps_order_and_port_22_drops_the_port() -> None:
    endpoints = {"rocky3": ("10.200.0.13", 22), "rocky1": ("10.200.0.11", 22)}
    doc = benchcore.routed_inventory(LAB_INVENTORY, endpoints, "/b", "/k")
    hosts = doc["all"]["children"]["docker_hosts"]["hosts"]
    assert list(hosts) == ["rocky1", "rocky3"]
    assert hosts["rocky3"] == {"ansible_host": "10.200.0.13"}


def test_routed_inventory_absolute_paths_stay() -> None:
    inventory = {
        "all": {
            "vars": {"ansible_ssh_private_key_file": "/abs/key"},
            "children": {"docker_hosts": {"hosts": {"a": None}}},
        }
    }
    doc = benchcore.routed_inventory(inventory, {"a": ("127.0.0.1", 5)}, "/b", "/k")
    assert doc["all"]["vars"]["ansible_ssh_private_key_file"] == "/abs/key"
    assert doc["all"]["children"]["docker_hosts"]["hosts"]["a"]["ansible_port"] == 5


def test_routed_inventory_refuses_unknown_hosts() -> None:
    with pytest.raises(ValueError, match="rocky9"):
        benchcore.routed_inventory(LAB_INVENTORY, {"rocky9": ("127.0.0.1", 1)}, "/b", "/k")


KNOWN_HOSTS = (
    "10.200.0.11,rocky1 ssh-ed25519 AAAAkey1\n"
    "10.200.0.11,rocky1 ecdsa-sha2-nistp256 AAAAkey1e\n"
    "10.200.0.12,rocky2 ssh-ed25519 AAAAkey2\n"
    "# a comment 10.200.0.11\n"
    "@cert-authority 10.200.0.11 ssh-ed25519 AAAAca\n"
    "|1|hashed= ssh-ed25519 AAAAh\n"
    "10.200.0.111 ssh-ed25519 AAAAnot-a-prefix-match\n"
    "short line\n"
    "\n"
)


def test_routed_known_hosts() -> None:
    text = benchcore.routed_known_hosts(
        KNOWN_HOSTS, {"10.200.0.11": ("127.0.0.1", 40001), "10.200.0.12": ("10.200.0.12", 22)}
    )
    assert text.splitlines() == [
        "[127.0.0.1]:40001 ssh-ed25519 AAAAkey1",
        "[127.0.0.1]:40001 ecdsa-sha2-nistp256 AAAAkey1e",
        "10.200.0.12 ssh-ed25519 AAAAkey2",
    ]


def test_routed_known_hosts_nothing_matches() -> None:
    assert benchcore.routed_known_hosts(KNOWN_HOSTS, {"10.200.0.99": ("127.0.0.1", 1)}) == ""


def test_pyinfra_inventory_with_ports() -> None:
    text = benchcore.pyinfra_inventory(
        [("rocky1", "127.0.0.1", 40001), ("rocky2", "10.200.0.12", 22), ("rocky3", "h")],
        "rocky",
        "/k",
        "/kh",
    )
    assert "('rocky1', {'ssh_hostname': '127.0.0.1', 'ssh_port': 40001})," in text
    assert "('rocky2', {'ssh_hostname': '10.200.0.12'})," in text
    assert "('rocky3', {'ssh_hostname': 'h'})," in text
    compile(text, "inventory.py", "exec")


# ------------------------------------------------------------------ fleets

FIT_CASES = [
    ("line", [1, 2, 3], [3, 5, 7], (2.0, 1.0)),
    ("flat", [1, 10], [4, 4], (0.0, 4.0)),
    ("one x", [5, 5], [1, 2], None),
    ("one point", [1], [1], None),
    ("lengths differ", [1, 2], [1], None),
]


@pytest.mark.parametrize(
    ("xs", "ys", "expected"), [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES]
)
def test_linear_fit(xs: list[float], ys: list[float], expected: tuple[float, float] | None) -> None:
    found = benchcore.linear_fit(xs, ys)
    assert found == (None if expected is None else pytest.approx(expected))


EXPONENT_CASES = [
    ("linear", [1, 10, 40], [0.5, 5.0, 20.0], 1.0),
    ("quadratic", [1, 10, 40], [1.0, 100.0, 1600.0], 2.0),
    ("constant", [1, 10, 40], [3.0, 3.0, 3.0], 0.0),
    ("zeros left out", [1, 2, 4], [0.0, 2.0, 4.0], 1.0),
]


@pytest.mark.parametrize(
    ("xs", "ys", "expected"), [c[1:] for c in EXPONENT_CASES], ids=[c[0] for c in EXPONENT_CASES]
)
def test_growth_exponent(xs: list[float], ys: list[float], expected: float) -> None:
    assert benchcore.growth_exponent(xs, ys) == pytest.approx(expected)


GIB = 1024 * 1024
LIMIT_CASES = [
    ("memory binds", 10 * GIB, 512 * 1024, 4 * GIB, 100, 12, "memory"),
    ("lab limit binds", 22 * GIB, 200 * 1024, 4 * GIB, 40, 40, "MAX_HOSTS"),
    ("less than the reserve", 3 * GIB, 200 * 1024, 4 * GIB, 40, 0, "memory"),
    ("not measured", 22 * GIB, 0, 4 * GIB, 40, 40, "not measured"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("available", "per_host", "reserve", "max_hosts", "limit", "word"),
    [c[1:] for c in LIMIT_CASES],
    ids=[c[0] for c in LIMIT_CASES],
)
def test_fleet_limit(
    available: int, per_host: int, reserve: int, max_hosts: int, limit: int, word: str
) -> None:
    found, why = benchcore.fleet_limit(available, per_host, reserve, max_hosts)
    assert found == limit
    assert word in why


def fleet_points() -> dict[int, dict[str, list[dict[str, float]]]]:
    def runs(seconds: float, cpu: float, rss_mib: float) -> list[dict[str, float]]:
        return [
            {"seconds": seconds, "cpu_seconds": cpu, "maxrss_kib": rss_mib * 1024},
            {"seconds": seconds * 3, "cpu_seconds": cpu, "maxrss_kib": rss_mib * 1024 - 10},
            {"seconds": seconds, "cpu_seconds": cpu * 5, "maxrss_kib": 1},
        ]

    return {
        n: {
            "provision warm": runs(0.5 + 0.1 * n, 0.3 + 0.02 * n, 50 + 0.5 * n),
            "floor warm": runs(0.4 + 0.1 * n, 0.1 * n, 30),
        }
        for n in (1, 5, 10, 20)
    }


def test_fleet_summary_slopes_and_medians() -> None:
    summary = benchcore.fleet_summary(fleet_points())
    warm = summary["provision warm"]
    assert warm["n"] == [1, 5, 10, 20]
    assert warm["seconds"] == pytest.approx([0.6, 1.0, 1.5, 2.5])  # medians, not means
    assert warm["seconds_per_host"] == pytest.approx(0.1)
    assert warm["seconds_intercept"] == pytest.approx(0.5)
    assert warm["cpu_seconds_per_host"] == pytest.approx(0.02)
    assert warm["peak_rss_mib"] == pytest.approx([50.5, 52.5, 55.0, 60.0])  # the peak
    assert warm["peak_rss_mib_per_host"] == pytest.approx(0.5)
    assert summary["floor warm"]["cpu_seconds_exponent"] == pytest.approx(1.0)
    assert summary["floor warm"]["peak_rss_mib_per_host"] == pytest.approx(0.0)


def test_fleet_summary_a_label_missing_at_some_n() -> None:
    points = fleet_points()
    del points[5]["floor warm"]
    summary = benchcore.fleet_summary(points)
    assert summary["floor warm"]["n"] == [1, 10, 20]
    assert benchcore.fleet_summary({}) == {}


def test_fleet_and_latency_tables() -> None:
    fleet = {"hosts": [1, 5, 10, 20], "summary": benchcore.fleet_summary(fleet_points())}
    table = benchcore.fleet_table(fleet)
    assert "| provision warm: s | 0.60 | 1.00 | 1.50 | 2.50 | 0.100 | " in table
    assert "| provision warm: MiB | 50 | 52 | 55 | 60 | 0.5 |" in table
    latency = {
        "rtts_ms": [0.0, 20.0],
        "rtt": {
            r: {
                "check": {},
                "cells": {
                    "floor": {"warm": {"seconds": benchcore.summarize([1.0])}},
                    "provision": {
                        "warm": {
                            "seconds": benchcore.summarize([1.2]),
                            "paired": benchcore.spread([1.2]),
                        },
                        "dry": {
                            "seconds": benchcore.summarize([1.1]),
                            "paired": benchcore.spread([1.1]),
                        },
                    },
                },
            }
            for r in ("0", "20")
        },
    }
    table = benchcore.latency_table(latency)
    assert table.splitlines()[0].count("warm ÷ floor") == 2
    assert "| provision | 1.20 | 1.20× | 1.10× | 1.20 | 1.20× | 1.10× |" in table
    assert "| floor (plain sh over ssh) | 1.00 | 1.00× | 1.00× |" in table
