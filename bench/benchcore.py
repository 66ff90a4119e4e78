"""Pure parts of the benchmark: statistics, parsing each tool's output and the hosts' sshd
journal, the pyinfra inventory, and the targets of issue 6. No I/O here (unit-tested)."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TOOLS = ("floor", "provision", "pyinfra", "ansible", "ansible-defaults")
LABELS = {
    "floor": "floor (plain sh over ssh)",
    "provision": "provision",
    "pyinfra": "pyinfra",
    "ansible": "ansible-core (tuned)",
    "ansible-defaults": "ansible-core (defaults)",
}
KINDS = ("cold", "warm", "dry")


# ------------------------------------------------------------------ statistics


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of a sample (empty sample: None for each)."""
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


# ------------------------------------------------------------------ sshd journal


@dataclass(frozen=True)
class JournalLine:
    host: str
    when: float
    text: str


_SHORT_UNIX = re.compile(
    r"^(?P<ts>\d+\.\d+)\s+\S+\s+(?P<ident>[^\s:\[]+)(?:\[\d+\])?:\s?(?P<msg>.*)$"
)


def parse_journal(host: str, output: str) -> list[JournalLine]:
    """`journalctl -o short-unix` lines of sshd (other identifiers and noise are dropped)."""
    lines = []
    for raw in output.splitlines():
        match = _SHORT_UNIX.match(raw.strip())
        if match and match.group("ident").startswith("sshd"):
            lines.append(JournalLine(host, float(match.group("ts")), match.group("msg")))
    return lines


# "Accepted publickey for rocky from ..." once per authenticated connection (not the
# VERBOSE "Accepted key ED25519 ... found at ..." lines, one or two per key offered)
_ACCEPTED = re.compile(r"^Accepted \S+ for ")


@dataclass(frozen=True)
class SshCounts:
    connections: int = 0  # "Accepted publickey"
    sessions: int = 0  # "Starting session: ..." of any kind
    commands: int = 0  # "Starting session: command ..."

    def as_dict(self) -> dict[str, int]:
        return {
            "connections": self.connections,
            "sessions": self.sessions,
            "commands": self.commands,
        }


def count_ssh(lines: Iterable[JournalLine], start: float, end: float) -> SshCounts:
    """What sshd logged in [start, end] (sshd must run with LogLevel VERBOSE)."""
    connections = sessions = commands = 0
    for line in lines:
        if not start <= line.when <= end:
            continue
        if _ACCEPTED.match(line.text):
            connections += 1
        elif line.text.startswith("Starting session: "):
            sessions += 1
            if line.text.startswith("Starting session: command"):
                commands += 1
    return SshCounts(connections, sessions, commands)


def per_host_counts(
    lines: Iterable[JournalLine], hosts: Sequence[str], start: float, end: float
) -> dict[str, dict[str, int]]:
    by_host: dict[str, list[JournalLine]] = {h: [] for h in hosts}
    for line in lines:
        by_host.setdefault(line.host, []).append(line)
    return {h: count_ssh(by_host[h], start, end).as_dict() for h in hosts}


# ------------------------------------------------------------------ each tool's "changes"

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)


