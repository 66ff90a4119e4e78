#!/usr/bin/env python3
"""The benchmark of issue 6: the Docker-host workload in provision, ansible-core (tuned and
defaults), pyinfra and a plain-shell floor, on the container lab, for N hosts.

Per N: for each tool (order rotated per N) fresh hosts (`lab down --wipe; lab up`), a cold
apply, then the tool's second run, which must report zero changes. Then, on the converged
hosts, rounds of warm re-runs and of dry runs, alternating tools within each round; every
one of them must report zero changes too (so the five workloads end in the same state).
SSH connections and remote commands are counted on the hosts, from sshd's journal
(LogLevel VERBOSE), in the time window of each run. Writes bench/results/latest.json, then
bench/report.py writes the plot and the table in docs/performance.md.

Any failed run of any contestant stops the benchmark with the tool, the run, its exit code
and its first error line, and nothing is written from that run (no results, no plot).

Run it through bench/run (which installs what it needs); as root (the lab needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchcore  # noqa: E402
import relay  # noqa: E402

from provision.facts.openpgp import normalise_fingerprint, valid_fingerprint  # noqa: E402
from provision.lab.config import MAX_HOSTS, host_address, host_name  # noqa: E402
from provision.lab.inventory import VARS_NAME, inventory_for, secret_dir  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
PROVISION = BIN / "provision"
PLAYBOOK = ROOT / "playbooks" / "docker-host.yml"
#: what `provision lab --inventory` is given; `lab up` names the inventory of the hosts it
#: booted (this file for rocky1..3, else .lab/inventory.yml beside it): see `fresh`
LAB_INVENTORY = WORK / "lab.yml"
INVENTORY = LAB_INVENTORY
PYINFRA_INVENTORY = WORK / "pyinfra_inventory.py"
#: what `lab up` writes beside the inventory and provision reads through the inventory's
#: provision_vars_files (the lab image's docker-ce key fingerprint): the peers get it from here
LAB_VARS = secret_dir(LAB_INVENTORY) / VARS_NAME
USER = "rocky"
SSH_OPTS = [
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ControlMaster=no",
    "-o",
    "ControlPath=none",
    "-o",
    "ConnectTimeout=10",
]
VERBOSE_DROP_IN = "/etc/ssh/sshd_config.d/00-bench-loglevel.conf"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_quiet(argv: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)


# ------------------------------------------------------------------ the lab


def lab_gpg_fingerprint() -> str:
    """The pinned docker-ce key fingerprint from the lab's vars file (40 or 64 hex digits)."""
    try:
        raw = (yaml.safe_load(LAB_VARS.read_text()) or {}).get("docker_gpg_fingerprint")
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise SystemExit(f"cannot read docker_gpg_fingerprint from {LAB_VARS}: {exc}") from exc
    fingerprint = normalise_fingerprint(str(raw or ""))
    if not valid_fingerprint(fingerprint):
        raise SystemExit(f"{LAB_VARS}: docker_gpg_fingerprint is not a full fingerprint: {raw!r}")
    return fingerprint


@dataclass
class Route:
    """How the contestants reach the hosts when not directly at their lab addresses: a
    generated inventory (provision, ansible), pyinfra inventory and known_hosts, and the
    (address, port) of every host, in the lab's order — the latency relay's 127.0.0.1
    ports, or a subset of the hosts (fleets)."""

    label: str
    inventory: Path
    pyinfra_inventory: Path
    known_hosts: Path
    endpoints: list[tuple[str, int]]

    @property
    def targets(self) -> list[str]:
        """ADDRESS or ADDRESS:PORT, as bench/floor/ssh-all.sh takes them."""
        return [a if p == 22 else f"{a}:{p}" for a, p in self.endpoints]


