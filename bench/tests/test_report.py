"""bench/report.py from a results file with the latency and fleet parts: the plots and the
markdown (a smoke file: docs/performance.md is not touched)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchcore  # noqa: E402
import report  # noqa: E402

pytest.importorskip("matplotlib")


def kind(seconds: float, paired: float | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "seconds": benchcore.summarize([seconds]),
        "cpu_seconds": benchcore.summarize([0.1]),
        "ssh": None,
        "failed_runs": 0,
        "nonzero_changes": [],
    }
    if paired is not None:
        found["paired"] = benchcore.spread([paired, paired + 0.1])
    return found


def results() -> dict[str, Any]:
    points = {
        n: {
            label: [{"seconds": 0.5 + 0.1 * n, "cpu_seconds": 0.3, "maxrss_kib": 52_000}]
            for label, *_ in benchcore.FLEET_RUNS
        }
        for n in (1, 5, 10)
    }
    check = {
        "configured_rtt": 0.02,
        "echo_rtt_direct": 0.0001,
        "echo_rtt_relayed": 0.0206,
        "added_rtt": 0.0205,
        "connect_and_first_echo": 0.03,
        "ssh_noop_direct": 0.3,
        "ssh_noop_relayed": 0.45,
    }
    return {
        "started": "2026-11-30T20:00:00+0000",
        "command": "bench/run --quick",
        "seconds_total": 60,
        "machine": {"nproc": 2, "cpu": "x", "ram_gib": 23.5, "kernel": "k", "os": "o"},
        "versions": {"provision": "0.1.0"},
        "settings": {"hosts": [1], "runs": 2, "cold_runs": 1, "latency_runs": 1},
        "hosts": [1],
        "tools": ["floor", "provision"],
        "cells": {
            "floor": {"1": {"cold": kind(3.0), "warm": kind(0.5), "dry": kind(0.5)}},
            "provision": {"1": {"cold": kind(3.3), "warm": kind(0.6, 1.2), "dry": kind(0.6, 1.1)}},
        },
        "probe_floor": {},
        "latency": {
            "hosts": 1,
            "rtts_ms": [0.0, 20.0],
            "rtt": {
                r: {
                    "check": check,
                    "cells": {"floor": {"warm": kind(0.5)}, "provision": {"warm": kind(0.6, 1.2)}},
                }
                for r in ("0", "20")
            },
        },
        "fleet": {
            "hosts": [1, 5, 10],
            "runs": 1,
            "missing": [],
            "limit": 40,
            "limit_why": "the lab's limit",
            "mem_per_host_mib": 120,
            "summary": benchcore.fleet_summary(points),
        },
    }


def test_report_writes_both_plots_and_every_table(tmp_path: Path) -> None:
    source = tmp_path / "quick.json"
    source.write_text(json.dumps(results()))
    doc_before = report.DOC.read_text()
    assert report.main(["report.py", str(source)]) == 0
    assert (tmp_path / "quick.png").stat().st_size > 1000
    assert (tmp_path / "quick-fleet.png").stat().st_size > 1000
    text = (tmp_path / "quick.md").read_text()
    assert "| provision | 1 | 3.30 | 0.60 | 0.60 | 1.25× (1.22–1.28) |" in text
    assert "**Real networks**" in text and "| 20 ms | 20.6 ms | 20.5 ms |" in text
    assert "**Fleets**" in text and "![quick-fleet.png]" in text
    assert "| provision warm: s | 0.60 | 1.00 | 1.50 | 0.100 |" in text
    assert report.DOC.read_text() == doc_before
