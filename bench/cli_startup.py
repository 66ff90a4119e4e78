"""Median wall time of `provision --help` (the CLI's start-up cost), N runs.

    .venv/bin/python bench/cli_startup.py [--runs 21] [--provision PATH] [-- ARGS...]

Runs the installed `provision` entry point (default: the one next to this Python) in a
fresh process each time and prints the median, min and max in milliseconds, plus the
same for a bare `python -c pass` for scale. The target is a median under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def line(label: str, times: list[float]) -> str:
    return (
        f"{label:<28} median {statistics.median(times):6.1f} ms"
        f"  min {min(times):6.1f}  max {max(times):6.1f}  ({len(times)} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--provision", default=str(Path(sys.executable).parent / "provision"))
    parser.add_argument("args", nargs="*", default=["--help"])
    options = parser.parse_args()
    python = timed([sys.executable, "-c", "pass"], options.runs)
    cli = timed([options.provision, *options.args], options.runs)
    print(line("python -c pass", python))
    print(line("provision " + " ".join(options.args), cli))
    return 0


if __name__ == "__main__":
    sys.exit(main())