def ansible_recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines → {host: {ok, changed, unreachable, failed}}."""
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for raw in output.splitlines():
        if raw.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = _RECAP.match(raw.strip()) if in_recap else None
        if match:
            recap[match.group("host")] = {
                k: int(match.group(k)) for k in ("ok", "changed", "unreachable", "failed")
            }
    return recap


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _table_rows(output: str) -> list[list[str]]:
    rows = []
    for raw in output.splitlines():
        line = _ANSI.sub("", raw).strip()
        if line:
            rows.append(re.split(r"\s{2,}", line))
    return rows


def pyinfra_applied_changes(output: str) -> int | None:
    """Changed operations×hosts from pyinfra's results table ("Grand total" row, column
    Success = operations that ran commands); None when the table is missing."""
    for cells in reversed(_table_rows(output)):
        if cells and cells[0] == "Grand total" and len(cells) >= 3:
            return 0 if cells[2] == "-" else int(cells[2])
    return None


def pyinfra_dry_changes(output: str) -> int | None:
    """Operations×hosts that `--dry` says will change (column Change of the meta table;
    conditional changes, `_if=` handlers, are not counted). None: no table found."""
    rows = _table_rows(output)
    total, seen = 0, False
    in_table = False
    for cells in rows:
        if cells[:2] == ["Operation", "Change"]:
            in_table, seen = True, True
            continue
        if not in_table:
            continue
        if len(cells) < 2 or cells[0].startswith("-->"):
            in_table = False
            continue
        match = re.match(r"^(\d+)\s+\(", cells[1])
        if match:
            total += int(match.group(1))
    return total if seen else None


def provision_changes(doc: dict[str, Any]) -> int:
    """changed (apply) + pending (plan) tasks over all hosts of a `--format json` document."""
    total = 0
    for host in doc.get("hosts", {}).values():
        counts = host.get("counts", {})
        total += int(counts.get("changed", 0)) + int(counts.get("pending", 0))
    return total


# ------------------------------------------------------------------ a failed run

# words of an error line in any tool's output; PLAY RECAP counters ("failed=0") are not
_ERROR_WORDS = re.compile(
    r"(?i)(\berror\b|\bfatal\b|\bfailed\b|\bfailure\b|unreachable|refus|denied|"
    r"traceback|could not|cannot|host key|identification has changed|timed out)"
)
_COUNTER = re.compile(r"(?i)\b(failed|unreachable|error)=\d")
MAX_ERROR_LINE = 300


def _short(line: str) -> str:
    line = _ANSI.sub("", line).strip()
    return line if len(line) <= MAX_ERROR_LINE else line[: MAX_ERROR_LINE - 1] + "…"


def _provision_error(stdout: str) -> str | None:
    """From `provision --format json`: the first host error or failed task's message."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("hosts"), dict):
        return None
    for name, host in doc["hosts"].items():
        if not isinstance(host, dict):
            continue
        if host.get("error"):
            return f"{name}: {str(host['error']).strip().splitlines()[0]}"
        for task in host.get("tasks") or []:
            if isinstance(task, dict) and task.get("status") == "failed":
                message = str(task.get("message") or "failed").strip().splitlines() or ["failed"]
                return f"{name}: {task.get('name')}: {message[0]}"
    return None


def first_error_line(stdout: str, stderr: str) -> str:
    """The one line that says why a contestant's run failed: provision's JSON error, else
    the first line of stderr then stdout with an error word in it, else the last line of
    stderr or stdout."""
    found = _provision_error(stdout)
    if found:
        return _short(found)
    for text in (stderr, stdout):
        for raw in text.splitlines():
            line = _ANSI.sub("", raw).strip()
            if line and _ERROR_WORDS.search(line) and not _COUNTER.search(line):
                return _short(line)
    for text in (stderr, stdout):
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            return _short(lines[-1])
    return "(no output)"


# ------------------------------------------------------------------ inventories


def lab_hosts(inventory: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, address) of the docker_hosts group of the lab's YAML inventory."""
    group = inventory["all"]["children"]["docker_hosts"]["hosts"] or {}
    return [(name, (data or {}).get("ansible_host", name)) for name, data in group.items()]


