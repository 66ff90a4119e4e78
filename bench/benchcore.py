"""Pure parts of the benchmark: statistics, parsing each tool's output and the hosts' sshd
journal, the pyinfra inventory, and the targets of issue 6. No I/O here (unit-tested)."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TOOLS = ("floor", "provision", "pyinfra", "ansible", "ansible-mitogen", "ansible-defaults")
LABELS = {
    "floor": "floor (plain sh over ssh)",
    "provision": "provision",
    "pyinfra": "pyinfra",
    "ansible": "ansible-core (tuned)",
    "ansible-mitogen": "ansible-core + Mitogen",
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


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles (inclusive method: q1 = q3 = the value for one sample) and range."""
    if not values:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    ordered = sorted(values)
    if len(ordered) == 1:
        q1 = q3 = ordered[0]
    else:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "min": ordered[0],
        "max": ordered[-1],
    }


@dataclass(frozen=True)
class Pair:
    """One A/B pair of the paired harness: a contestant's run and the floor's run next to
    it (same hosts, same round, one right after the other)."""

    tool: str
    kind: str
    round: int
    seconds: float
    floor_seconds: float
    tool_first: bool

    @property
    def ratio(self) -> float | None:
        return ratio(self.seconds, self.floor_seconds)


def pair_order(tools: Sequence[str], round_index: int) -> list[tuple[str, ...]]:
    """The runs of one round of the paired harness: each contestant (in the order given)
    next to a floor run of its own, the floor first in even rounds and second in odd ones
    (so a drift within a pair cancels over the rounds). Without the floor: the tools one
    by one. The floor alone: one floor run."""
    others = [t for t in tools if t != "floor"]
    if "floor" not in tools:
        return [(t,) for t in others]
    if not others:
        return [("floor",)]
    if round_index % 2 == 0:
        return [("floor", t) for t in others]
    return [(t, "floor") for t in others]


def paired_ratios(pairs: Iterable[Pair], tool: str, kind: str) -> dict[str, Any]:
    """Spread of the pair-by-pair ratios tool ÷ floor of one kind of run (pairs whose
    floor took no time are left out)."""
    values = [r for p in pairs if p.tool == tool and p.kind == kind and (r := p.ratio) is not None]
    return spread(values)


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
    hosts: Sequence[tuple[str, str] | tuple[str, str, int]],
    user: str,
    key: str,
    known_hosts: str,
    data: dict[str, str] | None = None,
) -> str:
    """A pyinfra inventory.py: group docker_hosts with strict host key checking; hosts are
    (name, address) or (name, address, port); `data` is more group data (the deploy reads it
    as host.data)."""
    lines = [
        '"""pyinfra inventory of the container lab (written by bench/harness.py)."""',
        "",
        "docker_hosts = (",
        "    [",
    ]
    for name, address, *rest in hosts:
        port = f", 'ssh_port': {int(rest[0])!r}" if rest and int(rest[0]) != 22 else ""
        lines.append(f"        ({name!r}, {{'ssh_hostname': {address!r}{port}}}),")
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


#: the lab inventory's variables that name files relative to the inventory's folder
_PATH_VARS = ("ansible_ssh_private_key_file", "provision_known_hosts")


def routed_inventory(
    inventory: dict[str, Any],
    endpoints: dict[str, tuple[str, int]],
    base: str,
    known_hosts: str,
) -> dict[str, Any]:
    """A copy of the lab's YAML inventory that lists only the hosts in `endpoints`, each
    reached at its (address, port) there (the relay's 127.0.0.1 port, or the host itself),
    with the inventory's relative file paths made absolute against `base` (the original
    inventory's folder: the copy is written elsewhere) and known_hosts replaced."""
    doc = json.loads(json.dumps(inventory))  # a deep copy of plain YAML data
    variables = doc["all"].setdefault("vars", {}) or {}
    doc["all"]["vars"] = variables
    for name in _PATH_VARS:
        if isinstance(variables.get(name), str):
            variables[name] = _absolute(base, variables[name])
    if isinstance(variables.get("provision_vars_files"), list):
        variables["provision_vars_files"] = [
            _absolute(base, str(v)) for v in variables["provision_vars_files"]
        ]
    variables["provision_known_hosts"] = known_hosts
    group = doc["all"]["children"]["docker_hosts"]
    old = group.get("hosts") or {}
    unknown = sorted(set(endpoints) - set(old))
    if unknown:
        raise ValueError(f"hosts not in the inventory: {', '.join(unknown)}")
    hosts: dict[str, Any] = {}
    for name, data in old.items():
        if name not in endpoints:
            continue
        address, port = endpoints[name]
        entry = dict(data or {})
        entry["ansible_host"] = address
        if port != 22:
            entry["ansible_port"] = port
        else:
            entry.pop("ansible_port", None)
        hosts[name] = entry
    group["hosts"] = hosts
    return doc


def _absolute(base: str, path: str) -> str:
    if path.startswith("/"):
        return path
    return base.rstrip("/") + "/" + path