@dataclass
class Lab:
    hosts: list[tuple[str, str]] = field(default_factory=list)
    route: Route | None = None
    forks: int | None = None  # provision --forks (fleets)

    @property
    def key(self) -> Path:
        return WORK / ".lab" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return WORK / ".lab" / "known_hosts"

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.hosts]

    @property
    def addresses(self) -> list[str]:
        return [address for _, address in self.hosts]

    def lab(self, *words: str) -> None:
        proc = run_quiet([PROVISION, "lab", *words, "--inventory", LAB_INVENTORY])
        if proc.returncode != 0:
            raise SystemExit(f"provision lab {' '.join(words)} failed:\n{proc.stdout}{proc.stderr}")

    def fresh(self, n: int) -> float:
        """Fresh hosts: down --wipe, up --hosts n. Returns the seconds it took."""
        started = time.monotonic()
        self.lab("down", "--wipe")
        self.lab("up", "--hosts", str(n))
        global INVENTORY
        INVENTORY = inventory_for(
            LAB_INVENTORY, [(host_name(i), host_address(i)) for i in range(1, n + 1)]
        )
        self.hosts = benchcore.lab_hosts(yaml.safe_load(INVENTORY.read_text()))
        data = {"docker_gpg_fingerprint": lab_gpg_fingerprint()}
        PYINFRA_INVENTORY.write_text(
            benchcore.pyinfra_inventory(
                self.hosts, USER, str(self.key), str(self.known_hosts), data
            )
        )
        self.verbose_sshd()
        return time.monotonic() - started

    def down(self) -> None:
        self.lab("down", "--wipe")

    def ssh(self, address: str, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        proc = subprocess.run(
            [
                "ssh",
                "-i",
                str(self.key),
                "-o",
                f"UserKnownHostsFile={self.known_hosts}",
                *SSH_OPTS,
                f"{USER}@{address}",
                command,
            ],
            input=stdin or "",
            capture_output=True,
            text=True,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def on_all(self, command: str, stdin: str | None = None) -> dict[str, tuple[int, str, str]]:
        with ThreadPoolExecutor(max_workers=max(1, len(self.hosts))) as pool:
            answers = pool.map(lambda h: self.ssh(h[1], command, stdin), self.hosts)
            return dict(zip(self.names, answers, strict=True))

    def verbose_sshd(self) -> None:
        """LogLevel VERBOSE (sshd then logs every session with its kind) via a drop-in that
        sshd_config includes first; reload sshd; check with `sshd -T`."""
        script = (
            "grep -q '^Include /etc/ssh/sshd_config.d/' /etc/ssh/sshd_config || exit 3\n"
            f"echo 'LogLevel VERBOSE' > {VERBOSE_DROP_IN}\n"
            "systemctl reload sshd\n"
            "sshd -T | grep -i '^loglevel'\n"
        )
        for name, (rc, out, err) in self.on_all("sudo -n sh -s", script).items():
            if rc != 0 or "VERBOSE" not in out.upper():
                raise SystemExit(f"{name}: could not set sshd LogLevel VERBOSE: {out}{err}")

    def journal(self, since: float) -> list[benchcore.JournalLine]:
        command = f"sudo -n journalctl -t sshd -o short-unix --no-pager --since @{int(since) - 1}"
        lines: list[benchcore.JournalLine] = []
        for name, (rc, out, err) in self.on_all(command).items():
            if rc != 0:
                raise SystemExit(f"{name}: journalctl failed: {err}")
            lines += benchcore.parse_journal(name, out)
        return lines


# ------------------------------------------------------------------ the tools


@dataclass
class Outcome:
    tool: str
    kind: str
    seconds: float
    cpu_seconds: float
    rc: int
    ok: bool
    changes: int | None
    start: float
    end: float
    tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    ssh: dict[str, dict[str, int]] | None = None
    error: str = ""  # the first error line of a failed run

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
            "rc": self.rc,
            "ok": self.ok,
            "changes": self.changes,
            "start": self.start,
            "end": self.end,
            "ssh": self.ssh,
            **({"tail": self.tail} if not self.ok else {}),
            **self.extra,
        }


class ContestantFailed(Exception):
    """A contestant's run failed: the benchmark stops and writes no results."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.tool} {outcome.kind} run failed (exit {outcome.rc})")
        self.outcome = outcome

    def message(self, n: int | None, out: Path) -> str:
        o = self.outcome
        where = f" at N = {n}" if n is not None else ""
        return (
            f"bench stopped: {o.tool} failed its {o.kind} run{where} (exit {o.rc}): {o.error}\n"
            f"no results written from this run: {out}, its plot and docs/performance.md are"
            " as they were. Fix the failure (the output above) and run the benchmark again."
        )


Parser = Callable[[int, str], tuple[bool, int | None, dict[str, Any]]]


def _floor_parse(rc: int, out: str) -> tuple[bool, int | None, dict[str, Any]]:
    return rc == 0, (0 if rc == 0 else None), {}


def _provision_parse(kind: str) -> Parser:
    def parse(rc: int, out: str) -> tuple[bool, int | None, dict[str, Any]]:
        try:
            doc = json.loads(out)
        except ValueError:
            return False, None, {}
        hosts = doc.get("hosts", {})
        extra = {
            "host_seconds_max": max((h.get("duration", 0) for h in hosts.values()), default=0),
            "probe_seconds_max": max(
                (h.get("probe_seconds") or 0 for h in hosts.values()), default=0
            ),
            "reported_connections": sum(h.get("connections", 0) for h in hosts.values()),
            "reported_remote_commands": sum(h.get("remote_commands", 0) for h in hosts.values()),
        }
        ok = rc == 0 or (kind == "dry" and rc == 4)
        return ok, benchcore.provision_changes(doc), extra

    return parse


def _pyinfra_parse(kind: str) -> Parser:
    def parse(rc: int, out: str) -> tuple[bool, int | None, dict[str, Any]]:
        if kind == "dry":
            changes = benchcore.pyinfra_dry_changes(out)
        else:
            changes = benchcore.pyinfra_applied_changes(out)
        return rc == 0 and changes is not None, changes, {}

    return parse


def _ansible_parse(rc: int, out: str) -> tuple[bool, int | None, dict[str, Any]]:
    recap = benchcore.ansible_recap(out)
    if not recap:
        return False, None, {}
    bad = any(h["failed"] or h["unreachable"] for h in recap.values())
    return rc == 0 and not bad, sum(h["changed"] for h in recap.values()), {}


@dataclass
class Invocation:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    parse: Parser
    cleanup: Callable[[], None] = lambda: None


def invocation(tool: str, kind: str, lab: Lab) -> Invocation:
    env = contestant_env()
    route = lab.route
    known_hosts = route.known_hosts if route else lab.known_hosts
    inventory = route.inventory if route else INVENTORY
    targets = route.targets if route else lab.addresses
    access = [str(lab.key), str(known_hosts), USER, *targets]
    if tool == "floor":
        script = BENCH / "floor" / ("cold.sh" if kind == "cold" else "warm.sh")
        argv = ["bash", str(script), lab_gpg_fingerprint(), *access]
        return Invocation(argv, ROOT, env, _floor_parse)
    if tool == "provision":
        words = ["plan"] if kind == "dry" else ["apply"]
        argv = [str(PROVISION), *words, str(inventory), "-p", str(PLAYBOOK), "--format", "json"]
        argv += ["--forks", str(lab.forks)] if lab.forks else []
        return Invocation(argv, ROOT, env, _provision_parse(kind))
    if tool == "pyinfra":
        argv = [str(BIN / "pyinfra"), "--sudo"]
        argv += ["--dry"] if kind == "dry" else ["-y"]
        argv += [str(route.pyinfra_inventory if route else PYINFRA_INVENTORY)]
        argv += [str(BENCH / "pyinfra" / "deploy.py")]
        return Invocation(argv, WORK, env, _pyinfra_parse(kind))
    if tool in ("ansible", "ansible-defaults", "ansible-mitogen"):
        control = Path(tempfile.mkdtemp(prefix="cp-", dir=WORK))
        cfg = "defaults.cfg" if tool == "ansible-defaults" else "ansible.cfg"
        env.update(
            ANSIBLE_CONFIG=str(BENCH / "ansible" / cfg),
            ANSIBLE_SSH_COMMON_ARGS=(
                f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes"
            ),
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(control),
            ANSIBLE_HOME=str(WORK / "ansible-home"),
            ANSIBLE_NOCOLOR="1",
        )
        if tool == "ansible-mitogen":
            env.update(mitogen_env())
        argv = [str(BIN / "ansible-playbook"), "-i", str(inventory)]
        argv += ["-e", f"@{LAB_VARS}", str(BENCH / "ansible" / "docker-host.yml")]
        argv += ["--check", "--diff"] if kind == "dry" else []

        def close_masters() -> None:
            for sock in control.iterdir():
                run_quiet(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "lab"])
            shutil.rmtree(control, ignore_errors=True)

        # the inventory's key path is relative to it (.lab/id_ed25519 in lab.yml, id_ed25519
        # in the .lab/inventory.yml of other hosts) and ansible reads it from the cwd: run beside it
        return Invocation(argv, inventory.parent, env, _ansible_parse, close_masters)
    raise ValueError(f"unknown tool {tool}")


def contestant_env() -> dict[str, str]:
    """The environment every contestant runs in: this one without PYTHONSTARTUP and
    without PYTHONDONTWRITEBYTECODE (set on some CI machines and sandboxes: with it and an
    editable install, every provision run compiled its ~70 modules from source, ~0.07 s a
    run; a user's install has bytecode — see compile_bytecode)."""
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode() -> str:
    """Byte-compile provision's sources once, before anything is measured (pip does it for
    the peers' installed packages; the editable install of provision has none)."""
    proc = run_quiet([sys.executable, "-m", "compileall", "-q", ROOT / "src"], env=contestant_env())
    if proc is not None and proc.returncode != 0:
        raise SystemExit(f"compileall src failed:\n{proc.stdout}{proc.stderr}")
    return "src/ byte-compiled before the run (python -m compileall)"


def mitogen_env() -> dict[str, str]:
    """ansible-core with Mitogen's strategy plugin (the tuned ansible.cfg otherwise):
    ANSIBLE_STRATEGY_PLUGINS at the installed `ansible_mitogen`, strategy mitogen_linear."""
    try:
        import ansible_mitogen  # type: ignore[import-not-found]
    except ImportError as exc:
        raise SystemExit(f"ansible-mitogen: the mitogen package is not installed: {exc}")
    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


#: GNU time, when the machine has it: the measured command is forked from it (a ~2 MiB
#: process), not from this harness — a child's ru_maxrss counts the memory of the process
#: it was forked from until its exec, so a command forked from the harness never shows
#: less than the harness's own RSS (~30-70 MiB)
GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system of the command and its waited-for descendants
    maxrss_kib: int  # the peak RSS of the largest of them
    method: str  # "GNU time" or "wait4"


def parse_gnu_time(text: str) -> tuple[float, int] | None:
    """`/usr/bin/time -f '%U %S %M'` output (its last line): (CPU seconds, max RSS KiB)."""
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        user, system, rss = lines[-1].split()
        return float(user) + float(system), int(rss)
    except (IndexError, ValueError):
        return None


def run_with_rusage(
    argv: Sequence[str], cwd: Path, env: dict[str, str]
) -> tuple[int, str, str, Usage]:
    """Run a command to its end; (exit code, stdout, stderr, its CPU and peak RSS), through
    GNU time when present, else from wait4 (then the RSS is at least the harness's)."""
    usage_file: Path | None = None
    if GNU_TIME.exists():
        fd, name = tempfile.mkstemp(prefix="usage-", suffix=".txt")
        os.close(fd)
        usage_file = Path(name)
        argv = [str(GNU_TIME), "--quiet", "-f", "%U %S %M", "-o", name, *argv]
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    chunks: dict[str, bytes] = {}

    def read(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=read, args=("out", proc.stdout)),
        threading.Thread(target=read, args=("err", proc.stderr)),
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    out = chunks.get("out", b"").decode("utf-8", errors="replace")
    err = chunks.get("err", b"").decode("utf-8", errors="replace")
    usage = Usage(rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss, "wait4")
    if usage_file is not None:
        parsed = parse_gnu_time(usage_file.read_text(errors="replace"))
        usage_file.unlink(missing_ok=True)
        if parsed is not None:
            usage = Usage(parsed[0], parsed[1], "GNU time")
    return proc.returncode, out, err, usage


def measure(tool: str, kind: str, lab: Lab) -> Outcome:
    inv = invocation(tool, kind, lab)
    start = time.time()
    started = time.perf_counter()
    rc, stdout, stderr, usage = run_with_rusage(inv.argv, inv.cwd, inv.env)
    seconds = time.perf_counter() - started
    end = time.time()
    inv.cleanup()
    cpu = usage.cpu_seconds
    # provision's JSON is on stdout; pyinfra logs its tables to stderr
    text = stdout if tool == "provision" else stdout + "\n" + stderr
    ok, changes, extra = inv.parse(rc, text)
    extra["maxrss_kib"] = usage.maxrss_kib
    extra["usage_method"] = usage.method
    tail = "\n".join((stdout + stderr).strip().splitlines()[-25:])
    outcome = Outcome(tool, kind, seconds, cpu, rc, ok, changes, start, end, tail, extra)
    status = "ok" if ok else f"FAILED (exit {rc})"
    where = f" [{lab.route.label}]" if lab.route else ""
    forks = f" forks {lab.forks}" if lab.forks else ""
    log(
        f"  {tool:17} {kind:5} {seconds:7.2f}s  cpu {cpu:5.2f}s  rss"
        f" {usage.maxrss_kib // 1024:4d}M  changes {changes}  {status}{where}{forks}"
    )
    if not ok:
        log("    " + tail.replace("\n", "\n    "))
        outcome.error = benchcore.first_error_line(stdout, stderr)
        raise ContestantFailed(outcome)
    return outcome


def attribute(outcomes: Sequence[Outcome], lines: list[benchcore.JournalLine], lab: Lab) -> None:
    for outcome in outcomes:
        outcome.ssh = benchcore.per_host_counts(lines, lab.names, outcome.start, outcome.end)


def aggregate(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    ssh_runs = [o.ssh for o in outcomes if o.ssh]
    ssh: dict[str, Any] | None = None
    if ssh_runs:
        ssh = {}
        for key in ("connections", "sessions", "commands"):
            values = [per_host[key] for run in ssh_runs for per_host in run.values()]
            ssh[f"mean_{key}_per_host"] = sum(values) / len(values)
            ssh[f"max_{key}_per_host"] = max(values)
            ssh[f"min_{key}_per_host"] = min(values)
    good = [o for o in outcomes if o.ok]
    return {
        "seconds": benchcore.summarize([o.seconds for o in good]),
        "cpu_seconds": benchcore.summarize([o.cpu_seconds for o in good]),
        "failed_runs": len(outcomes) - len(good),
        "nonzero_changes": [o.changes for o in outcomes if o.kind != "cold" and o.changes != 0],
        "ssh": ssh,
        "runs": [o.as_dict() for o in outcomes],
    }


# ------------------------------------------------------------------ the host-side floor


def probe_floor(lab: Lab, runs: int) -> dict[str, Any]:
    """provision's own probe script for this playbook, timed ON the hosts (all hosts at
    once, as in a run), and `dnf -q check-update` alone."""
    from provision.execution.runner import _facts_of
    from provision.facts.probe import probe_script
    from provision.project.compile import compile_run

    compiled = compile_run(INVENTORY, PLAYBOOK)
    host_play = compiled.plays[0][1][0]
    script, _ = probe_script(_facts_of(host_play.tasks + host_play.handlers))
    timed = "sudo -n bash -c 'TIMEFORMAT=\"%R %U %S\"; { time {CMD} >/dev/null 2>&1; } 2>&1'"
    result: dict[str, Any] = {}
    for label, command, stdin in (
        ("probe", "sh -s", script),
        ("check_update", "dnf -q check-update", None),
    ):
        per_host: dict[str, list[float]] = {name: [] for name in lab.names}
        cpu: list[float] = []
        for _ in range(runs):
            for name, (_rc, out, err) in lab.on_all(timed.replace("{CMD}", command), stdin).items():
                try:
                    real, user, system = (float(x) for x in out.strip().splitlines()[-1].split())
                except (ValueError, IndexError):
                    raise SystemExit(f"{name}: could not time {label}: {out}{err}")
                per_host[name].append(real)
                cpu.append(user + system)
        medians = [benchcore.summarize(v)["median"] for v in per_host.values()]
        result[f"{label}_seconds_max_host"] = max(medians)
        result[f"{label}_seconds_mean_host"] = sum(medians) / len(medians)
        result[f"{label}_cpu_seconds_per_host"] = benchcore.summarize(cpu)["median"]
        result[f"{label}_per_host"] = {k: benchcore.summarize(v) for k, v in per_host.items()}
    result["facts"] = script.count("&\n") + 1
    result["probe_bytes"] = len(script.encode())
    return result


def profile_provision(lab: Lab, n: int) -> str | None:
    """pyinstrument over one warm `provision apply` (outside every measured window)."""
    if not (BIN / "pyinstrument").exists():
        return None
    out = WORK / f"profile-warm-n{n}.txt"  # moved to results/ with the results
    argv = [str(BIN / "pyinstrument"), "-r", "text", "--show-all", "-o", str(out)]
    argv += [str(PROVISION), "apply", str(INVENTORY), "-p", str(PLAYBOOK), "--format", "json"]
    proc = run_quiet(argv, cwd=ROOT, env=contestant_env())
    if proc.returncode != 0 or not out.exists():
        log(f"  profile failed: {proc.stderr[-400:]}")
        return None
    return out.name


def cprofile_provision(lab: Lab, n: int) -> list[str]:
    """bench/profile_run.py (cProfile, every thread) over one warm `provision apply`, outside
    every measured window: the names of its phase table (.txt) and figures (.json)."""
    prefix = WORK / f"cprofile-warm-n{n}"
    argv = [sys.executable, str(BENCH / "profile_run.py"), str(prefix), "--"]
    argv += ["apply", str(INVENTORY), "-p", str(PLAYBOOK), "--format", "json"]
    proc = run_quiet(argv, cwd=ROOT, env=contestant_env())
    names = [prefix.with_suffix(".txt").name, prefix.with_suffix(".json").name]
    if proc is None or proc.returncode != 0 or not (WORK / names[0]).exists():
        log(f"  cProfile failed: {'' if proc is None else proc.stderr[-400:]}")
        return []
    # the same phases timed without a profiler: 3 runs, the one of median length kept
    timed: list[tuple[float, Path]] = []
    for index in range(3):
        out = WORK / f"timers-warm-n{n}-{index}"
        argv = [sys.executable, str(BENCH / "profile_run.py"), "--timers", str(out), "--"]
        argv += ["apply", str(INVENTORY), "-p", str(PLAYBOOK), "--format", "json"]
        proc = run_quiet(argv, cwd=ROOT, env=contestant_env())
        if proc is None or proc.returncode != 0 or not out.with_suffix(".json").exists():
            return names
        total = json.loads(out.with_suffix(".json").read_text())["in_process_seconds"]
        timed.append((total, out))
    timed.sort()
    keep = WORK / f"timers-warm-n{n}"
    for suffix in (".txt", ".json"):
        timed[1][1].with_suffix(suffix).replace(keep.with_suffix(suffix))
    for _, out in (timed[0], timed[2]):
        for suffix in (".txt", ".json"):
            out.with_suffix(suffix).unlink(missing_ok=True)
    return [*names, keep.with_suffix(".txt").name, keep.with_suffix(".json").name]


# ------------------------------------------------------------------ routes: relay, subsets


def make_route(lab: Lab, label: str, endpoints: dict[str, tuple[str, int]]) -> Route:
    """Write the inventories and known_hosts that reach the hosts named in `endpoints` at
    (address, port) — under bench/.work/routes/LABEL/ (git-ignored)."""
    folder = WORK / "routes" / label
    folder.mkdir(parents=True, exist_ok=True)
    by_address = dict(lab.hosts)
    known = benchcore.routed_known_hosts(
        lab.known_hosts.read_text(), {by_address[name]: to for name, to in endpoints.items()}
    )
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(known)
    doc = benchcore.routed_inventory(
        yaml.safe_load(INVENTORY.read_text()),
        endpoints,
        str(INVENTORY.parent),
        str(known_hosts),
    )
    # provision reads provision_vars_files only relative to the inventory: copies beside it
    variables = doc["all"]["vars"]
    copies = []
    for index, source in enumerate(variables.get("provision_vars_files") or []):
        copy = folder / f"vars-{index}-{Path(source).name}"
        shutil.copyfile(source, copy)
        copies.append(copy.name)
    if copies:
        variables["provision_vars_files"] = copies
    inventory = folder / "inventory.yml"
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))
    pyinfra = folder / "pyinfra_inventory.py"
    hosts = [(name, *endpoints[name]) for name in lab.names if name in endpoints]
    data = {"docker_gpg_fingerprint": lab_gpg_fingerprint()}
    pyinfra.write_text(
        benchcore.pyinfra_inventory(hosts, USER, str(lab.key), str(known_hosts), data)
    )
    ordered = [endpoints[name] for name in lab.names if name in endpoints]
    return Route(label, inventory, pyinfra, known_hosts, ordered)


def ssh_noop_seconds(lab: Lab, address: str, port: int, known_hosts: Path, runs: int) -> float:
    """Median wall time of `ssh -p PORT rocky@ADDRESS true` (a full connection: TCP, key
    exchange, authentication, one exec)."""
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = run_quiet(
            ["ssh", "-i", lab.key, "-o", f"UserKnownHostsFile={known_hosts}", *SSH_OPTS,
             "-p", str(port), f"{USER}@{address}", "true"]
        )  # fmt: skip
        values.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"ssh no-op to {address}:{port} failed: {proc.stderr.strip()}")
    return float(benchcore.summarize(values)["median"])


