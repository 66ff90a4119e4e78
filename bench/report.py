#!/usr/bin/env python3
"""bench/results/latest.json → bench/results/latest.png (bars per tool and N) and the
generated part of docs/performance.md (between the bench:begin / bench:end markers).

    bench/.venv/bin/python bench/report.py [RESULTS.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchcore  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:begin (written by bench/report.py from bench/results/latest.json) -->"
END = "<!-- bench:end -->"
COLORS = {
    "floor": "#7f7f7f",
    "provision": "#1f77b4",
    "pyinfra": "#ff7f0e",
    "ansible": "#2ca02c",
    "ansible-mitogen": "#9467bd",
    "ansible-defaults": "#98df8a",
}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    ns = [int(n) for n in results["hosts"]]
    tools = results["tools"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharey=False)
    width = 0.8 / max(1, len(tools))
    for ax, kind in zip(axes, benchcore.KINDS, strict=True):
        for t_index, tool in enumerate(tools):
            xs, ys, lows, highs = [], [], [], []
            for n_index, n in enumerate(ns):
                found = benchcore.cell(results, tool, n, kind)
                if found is None or found["seconds"]["median"] is None:
                    continue
                s = found["seconds"]
                xs.append(n_index + (t_index - (len(tools) - 1) / 2) * width)
                ys.append(s["median"])
                lows.append(s["median"] - s["min"])
                highs.append(s["max"] - s["median"])
            if not xs:
                continue
            ax.bar(
                xs,
                ys,
                width,
                yerr=[lows, highs],
                capsize=2,
                label=benchcore.LABELS.get(tool, tool),
                color=COLORS.get(tool),
            )
        ax.set_xticks(range(len(ns)), [f"N = {n}" for n in ns])
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylabel("seconds (median, min–max), log scale")
        title = {"cold": "cold apply (fresh hosts)", "warm": "warm re-run", "dry": "dry run"}
        ax.set_title(title[kind])
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    machine = results.get("machine", {})
    fig.suptitle(
        f"Docker-host playbook on the container lab — {machine.get('nproc')} cores, "
        f"{machine.get('ram_gib')} GiB, kernel {machine.get('kernel')} ({results.get('started')})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


FLEET_COLORS = {
    "floor warm": "#7f7f7f",
    "provision warm": "#1f77b4",
    "provision dry": "#17becf",
    "provision warm, forks = N": "#2ca02c",
    "provision warm, forks = 4N": "#d62728",
}


def plot_fleet(results: dict[str, Any], path: Path) -> None:
    """Wall time, controller CPU and peak RSS against N, one line per fleet run kind, with
    the per-host slope in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["fleet"]["summary"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    panels = (
        ("seconds", "wall seconds (median)", "s/host"),
        ("cpu_seconds", "controller CPU seconds (median)", "CPU s/host"),
        ("peak_rss_mib", "peak RSS of the largest process, MiB", "MiB/host"),
    )
    for ax, (key, title, unit) in zip(axes, panels, strict=True):
        for label, *_ in benchcore.FLEET_RUNS:
            entry = summary.get(label)
            if not entry:
                continue
            slope = entry.get(f"{key}_per_host")
            legend = label + ("" if slope is None else f" ({slope:.3g} {unit})")
            ax.plot(entry["n"], entry[key], marker="o", label=legend, color=FLEET_COLORS.get(label))
        ax.set_xlabel("hosts (N)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, loc="upper left")
    machine = results.get("machine", {})
    fig.suptitle(
        f"One controller against N lab hosts — {machine.get('nproc')} cores shared with the "
        f"hosts, {machine.get('ram_gib')} GiB ({results.get('started')})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_part(results: dict[str, Any]) -> list[str]:
    latency = results.get("latency")
    if not latency or not latency.get("rtt"):
        return []
    s = results["settings"]
    return [
        f"**Real networks** (issue 15): the same contestants on the same {latency['hosts']} "
        f"host(s), reached through `bench/relay.py` (a delay relay on 127.0.0.1 in front of "
        "each host's sshd: the kernel has no `sch_netem`, so `tc netem` cannot be used), "
        f"{s.get('latency_runs')} paired round(s) per RTT. 0 ms is the relay without delay "
        "(its own cost is in every column). Ratios are pair by pair against the floor "
        "through the same relay: median (quartiles).",
        "",
        benchcore.latency_table(latency),
        "The relay checked at each setting: an echo round trip through it on loopback, and "
        "a full `ssh ... true` (TCP, key exchange, authentication, one exec) to the first "
        "host, directly and through it:",
        "",
        benchcore.relay_check_table(latency),
    ]


def fleet_part(results: dict[str, Any], png: Path) -> list[str]:
    fleet = results.get("fleet")
    if not fleet or not fleet.get("summary"):
        return []
    parts = [
        f"**Fleets** (issue 15): provision against N of {max(fleet['hosts'])} converged lab "
        f"hosts (a generated inventory lists the first N), {fleet['runs']} round(s) per N. "
        f"Memory per running, converged lab host: {fleet['mem_per_host_mib']} MiB; the "
        f"machine holds {fleet['limit']} ({fleet['limit_why']})."
        + (f" Not measured: N = {fleet['missing']}." if fleet.get("missing") else ""),
        "",
        f"![{png.name}](../bench/results/{png.name})",
        "",
        "Wall and CPU seconds are medians; peak RSS is the largest process of the run "
        "(GNU time's `%M`); *per host* is the least-squares slope over N, "
        "*exponent* b of a fit a·N^b (1 = linear; above 1 grows faster than linear). "
        "provision's default is `--forks 50`.",
        "",
        benchcore.fleet_table(fleet),
    ]
    return parts


def probe_table(results: dict[str, Any]) -> str:
    lines = [
        "| N | probe script on the host (max over hosts) | `dnf -q check-update` alone | "
        "provision warm (whole process) | warm ÷ probe |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in sorted(int(x) for x in results.get("probe_floor", {})):
        probe = results["probe_floor"][str(n)]
        warm = benchcore.median_of(results, "provision", n, "warm")
        r = benchcore.ratio(warm, probe["probe_seconds_max_host"])
        lines.append(
            f"| {n} | {probe['probe_seconds_max_host']:.2f} s | "
            f"{probe['check_update_seconds_max_host']:.2f} s | "
            + ("—" if warm is None else f"{warm:.2f} s")
            + " | "
            + ("—" if r is None else f"{r:.2f}×")
            + " |"
        )
    return "\n".join(lines) + "\n"


def section(results: dict[str, Any], fleet_png: Path | None = None) -> str:
    m, v, s = results["machine"], results["versions"], results["settings"]
    targets = results.get("targets") or benchcore.evaluate_targets(results)
    parts = [
        f"Run of {results['started']} (`{results['command']}`, "
        f"{results.get('seconds_total', 0) / 60:.0f} min).\n",
        f"- **Machine**: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, kernel "
        f"{m['kernel']}, {m['os']}; the controller and all lab hosts share it.",
        "- **Versions**: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"- **Settings**: N = {', '.join(map(str, s['hosts']))} hosts; cold apply "
        f"{s['cold_runs']}× per tool and N (fresh hosts each time); warm and dry "
        f"{s['runs']}× each, tools alternating within each round"
        + "".join(f" ({t}: {k}×)" for t, k in s.get("slow_runs", {}).items())
        + ".",
    ]
    engines = results.get("engine", {})
    if engines:
        commits = sorted({c for per_n in engines.values() for c in per_n})
        parts.append(
            f"- **Engine measured**: provision at commit {', '.join(commits)}"
            + (
                " — CHANGED during the run: "
                + "; ".join(f"N={n}: {' → '.join(c)}" for n, c in engines.items())
                if len(commits) > 1
                else " for every N."
            )
        )
    if results.get("missing"):
        parts.append(f"- **Missing**: {', '.join(results['missing'])}.")
    parts += [
        "",
        "![bench/results/latest.png](../bench/results/latest.png)",
        "",
        "Seconds are wall-clock for the whole tool process, median (min–max). Warm and dry "
        "ratios are paired: every contestant's run is next to a floor run of its own (floor "
        "first in even rounds, second in odd ones), each pair gives a ratio, the table shows "
        "their median (quartiles); cold is one fresh-host run each. CPU s = controller "
        "CPU (user+system) of the "
        "tool's processes. Connections, sessions and commands are counted by sshd on each "
        "host (mean per host over the warm runs); a session is any channel (command or "
        "sftp), a command is an exec request. *changes 2nd run*: what the tool reported on "
        "its own second run after its cold apply (must be 0).",
        "",
        benchcore.results_table(results),
        "**Targets** (issue 6), evaluated from the JSON:",
        "",
        benchcore.targets_table(targets),
        "**The host side**: provision's probe script for this playbook, run on each host "
        "by itself (all hosts at once, as in a run), timed there:",
        "",
        probe_table(results),
    ]
    parts += latency_part(results)
    if fleet_png is not None:
        parts += fleet_part(results, fleet_png)
    bad = [
        f"{tool} N={n} {kind}: {found['nonzero_changes']}"
        for tool, per_n in results["cells"].items()
        for n, kinds in per_n.items()
        for kind, found in kinds.items()
        if kind in ("warm", "dry") and found.get("nonzero_changes")
    ]
    failed = [
        f"{tool} N={n} {kind}: {found['failed_runs']} failed"
        for tool, per_n in results["cells"].items()
        for n, kinds in per_n.items()
        for kind, found in kinds.items()
        if kind in benchcore.KINDS and found.get("failed_runs")
    ]
    parts.append(
        "**Idempotence check**: "
        + (
            "every warm and dry run of every tool reported zero changes on hosts converged "
            "by another tool."
            if not bad
            else "runs that reported changes: " + "; ".join(bad) + "."
        )
        + (" Failed runs: " + "; ".join(failed) + "." if failed else " No run failed.")
        + "\n"
    )
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else BENCH / "results" / "latest.json"
    results = json.loads(source.read_text())
    results["targets"] = benchcore.evaluate_targets(results)
    png = source.with_suffix(".png")
    if results.get("hosts"):
        plot(results, png)
    fleet_png: Path | None = None
    if (results.get("fleet") or {}).get("summary"):
        fleet_png = source.with_name(source.stem + "-fleet.png")
        plot_fleet(results, fleet_png)
    if source.name != "latest.json":  # a smoke run (--quick) does not rewrite the docs
        (source.with_suffix(".md")).write_text(section(results, fleet_png))
        print(f"wrote {png}, {fleet_png} and {source.with_suffix('.md')}")
        return 0
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    DOC.write_text(benchcore.replace_between(text, BEGIN, END, section(results, fleet_png)))
    print(f"wrote {png.relative_to(ROOT)}, {fleet_png} and {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
