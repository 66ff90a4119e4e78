"""cProfile over one provision run, every thread included (cProfile alone sees only the
main thread, which waits in run_all while the hosts' work runs in the pool's threads).

    bench/.venv/bin/python bench/profile_run.py OUT -- apply INVENTORY -p PLAYBOOK --format json
    bench/.venv/bin/python bench/profile_run.py --timers OUT -- apply ...

--timers: no profiler (its overhead inflates the Python parts ~2×); instead the phases are
timed by wrapping a few functions (compile_run, SSHConnection.open and _exec, the runner's
probe, run_all), the modules imported first and timed: OUT.json and OUT.txt, a timeline.

Writes OUT.prof (all threads merged, for `python -m pstats` or snakeviz), OUT.txt (the phase
table, then the top functions by cumulative time) and OUT.json (the phase table). Phases
are what the issue asks about: interpreter start-up (this process's start to the first line
of this script), imports, compiling the playbook (parsing and rendering), connection
set-up, the probe (its round trip, the host's work inside it, and parsing its output),
other work, and output. Profiling makes the Python parts slower (~1.5-2×); the waits on
the host are not.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
#: seconds since the process started (the interpreter's own start-up and site imports)
try:
    with open(f"/proc/{os.getpid()}/stat") as _stat:
        _ticks = int(_stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as _uptime:
        _up = float(_uptime.read().split()[0])
    INTERPRETER_START = max(0.0, _up - _ticks / os.sysconf("SC_CLK_TCK"))
except (OSError, ValueError, IndexError):
    INTERPRETER_START = None

#: (phase, thread kind, file suffix, function name): the phase's time is the function's
#: cumulative time (outermost calls) in the threads of that kind
PHASES: tuple[tuple[str, str, str, str], ...] = (
    ("imports (main thread)", "main", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("compile the playbook (parse, render)", "main", "provision/project/compile.py", "compile_run"),
    ("run_all (main thread waits on hosts)", "main", "provision/execution/runner.py", "run_all"),
    ("imports in the host threads (paramiko)", "worker", "<frozen importlib._bootstrap>",
     "_find_and_load"),
    ("connection set-up (TCP, kex, auth)", "worker", "provision/execution/ssh.py", "open"),
    ("probe: whole (send, wait, parse)", "worker", "provision/execution/runner.py", "probe"),
    ("probe: build the script", "worker", "provision/facts/probe.py", "probe_script"),
    ("probe: parse the output", "worker", "provision/facts/probe.py", "parse_probe"),
    ("plan the tasks against the state", "worker", "provision/execution/runner.py", "_report_plan"),
)  # fmt: skip


def _wrap_threads(profiles: list[cProfile.Profile]) -> None:
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    threading.Thread.run = run  # type: ignore[method-assign]


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and filename.endswith(suffix):
            total += ct
    return total


def phases(main: pstats.Stats, workers: list[pstats.Stats]) -> list[dict[str, Any]]:
    """Each phase's seconds: the main thread's, or the slowest host thread's."""
    rows = []
    for label, kind, suffix, name in PHASES:
        if kind == "main":
            seconds = cumulative(main, suffix, name)
        else:
            seconds = max((cumulative(w, suffix, name) for w in workers), default=0.0)
        rows.append({"phase": label, "seconds": round(seconds, 4)})
    return rows


def _timed(owner: Any, name: str, label: str, events: list[dict[str, Any]]) -> None:
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            events.append(
                {
                    "what": label,
                    "thread": threading.current_thread().name,
                    "start": round(start - STARTED, 4),
                    "seconds": round(time.perf_counter() - start, 4),
                }
            )

    setattr(owner, name, wrapper)