def converge(lab: Lab, what: str, forks: int | None = None) -> None:
    """An unmeasured provision apply over the lab's inventory; it must succeed. `forks`
    bounds the fresh hosts converging at once (50 dnf transactions at once on 2 cores
    failed the first fleet record run); a second apply converges what the first left."""
    started = time.monotonic()
    argv = [PROVISION, "apply", INVENTORY, "-p", PLAYBOOK]
    if forks:
        argv += ["--forks", str(forks)]
    for attempt in (1, 2):
        proc = run_quiet(argv, cwd=ROOT)
        if proc.returncode == 0:
            break
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-12:]
        log(f"  {what}: converging apply {attempt} exited {proc.returncode}: " + " | ".join(tail))
    else:
        raise SystemExit(
            f"{what}: provision apply (converging the hosts) failed twice, exit "
            f"{proc.returncode}: " + " | ".join(tail)
        )
    log(f"  {what}: hosts converged in {time.monotonic() - started:.1f}s (not measured)")


def bench_latency(
    n: int, rtts_ms: Sequence[float], tools: Sequence[str], runs: int, slow_runs: int, lab: Lab
) -> dict[str, Any]:
    """The same contestants on the same N hosts through the delay relay at each RTT (0 =
    the relay without delay, so its own cost is in every column); paired rounds as above."""
    log(f"latency: N = {n}, RTT {', '.join(f'{r:g} ms' for r in rtts_ms)} added by the relay")
    up = lab.fresh(n)
    log(f"  fresh hosts in {up:.1f}s")
    converge(lab, "latency")
    out: dict[str, Any] = {"hosts": n, "rtts_ms": list(rtts_ms), "method": "relay", "rtt": {}}
    direct = ssh_noop_seconds(lab, lab.addresses[0], 22, lab.known_hosts, 3)
    for index, rtt_ms in enumerate(rtts_ms):
        delay = relay.DelayRelay([(address, 22) for address in lab.addresses], rtt_ms / 1000)
        ports = delay.start()
        try:
            label = f"rtt{rtt_ms:g}ms"
            local = dict(zip(lab.names, ports, strict=True))
            lab.route = make_route(lab, label, {k: ("127.0.0.1", p) for k, p in local.items()})
            check = relay.self_check(rtt_ms / 1000)
            relayed = ssh_noop_seconds(lab, "127.0.0.1", ports[0], lab.route.known_hosts, 3)
            check.update(ssh_noop_direct=direct, ssh_noop_relayed=relayed)
            log(
                f"  relay {rtt_ms:g} ms: echo RTT added {check['added_rtt'] * 1000:.1f} ms;"
                f" ssh no-op {direct:.3f}s direct, {relayed:.3f}s through the relay"
            )
            outcomes, pairs = paired_rounds(tools, runs, slow_runs, index, lab, label)
        finally:
            lab.route = None
            delay.stop()
        cells: dict[str, Any] = {}
        for (tool, kind), measured in outcomes.items():
            cells.setdefault(tool, {})[kind] = aggregate(measured)
            cells[tool][kind]["paired"] = benchcore.paired_ratios(pairs, tool, kind)
        out["rtt"][f"{rtt_ms:g}"] = {"check": check, "cells": cells}
    return out


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