def pyinfra_inventory(
    hosts: Sequence[tuple[str, str]],
    user: str,
    key: str,
    known_hosts: str,
    data: dict[str, str] | None = None,
) -> str:
    """A pyinfra inventory.py: group docker_hosts with strict host key checking; `data` is
    more group data (the deploy reads it as host.data)."""
    lines = [
        '"""pyinfra inventory of the container lab (written by bench/harness.py)."""',
        "",
        "docker_hosts = (",
        "    [",
    ]
    lines += [f"        ({name!r}, {{'ssh_hostname': {address!r}}})," for name, address in hosts]
    lines += [
        "    ],",
        "    {",
        f"        'ssh_user': {user!r},",
        f"        'ssh_key': {key!r},",
        f"        'ssh_known_hosts_file': {known_hosts!r},",
        "        'ssh_strict_host_key_checking': 'yes',",
        "        'ssh_look_for_keys': False,",
        "        'ssh_allow_agent': False,",
    ]
    lines += [f"        {name!r}: {value!r}," for name, value in (data or {}).items()]
    lines += [
        "    },",
        ")",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ targets of issue 6


def cell(results: dict[str, Any], tool: str, n: int, kind: str) -> dict[str, Any] | None:
    return results.get("cells", {}).get(tool, {}).get(str(n), {}).get(kind)


def median_of(results: dict[str, Any], tool: str, n: int, kind: str) -> float | None:
    found = cell(results, tool, n, kind)
    return None if found is None else found["seconds"]["median"]


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}{unit}" if unit == "s" else f"{value:.2f}{unit}"


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[ok]


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 6 with the measured figure and whether it is met."""
    ns = sorted(int(n) for n in results.get("hosts", []))
    big = max(ns) if ns else None
    small = min(ns) if ns else None
    out: list[dict[str, Any]] = []

    def add(name: str, figure: str, ok: bool | None, informational: bool = False) -> None:
        verdict = "informational" if informational else _verdict(ok)
        out.append({"target": name, "figure": figure, "met": ok, "verdict": verdict})

    for kind, label in (("warm", "Warm re-run"), ("dry", "Dry run (plan)")):
        worst_conn = worst_cmds = None
        for n in ns:
            found = cell(results, "provision", n, kind)
            if found is None or found.get("ssh") is None:
                continue
            conn = found["ssh"]["max_connections_per_host"]
            cmds = found["ssh"]["max_commands_per_host"]
            worst_conn = conn if worst_conn is None else max(worst_conn, conn)
            worst_cmds = cmds if worst_cmds is None else max(worst_cmds, cmds)
        ok = None if worst_conn is None else (worst_conn <= 1 and worst_cmds <= 2)
        add(
            f"{label}: ≤ 1 SSH connection and ≤ 2 remote commands per host (counted by sshd)",
            "n/a" if worst_conn is None else f"max {worst_conn} connection, {worst_cmds} commands",
            ok,
        )
        if big is None:
            continue
        ours = median_of(results, "provision", big, kind)
        floor = median_of(results, "floor", big, "warm")
        r = ratio(ours, floor)
        add(
            f"{label}: within 1.5× of the floor at N = {big}",
            "n/a" if r is None else f"{_fmt(ours)} vs floor {_fmt(floor)} = {r:.2f}×",
            None if r is None else r <= 1.5,
        )
        for peer, factor in (("pyinfra", 3.0), ("ansible", 10.0)):
            theirs = median_of(results, peer, big, kind)
            speedup = ratio(theirs, ours)
            add(
                f"{label}: ≥ {factor:g}× faster than {LABELS[peer]} at N = {big}",
                "n/a" if speedup is None else f"{_fmt(theirs)} / {_fmt(ours)} = {speedup:.1f}×",
                None if speedup is None else speedup >= factor,
            )
    figures, oks = [], []
    for n in ns:
        r = ratio(
            median_of(results, "provision", n, "cold"), median_of(results, "floor", n, "cold")
        )
        figures.append(f"N={n}: " + ("n/a" if r is None else f"{r:.2f}×"))
        oks.append(None if r is None else r <= 1.2)
    add(
        "Cold apply: within 1.2× of the plain-script floor at every N",
        ", ".join(figures) or "n/a",
        None if not oks or None in oks else all(oks),
    )
    if big is not None and small is not None and big != small:
        o1, o10 = (
            median_of(results, "provision", small, "warm"),
            median_of(results, "provision", big, "warm"),
        )
        f1, f10 = (
            median_of(results, "floor", small, "warm"),
            median_of(results, "floor", big, "warm"),
        )
        if None in (o1, o10, f1, f10):
            add(
                f"Scaling: warm N={big} within 2× of N={small} less the floor's growth", "n/a", None
            )
        else:
            assert o1 is not None and o10 is not None and f1 is not None and f10 is not None
            adjusted = o10 - (f10 - f1)
            add(
                f"Scaling: warm N={big} within 2× of N={small} less the floor's growth",
                f"{_fmt(o10)} − ({_fmt(f10)} − {_fmt(f1)}) = {_fmt(adjusted)} vs 2 × {_fmt(o1)}"
                f" = {_fmt(2 * o1)} ({adjusted / o1:.2f}×)",
                adjusted <= 2 * o1,
            )
    probe = results.get("probe_floor", {})
    figures = []
    for n in ns:
        on_host = (probe.get(str(n)) or {}).get("probe_seconds_max_host")
        r = ratio(median_of(results, "provision", n, "warm"), on_host)
        if r is not None:
            figures.append(f"N={n}: {r:.2f}× (probe on host {on_host:.2f}s)")
    add(
        "Warm re-run ÷ the probe timed on the host: close to 1 (informational)",
        ", ".join(figures) or "n/a",
        None,
        informational=True,
    )
    helps = results.get("cli_help_seconds")
    add(
        "`provision --help` under 0.3 s",
        "n/a" if helps is None else f"median {helps['median']:.3f}s",
        None if helps is None else helps["median"] < 0.3,
    )
    return out


# ------------------------------------------------------------------ tables


def _seconds_cell(found: dict[str, Any] | None) -> str:
    if found is None or found["seconds"]["median"] is None:
        return "—"
    s = found["seconds"]
    if s["n"] == 1:
        return f"{s['median']:.2f}"
    return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def results_table(results: dict[str, Any]) -> str:
    """Markdown table: one row per tool and N; seconds as median (min–max), ratios to floor."""
    head = (
        "| tool | N | cold s | warm s | dry s | warm ÷ floor | cold ÷ floor | CPU s warm | "
        "conn/host warm | sessions/host warm | commands/host warm | changes 2nd run |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for n in sorted(int(x) for x in results.get("hosts", [])):
        for tool in results.get("tools", TOOLS):
            cold, warm, dry = (cell(results, tool, n, k) for k in KINDS)
            if cold is None and warm is None and dry is None:
                continue
            warm_ratio = ratio(
                median_of(results, tool, n, "warm"), median_of(results, "floor", n, "warm")
            )
            cold_ratio = ratio(
                median_of(results, tool, n, "cold"), median_of(results, "floor", n, "cold")
            )
            ssh = (warm or {}).get("ssh") or {}
            second = (results["cells"][tool][str(n)].get("second_run") or {}).get("changes")
            rows.append(
                "| "
                + " | ".join(
                    [
                        LABELS.get(tool, tool),
                        str(n),
                        _seconds_cell(cold),
                        _seconds_cell(warm),
                        _seconds_cell(dry),
                        "—" if warm_ratio is None else f"{warm_ratio:.2f}×",
                        "—" if cold_ratio is None else f"{cold_ratio:.2f}×",
                        "—" if warm is None else f"{warm['cpu_seconds']['median']:.2f}",
                        _avg(ssh.get("mean_connections_per_host")),
                        _avg(ssh.get("mean_sessions_per_host")),
                        _avg(ssh.get("mean_commands_per_host")),
                        "—" if second is None else str(second),
                    ]
                )
                + " |"
            )
    return head + "\n".join(rows) + "\n"


def _avg(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['figure']} | {t['verdict']} |" for t in targets]
    return "\n".join(lines) + "\n"


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    """Replace what lies between the marker lines (kept); append both if missing."""
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        return f"{head}{begin}\n{body}{end}{tail}"
    return f"{text.rstrip()}\n\n{begin}\n{body}{end}\n"