def timers(out: Path, args: list[str]) -> int:
    """The phases of one run, timed without a profiler."""
    events: list[dict[str, Any]] = []

    def imported(label: str, *modules: str) -> None:
        import importlib

        start = time.perf_counter()
        for module in modules:
            if module == "paramiko":
                from provision.execution.paramikoimport import import_paramiko

                import_paramiko()  # as a run imports it
            else:
                importlib.import_module(module)
        events.append(
            {
                "what": label,
                "thread": "MainThread",
                "start": round(start - STARTED, 4),
                "seconds": round(time.perf_counter() - start, 4),
            }
        )

    imported(
        "import provision (cli, compiler, runner, reporting: click, jinja2, yaml)",
        "provision.cli",
        "provision.project.compile",
        "provision.execution.runner",
        "provision.reporting.console",
        "provision.reporting.jsonout",
        "provision.reporting.mask",
        "provision.state",
    )
    imported(
        "import paramiko (provision.execution.ssh; without invoke, as a run does)",
        "provision.execution.ssh",
        "provision.execution.paramikoimport",
        "paramiko",
    )
    from provision.execution import runner, ssh
    from provision.project import compile as compiler

    _timed(compiler, "compile_run", "compile the playbook (parse, render)", events)
    _timed(runner, "run_all", "run_all", events)
    _timed(ssh.SSHConnection, "open", "connect (TCP, key exchange, auth)", events)
    _timed(ssh.SSHConnection, "_exec", "exec on the connection (send, host works, back)", events)
    _timed(runner, "probe", "probe (exec + parse)", events)
    from provision.cli import run

    sys.argv = ["provision", *args]
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout = real_stdout
    total = time.perf_counter() - STARTED
    run_all = [e for e in events if e["what"] == "run_all"]
    if run_all:
        end = run_all[-1]["start"] + run_all[-1]["seconds"]
        events.append(
            {
                "what": "after run_all: output (JSON), run record, exit",
                "thread": "MainThread",
                "start": round(end, 4),
                "seconds": round(total - end, 4),
            }
        )
    events.sort(key=lambda e: e["start"])
    summary = {
        "command": ["provision", *args],
        "exit_code": code,
        "interpreter_start_seconds": INTERPRETER_START,
        "in_process_seconds": round(total, 4),
        "events": events,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [f"provision {' '.join(args)}", f"exit {code}; timed without a profiler", ""]
    if INTERPRETER_START is not None:
        lines.append(
            f"{0:7.3f} s {INTERPRETER_START:7.3f} s  interpreter start-up (before the script)"
        )
    for e in events:
        lines.append(f"{e['start']:7.3f} s {e['seconds']:7.3f} s  {e['what']}  [{e['thread']}]")
    lines.append(f"{total:7.3f} s  end (in-process)")
    out.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.txt')} (exit {code})", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    if argv[:1] == ["--timers"]:
        if "--" not in argv or argv.index("--") != 2:
            print(__doc__, file=sys.stderr)
            return 2
        return timers(Path(argv[1]), argv[3:])
    if "--" not in argv or argv.index("--") != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    args = argv[2:]
    thread_profiles: list[cProfile.Profile] = []
    _wrap_threads(thread_profiles)
    main_profile = cProfile.Profile()
    sys.argv = ["provision", *args]
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()  # the run's own output (JSON) is not the profile's
    code = 0
    main_profile.enable()
    try:
        from provision.cli import run

        run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        main_profile.disable()
        sys.stdout = real_stdout
    wall = time.perf_counter() - STARTED
    main_stats = pstats.Stats(main_profile)
    worker_stats = [pstats.Stats(p) for p in thread_profiles if p.getstats()]
    merged = pstats.Stats(main_profile)
    for p in thread_profiles:
        if p.getstats():
            merged.add(p)
    merged.dump_stats(str(out.with_suffix(".prof")))
    rows = phases(main_stats, worker_stats)
    summary = {
        "command": ["provision", *args],
        "exit_code": code,
        "interpreter_start_seconds": INTERPRETER_START,
        "in_process_seconds": round(wall, 4),
        "host_threads": len(worker_stats),
        "phases": rows,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    text = io.StringIO()
    text.write(f"provision {' '.join(args)}\nexit {code}; in-process {wall:.3f} s")
    if INTERPRETER_START is not None:
        text.write(f"; interpreter start-up before this script {INTERPRETER_START:.3f} s")
    text.write(f"; {len(worker_stats)} host thread(s)\n\n")
    for row in rows:
        text.write(f"{row['seconds']:8.3f} s  {row['phase']}\n")
    text.write("\nAll threads merged, top 45 by cumulative time:\n")
    pstats.Stats(str(out.with_suffix(".prof")), stream=text).sort_stats("cumulative").print_stats(
        45
    )
    out.with_suffix(".txt").write_text(text.getvalue())
    print(f"wrote {out.with_suffix('.txt')} (exit {code})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