#: memory kept free on the machine when sizing a fleet, and what one running lab host is
#: assumed to take before it is measured (LAB-NOTES: 3 hosts ~640 MB, plus a Docker engine)
FLEET_RESERVE_KIB = 4 * 1024 * 1024
FLEET_HOST_GUESS_KIB = 300 * 1024


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")


def inotify_for(hosts: int) -> tuple[int | None, str]:
    """Make room for `hosts` systemd containers in fs.inotify.max_user_instances (each
    lab host's systemd takes ~7 of them; the kernel's default 128 is shared with everything
    else root runs, and `lab up --hosts 40` failed at host 19 with "Failed to create
    control group inotify object: Too many open files"). Returns the old value to restore
    (None: nothing changed) and what was done."""
    try:
        current = int(INOTIFY_INSTANCES.read_text())
    except (OSError, ValueError):
        return None, "fs.inotify.max_user_instances not readable"
    wanted = benchcore.inotify_needed(hosts)
    if current >= wanted:
        return None, f"fs.inotify.max_user_instances {current} (enough for {hosts} hosts)"
    try:
        INOTIFY_INSTANCES.write_text(f"{wanted}\n")
    except OSError as exc:
        return None, (
            f"fs.inotify.max_user_instances is {current}, {wanted} needed for {hosts} hosts,"
            f" and it cannot be raised ({exc}): hosts beyond ~{(current - 32) // 7} will fail"
        )
    return current, f"fs.inotify.max_user_instances raised {current} → {wanted} for the fleet"