def routed_known_hosts(text: str, endpoints: dict[str, tuple[str, int]]) -> str:
    """known_hosts lines for the routed endpoints: each line whose host patterns name one
    of the addresses in `endpoints` (lab address → (address, port) it is reached at) again
    under `[address]:port` (ssh's and paramiko's name for a host on another port). Hashed
    names, markers and comments are not carried over."""
    out = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) < 3 or raw.lstrip().startswith(("#", "@", "|")):
            continue
        patterns = words[0].split(",")
        for address, (to_address, port) in endpoints.items():
            if address in patterns:
                name = to_address if port == 22 else f"[{to_address}]:{port}"
                out.append(f"{name} {words[1]} {words[2]}")
    return "\n".join(out) + ("\n" if out else "")


# ------------------------------------------------------------------ fleets


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least squares y = slope × x + intercept; None with fewer than 2 distinct x."""
    if len(xs) != len(ys) or len(set(xs)) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def growth_exponent(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """b of y ≈ a × x^b over the points (log-log least squares; 1 = linear). Only the
    positive points count; None with fewer than 2 distinct x."""
    import math

    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    fit = linear_fit([p[0] for p in points], [p[1] for p in points])
    return None if fit is None else fit[0]


def fleet_limit(
    mem_available_kib: int, per_host_kib: int, reserve_kib: int, max_hosts: int
) -> tuple[int, str]:
    """How many lab hosts this machine holds: memory available less a reserve, divided by
    what one running host takes, capped by the lab's own host limit; (limit, why)."""
    if per_host_kib <= 0:
        return max_hosts, f"the lab's limit ({max_hosts} hosts; memory per host not measured)"
    by_memory = max(0, (mem_available_kib - reserve_kib) // per_host_kib)
    if by_memory < max_hosts:
        return int(by_memory), (
            f"memory: ({mem_available_kib // 1024} MiB available − {reserve_kib // 1024} MiB"
            f" reserve) ÷ {per_host_kib // 1024} MiB per host = {by_memory}"
        )
    return max_hosts, (
        f"the lab's limit ({max_hosts} hosts, provision.lab.config.MAX_HOSTS); memory would"
        f" hold {by_memory}"
    )


def inotify_needed(hosts: int) -> int:
    """fs.inotify.max_user_instances for `hosts` lab containers: ~7 per host's systemd
    (measured: the default 128 ran out at the 19th host), doubled for margin, plus 256 for
    the rest of the machine."""
    return 256 + 16 * max(0, hosts)


#: the fleet runs, per N: (label, tool, kind, forks as a multiple of N or None)
FLEET_RUNS = (
    ("floor warm", "floor", "warm", None),
    ("provision warm", "provision", "warm", None),
    ("provision dry", "provision", "dry", None),
    ("provision warm, forks = N", "provision", "warm", 1),
    ("provision warm, forks = 4N", "provision", "warm", 4),
)


def fleet_summary(points: dict[int, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    """Per label: medians per N (seconds, CPU seconds, peak RSS MiB), the per-host slope of
    each (least squares over N) and the growth exponent (1 = linear). `points` maps N to
    label to the runs' {seconds, cpu_seconds, maxrss_kib}."""
    out: dict[str, Any] = {}
    labels = sorted({label for per_n in points.values() for label in per_n})
    for label in labels:
        ns = sorted(n for n in points if points[n].get(label))
        series: dict[str, list[float]] = {"seconds": [], "cpu_seconds": [], "peak_rss_mib": []}
        for n in ns:
            runs = points[n][label]
            series["seconds"].append(statistics.median(r["seconds"] for r in runs))
            series["cpu_seconds"].append(statistics.median(r["cpu_seconds"] for r in runs))
            series["peak_rss_mib"].append(max(r["maxrss_kib"] for r in runs) / 1024)
        entry: dict[str, Any] = {"n": ns, **series}
        for key, ys in series.items():
            fit = linear_fit(ns, ys)
            entry[f"{key}_per_host"] = None if fit is None else fit[0]
            entry[f"{key}_intercept"] = None if fit is None else fit[1]
            entry[f"{key}_exponent"] = growth_exponent(ns, ys)
        out[label] = entry
    return out


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
    for kind, label in (("warm", "Warm re-run"), ("dry", "Dry run (plan)")):
        figures, oks = [], []
        for n in ns:
            r = paired_median(results, "provision", n, kind)
            limit = 1.3 if n == 1 else 1.2
            figures.append(f"N={n}: " + ("n/a" if r is None else f"{r:.2f}× (≤ {limit:g}×)"))
            oks.append(None if r is None else r <= limit)
        add(
            f"{label}, paired: ≤ 1.3× the floor at N = 1, ≤ 1.2× at larger N (issue 15)",
            ", ".join(figures) or "n/a",
            None if not oks or None in oks else all(oks),
        )
    figures, oks = [], []
    for n in ns:
        r = ratio(
            median_of(results, "provision", n, "cold"), median_of(results, "floor", n, "cold")
        )
        figures.append(f"N={n}: " + ("n/a" if r is None else f"{r:.2f}×"))
        oks.append(None if r is None else r <= 1.1)
    add(
        "Cold apply: ≤ 1.1× the cold floor at every N (issue 15)",
        ", ".join(figures) or "n/a",
        None if not oks or None in oks else all(oks),
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


def paired_median(results: dict[str, Any], tool: str, n: int, kind: str) -> float | None:
    """The median of the pair-by-pair ratios tool ÷ floor (None: not measured paired)."""
    found = cell(results, tool, n, kind)
    paired = (found or {}).get("paired") or {}
    return paired.get("median")


def ratio_cell(paired: dict[str, Any] | None, fallback: float | None = None) -> str:
    """A paired ratio as "median× (q1–q3)"; a ratio of medians (older results) as "r×"."""
    if paired and paired.get("median") is not None:
        if paired["n"] == 1:
            return f"{paired['median']:.2f}×"
        return f"{paired['median']:.2f}× ({paired['q1']:.2f}–{paired['q3']:.2f})"
    return "—" if fallback is None else f"{fallback:.2f}×"


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
        "| tool | N | cold s | warm s | dry s | warm ÷ floor | dry ÷ floor | cold ÷ floor | "
        "CPU s warm | conn/host warm | sessions/host warm | commands/host warm | "
        "changes 2nd run |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
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
            dry_ratio = ratio(
                median_of(results, tool, n, "dry"), median_of(results, "floor", n, "warm")
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
                        "1.00×"
                        if tool == "floor"
                        else ratio_cell((warm or {}).get("paired"), warm_ratio),
                        "1.00×"
                        if tool == "floor"
                        else ratio_cell((dry or {}).get("paired"), dry_ratio),
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


# ------------------------------------------------------------------ latency and fleet tables


def latency_table(latency: dict[str, Any]) -> str:
    """One row per tool: for each RTT its warm seconds and the paired ratios to the floor."""
    rtts = [f"{r:g}" for r in latency.get("rtts_ms", [])]
    head = "| tool | " + " | ".join(
        f"{r} ms: warm s | {r} ms: warm ÷ floor | {r} ms: dry ÷ floor" for r in rtts
    )
    lines = [head + " |", "|---|" + "---:|---:|---:|" * len(rtts)]
    tools: list[str] = []
    for r in rtts:
        for tool in latency["rtt"].get(r, {}).get("cells", {}):
            if tool not in tools:
                tools.append(tool)
    for tool in sorted(tools, key=lambda t: TOOLS.index(t) if t in TOOLS else 99):
        row = [LABELS.get(tool, tool)]
        for r in rtts:
            cells = latency["rtt"].get(r, {}).get("cells", {}).get(tool, {})
            warm, dry = cells.get("warm"), cells.get("dry")
            row.append(_seconds_cell(warm))
            if tool == "floor":
                row += ["1.00×", "1.00×"]
            else:
                row.append(ratio_cell((warm or {}).get("paired")))
                row.append(ratio_cell((dry or {}).get("paired")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def relay_check_table(latency: dict[str, Any]) -> str:
    lines = [
        "| RTT set | echo RTT through the relay (loopback) | added | ssh no-op direct | "
        "ssh no-op through the relay | added |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r, found in latency.get("rtt", {}).items():
        c = found.get("check") or {}
        if not c:
            continue
        lines.append(
            f"| {r} ms | {c['echo_rtt_relayed'] * 1000:.1f} ms | "
            f"{c['added_rtt'] * 1000:.1f} ms | {c['ssh_noop_direct']:.3f} s | "
            f"{c['ssh_noop_relayed']:.3f} s | "
            f"{(c['ssh_noop_relayed'] - c['ssh_noop_direct']) * 1000:.0f} ms |"
        )
    return "\n".join(lines) + "\n"


def fleet_table(fleet: dict[str, Any]) -> str:
    """Per run kind: median wall, CPU and peak RSS at each N, the per-host slope of each and
    the growth exponent (1 = linear)."""
    summary = fleet.get("summary") or {}
    ns = fleet.get("hosts", [])
    head = "| run | " + " | ".join(f"N={n}" for n in ns) + " | per host | exponent |"
    lines = [head, "|---|" + "---:|" * len(ns) + "---:|---:|"]
    order = [label for label, *_ in FLEET_RUNS if label in summary]
    for key, unit, scale in (
        ("seconds", "s", 1.0),
        ("cpu_seconds", "CPU s", 1.0),
        ("peak_rss_mib", "MiB", 1.0),
    ):
        for label in order:
            entry = summary[label]
            by_n = dict(zip(entry["n"], entry[key], strict=True))
            cells = ["—" if n not in by_n else _num(by_n[n] * scale, key) for n in ns]
            slope = entry.get(f"{key}_per_host")
            exponent = entry.get(f"{key}_exponent")
            lines.append(
                f"| {label}: {unit} | "
                + " | ".join(cells)
                + f" | {'—' if slope is None else _num(slope, key, per_host=True)} | "
                + ("—" if exponent is None else f"{exponent:.2f}")
                + " |"
            )
    return "\n".join(lines) + "\n"


def _num(value: float, key: str, per_host: bool = False) -> str:
    if key == "peak_rss_mib":
        return f"{value:.1f}" if per_host else f"{value:.0f}"
    return f"{value:.3f}" if per_host else f"{value:.2f}"