def bench_fleet(ns: Sequence[int], runs: int, lab: Lab) -> dict[str, Any]:
    """Warm and dry provision (and the warm floor) against N hosts for each N, on one set
    of max(N) converged hosts (a generated inventory lists the first N); wall time,
    controller CPU and peak RSS per run; forks = N against forks = 4N."""
    free_before = mem_available_kib()
    limit, why = benchcore.fleet_limit(
        free_before, FLEET_HOST_GUESS_KIB, FLEET_RESERVE_KIB, MAX_HOSTS
    )
    wanted = sorted(set(ns))
    taken = [n for n in wanted if n <= limit]
    if taken != wanted:
        log(f"fleet: N above {limit} left out ({why})")
    if not taken:
        return {"missing": wanted, "limit": limit, "limit_why": why}
    top = max(taken)
    log(f"fleet: N = {', '.join(map(str, taken))} on {top} hosts")
    restore, inotify = inotify_for(top)
    log(f"  {inotify}")
    try:
        found = _fleet(taken, wanted, top, runs, free_before, lab)
    finally:
        if restore is not None:
            lab.down()  # the containers hold their inotify instances until they stop
            INOTIFY_INSTANCES.write_text(f"{restore}\n")
            log(f"  fs.inotify.max_user_instances restored to {restore}")
    found["inotify"] = inotify
    return found


def _fleet(
    taken: list[int], wanted: list[int], top: int, runs: int, free_before: int, lab: Lab
) -> dict[str, Any]:
    up = lab.fresh(top)
    log(f"  {top} fresh hosts in {up:.1f}s")
    converge(lab, "fleet", forks=10)
    free_after = mem_available_kib()
    per_host = max(0, free_before - free_after) // top
    measured_limit, measured_why = benchcore.fleet_limit(
        free_before, per_host, FLEET_RESERVE_KIB, MAX_HOSTS
    )
    log(f"  memory per running, converged host: {per_host // 1024} MiB ({measured_why})")
    points: dict[int, dict[str, list[dict[str, float]]]] = {}
    for n in taken:
        names = lab.names[:n]
        lab.route = make_route(lab, f"fleet{n}", {k: (dict(lab.hosts)[k], 22) for k in names})
        try:
            for round_index in range(runs):
                for label, tool, kind, forks in rotated(benchcore.FLEET_RUNS, round_index):
                    lab.forks = forks * n if forks else None
                    try:
                        o = measure(tool, kind, lab)
                    finally:
                        lab.forks = None
                    points.setdefault(n, {}).setdefault(label, []).append(
                        {
                            "seconds": o.seconds,
                            "cpu_seconds": o.cpu_seconds,
                            "maxrss_kib": o.extra["maxrss_kib"],
                        }
                    )
        finally:
            lab.route = None
    return {
        "hosts": taken,
        "runs": runs,
        "missing": [n for n in wanted if n not in taken],
        "limit": measured_limit,
        "limit_why": measured_why,
        "mem_per_host_mib": round(per_host / 1024),
        "mem_available_mib_before": free_before // 1024,
        "points": {str(n): v for n, v in points.items()},
        "summary": benchcore.fleet_summary(points),
    }


# ------------------------------------------------------------------ machine and versions


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    os_name = ""
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": os_name,
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    dists = ("provision", "ansible-core", "mitogen", "pyinfra", "paramiko", "fabric", "matplotlib")
    for dist in dists:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    proc = run_quiet(["ssh", "-V"])
    found["openssh (controller)"] = (proc.stderr or proc.stdout).strip()
    return found


def engine_version() -> str:
    """The commit of the provision being measured (+dirty when src/ or roles/ differ)."""
    head = run_quiet(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = run_quiet(["git", "-C", ROOT, "status", "--porcelain", "src", "roles", "playbooks"])
    return head + ("+dirty" if dirty.stdout.strip() else "")


def cli_help_seconds(runs: int = 5) -> dict[str, Any]:
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        run_quiet([PROVISION, "--help"], env=contestant_env())
        values.append(time.perf_counter() - started)
    return benchcore.summarize(values)


# ------------------------------------------------------------------ the run


T = TypeVar("T")


def rotated(items: Sequence[T], by: int) -> list[T]:
    if not items:
        return []
    by %= len(items)
    return list(items[by:]) + list(items[:by])


SLOW_TOOLS = ("ansible-defaults",)  # the labelled reference run: fewer rounds (--slow-runs)


def bench_n(
    n: int, tools: Sequence[str], runs: int, slow_runs: int, index: int, lab: Lab
) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {t: {} for t in tools}
    log(f"N = {n}: cold applies on fresh hosts (one tool at a time)")
    for tool in rotated(tools, index):
        up = lab.fresh(n)
        log(f"  fresh hosts in {up:.1f}s")
        cold = measure(tool, "cold", lab)
        second = measure(tool, "warm", lab)
        attribute([cold, second], lab.journal(cold.start), lab)
        cells[tool]["cold"] = aggregate([cold])
        cells[tool]["second_run"] = second.as_dict()
        if second.changes != 0:
            log(f"  !! {tool}: the second run did not report zero changes ({second.changes})")
    # the hosts are converged by the last tool; make sure (unmeasured) before the rounds
    run_quiet([PROVISION, "apply", INVENTORY, "-p", PLAYBOOK], cwd=ROOT)
    log(f"N = {n}: probe timed on the hosts")
    probe = probe_floor(lab, max(3, runs))
    log(
        f"  probe on host: max {probe['probe_seconds_max_host']:.2f}s, "
        f"check-update alone max {probe['check_update_seconds_max_host']:.2f}s"
    )
    since = time.time()
    outcomes, pairs = paired_rounds(tools, runs, slow_runs, index, lab, f"N = {n}")
    lines = lab.journal(since)
    for (tool, kind), measured in outcomes.items():
        attribute(measured, lines, lab)
        cells[tool][kind] = aggregate(measured)
        cells[tool][kind]["paired"] = benchcore.paired_ratios(pairs, tool, kind)
    profile = profile_provision(lab, n) if "provision" in tools else None
    cprofile = cprofile_provision(lab, n) if "provision" in tools else []
    return {"cells": cells, "probe": probe, "profile": profile, "cprofile": cprofile}


def paired_rounds(
    tools: Sequence[str], runs: int, slow_runs: int, index: int, lab: Lab, what: str
) -> tuple[dict[tuple[str, str], list[Outcome]], list[benchcore.Pair]]:
    """`runs` rounds of warm runs, then of dry runs: in each round every contestant next
    to a floor run of its own (benchcore.pair_order: floor first in even rounds, second in
    odd ones; the contestants' order rotates). The floor's dry run is its warm script."""
    outcomes: dict[tuple[str, str], list[Outcome]] = {}
    pairs: list[benchcore.Pair] = []
    for kind in ("warm", "dry"):
        log(f"{what}: {runs} rounds of {kind} runs, each contestant paired with the floor")
        for round_index in range(runs):
            order = rotated(tools, round_index + index)
            for group in benchcore.pair_order(order, round_index):
                if any(t in SLOW_TOOLS for t in group) and round_index >= slow_runs:
                    continue
                done = [measure(tool, kind, lab) for tool in group]
                for outcome in done:
                    outcomes.setdefault((outcome.tool, kind), []).append(outcome)
                if len(done) == 2:
                    tool_run, floor_run = done if done[1].tool == "floor" else done[::-1]
                    pairs.append(
                        benchcore.Pair(
                            tool_run.tool,
                            kind,
                            round_index,
                            tool_run.seconds,
                            floor_run.seconds,
                            done[0] is tool_run,
                        )
                    )
    return outcomes, pairs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="1,3,10", help="comma list of N (default 1,3,10)")
    parser.add_argument("--runs", type=int, default=5, help="warm and dry runs per tool and N")
    parser.add_argument("--tools", default=",".join(benchcore.TOOLS))
    parser.add_argument(
        "--slow-runs", type=int, default=3, help="warm and dry runs of ansible-defaults"
    )
    parser.add_argument(
        "--latency",
        default="0,20,80",
        help="RTTs in ms added by the relay for the latency table ('' = none; default 0,20,80)",
    )
    parser.add_argument("--latency-hosts", type=int, default=3, help="N of the latency table")
    parser.add_argument("--latency-runs", type=int, default=3, help="rounds per RTT")
    parser.add_argument(
        "--latency-tools",
        default="floor,provision,pyinfra,ansible,ansible-mitogen",
        help="contestants of the latency table (those of --tools only)",
    )
    parser.add_argument(
        "--fleet",
        default="1,5,10,20,30,40,50",
        help="host counts of the fleet measurement ('' = none; default 1,5,10,20,30,40,50)",
    )
    parser.add_argument("--fleet-runs", type=int, default=3, help="rounds per fleet size")
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1, 2 runs")
    parser.add_argument("--out", type=Path, help="default results/latest.json (quick.json)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    parser.add_argument("--no-report", action="store_true", help="skip bench/report.py")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the container lab needs root: run as root", file=sys.stderr)
        return 2
    hosts = [1] if args.quick else [int(x) for x in args.hosts.split(",") if x.strip()]
    runs = 2 if args.quick else args.runs
    latency = [float(x) for x in args.latency.split(",") if x.strip()]
    fleet = [int(x) for x in args.fleet.split(",") if x.strip()]
    latency_hosts, latency_runs = args.latency_hosts, args.latency_runs
    fleet_runs = args.fleet_runs
    if args.quick:
        latency = [0.0, 20.0] if latency else []
        latency_hosts, latency_runs = 1, 1
        fleet, fleet_runs = ([1, 2] if fleet else []), 1
    tools = [t for t in args.tools.split(",") if t]
    args.out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    for tool in tools:
        if tool not in benchcore.TOOLS:
            parser.error(f"unknown tool {tool!r} (known: {', '.join(benchcore.TOOLS)})")
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    started = time.time()
    results: dict[str, Any] = {
        "format": 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": " ".join(["bench/run", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "hosts": hosts,
            "runs": runs,
            "tools": tools,
            "cold_runs": 1,
            "slow_runs": {t: min(runs, args.slow_runs) for t in SLOW_TOOLS if t in tools},
            "playbook": str(PLAYBOOK.relative_to(ROOT)),
            "latency_ms": latency,
            "latency_hosts": latency_hosts,
            "latency_runs": latency_runs,
            "fleet": fleet,
            "fleet_runs": fleet_runs,
        },
        "hosts": hosts,
        "tools": tools,
        "cells": {t: {} for t in tools},
        "probe_floor": {},
        "engine": {},
        "profiles": {},
        "missing": [],
    }
    results["settings"]["bytecode"] = compile_bytecode()
    results["cli_help_seconds"] = cli_help_seconds()
    lab = Lab()
    current: int | None = None
    try:
        for index, n in enumerate(hosts):
            current = n
            before = engine_version()
            done = bench_n(n, tools, runs, min(runs, args.slow_runs), index, lab)
            for tool in tools:
                results["cells"][tool][str(n)] = done["cells"][tool]
            results["probe_floor"][str(n)] = done["probe"]
            results["engine"][str(n)] = sorted({before, engine_version()})
            if len(results["engine"][str(n)]) > 1:
                log(f"  !! the engine changed while N = {n} was measured")
            if done["profile"]:
                results["profiles"][str(n)] = done["profile"]
            for name in done.get("cprofile") or []:
                results["profiles"][
                    f"{n} {Path(name).stem.split('-')[0]} {Path(name).suffix[1:]}"
                ] = name
            if n == hosts[0] and lab.hosts:
                rc, out, err = lab.ssh(
                    lab.addresses[0], "echo dnf $(dnf --version | head -1); ssh -V"
                )
                results["versions"]["lab host"] = (out + err).strip().replace("\n", ", ")
        current = None
        if latency:
            chosen = [t for t in args.latency_tools.split(",") if t in tools]
            slow = min(latency_runs, args.slow_runs)
            found = extra_part(
                "latency",
                lambda: bench_latency(latency_hosts, latency, chosen, latency_runs, slow, lab),
            )
            results["missing"] += [] if found is not None else ["latency (see the log)"]
            if found is not None:
                results["latency"] = found
        if fleet:
            found = extra_part("fleet", lambda: bench_fleet(fleet, fleet_runs, lab))
            results["missing"] += [] if found is not None else ["fleet (see the log)"]
            if found is not None:
                results["fleet"] = found
    except ContestantFailed as failed:
        print(failed.message(current, args.out), file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        results["missing"].append("interrupted")
    finally:
        if not args.keep_lab:
            lab.down()
    results["seconds_total"] = round(time.time() - started, 1)
    done_ns = set(results["probe_floor"])
    results["missing"] += [f"N={n}" for n in hosts if str(n) not in done_ns]
    results["targets"] = benchcore.evaluate_targets(results)
    publish(results, args.out)
    log(f"results: {args.out} ({results['seconds_total']:.0f}s)")
    if not args.no_report:
        report(args.out)
    return 0


def extra_part(name: str, part: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """The latency or fleet part: a failure of the lab's own machinery there (a `lab up`
    of many hosts, the relay, converging) is logged and leaves that part out, so the
    results measured before it are still written. A contestant's failed run still stops
    the whole benchmark (ContestantFailed passes through)."""
    try:
        return part()
    except SystemExit as exc:
        log(f"!! the {name} part could not be measured: {exc}")
    except OSError as exc:
        log(f"!! the {name} part could not be measured: {type(exc).__name__}: {exc}")
    return None


def publish(results: dict[str, Any], path: Path) -> None:
    """The results file, and the profiles of this run beside it (only of a run in which
    every contestant's every run succeeded, or one interrupted by Ctrl-C)."""
    prefix = "quick-" if path.stem == "quick" else ""  # a smoke run keeps the record alone
    for n, name in list(results["profiles"].items()):
        source = WORK / name
        if source.is_file():
            target = path.parent / f"{prefix}{name}"
            shutil.move(source, target)
            results["profiles"][n] = os.path.relpath(target, ROOT)
        else:
            del results["profiles"][n]
    write(results, path)


def report(path: Path) -> None:
    """bench/report.py: the plot and the generated part of docs/performance.md."""
    subprocess.run([sys.executable, str(BENCH / "report.py"), str(path)], check=False)


def write(results: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
