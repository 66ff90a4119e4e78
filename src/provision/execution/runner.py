"""Connect, probe, ask the planner, then report its plan or run its commands; re-probe."""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from provision.errors import ConnectError, InputError
from provision.execution.connection import BecomeError, Connection, LocalConnection, Result
from provision.execution.reports import (
    CHANGED,
    CHECK,
    FAILED,
    OK,
    PENDING,
    SKIPPED,
    UNREACHABLE,
    HostReport,
    Status,
    TaskReport,
)
from provision.facts.base import Fact, FactError
from provision.facts.host import group_facts
from provision.facts.probe import parse_probe, probe_script
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.planning.planner import (
    HandlerQueue,
    HostPlan,
    bind_facts,
    fact_groups_needed,
    host_facts,
    plan_host,
    replan_task,
    unconverged,
)
from provision.project.compile import Compiled, CompiledTask, HostPlay
from provision.project.hostconfig import HostConfig

# (event, payload): "task" (host, TaskReport); "host" HostReport; "probe" (host, facts,
# script bytes, seconds); a long command's "progress" (host, task, display), "output" (host,
# task, line) per line it prints, "progress-end" (host, task, display, seconds, exit code or
# None); "notice" (host, task, line) for a `waiting for ...` line.
Listener = Callable[[str, object], None]


@dataclass
class RunOptions:
    apply: bool = False
    forks: int = 50
    timeout: float = 10.0
    accept_new_host_keys: bool = False
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)  # set by Ctrl-C
    # Change control (provision.changecontrol): `gate.probed(play, state, facts)` reads the
    # probe before planning, `gate.planned(report, play, seen, plan)` sees each host's plan
    # before it is reported or applied and may refuse the host (HostFailed); `record(report)`
    # is shell text appended to the post-apply probe (the host's last-apply record: no extra
    # round trip); `fact_groups` are host fact groups probed besides.
    gate: Any = None
    record: Callable[[HostReport], str] | None = None
    fact_groups: frozenset[str] = frozenset()


class HostFailed(Exception):
    def __init__(self, message: str, status: Status = FAILED) -> None:
        super().__init__(message)
        self.status = status


def connect(config: HostConfig, options: RunOptions) -> Connection:
    if config.connection == "local":
        return LocalConnection(config)
    from provision.execution.ssh import SSHConnection

    return SSHConnection(config, options.timeout, options.accept_new_host_keys, options.retries)


def _facts_of(tasks: list[CompiledTask]) -> list[Fact]:
    facts: dict[Fact, None] = {}
    for compiled in tasks:
        if compiled.task is not None:
            for fact in compiled.task.facts():
                facts.setdefault(fact, None)
    return list(facts)


def probe_size(facts: list[Fact]) -> tuple[int, int]:
    """(facts read, bytes of the probe script) for -vvv: counts only, never the script."""
    return len(facts), len(probe_script(facts)[0].encode()) if facts else 0


def probe(conn: Connection, facts: list[Fact], become: bool, tail: str = "") -> HostState:
    """ONE remote command that reads every fact (then runs `tail`, if any, silently)."""
    if not facts:
        return HostState({})
    script, marker = probe_script(facts)
    if tail:
        script += f"( {tail}\n) </dev/null >/dev/null 2>&1 || true\n"
    result = conn.run(script, become=become)
    if result.rc != 0 and marker.encode() not in result.stdout:
        tail = "\n".join(result.error_tail())
        raise HostFailed(f"the probe failed (exit {result.rc}): {tail}")
    try:
        return HostState(parse_probe(facts, marker, result.stdout))
    except FactError as exc:
        raise HostFailed(str(exc))
    except (ValueError, IndexError):
        raise HostFailed("the probe's output could not be read")


MAX_FACT_ROUNDS = 3


def probe_bound(
    conn: Connection, play: HostPlay, become: bool, extra_groups: frozenset[str] = frozenset()
) -> tuple[HostState, list[CompiledTask], list[CompiledTask], list[Fact]]:
    """The probe, and the play's tasks with every host-fact decision taken on it. ONE
    remote command reads the tasks' facts and the host fact groups their `when:` and
    arguments name; a task whose arguments read facts, so that its own facts are known only
    then, costs one more round (counted like any other remote command)."""
    tasks, handlers = play.tasks, play.handlers
    groups = fact_groups_needed(tasks + handlers) | extra_groups
    built = [t.pending.task for t in tasks + handlers if t.pending and t.pending.task]
    facts = _facts_of(tasks + handlers) + [f for task in built for f in task.facts()]
    read = list(dict.fromkeys(facts)) + group_facts(groups)
    state = probe(conn, read, become)
    for _ in range(MAX_FACT_ROUNDS):
        try:
            bound = bind_facts(tasks, handlers, host_facts(state))
        except InputError as exc:
            raise HostFailed(str(exc))
        more = group_facts(bound.missing - groups)
        more += [f for f in _facts_of(bound.tasks + bound.handlers) if not state.has(f)]
        if not more:
            return state, bound.tasks, bound.handlers, read
        groups |= bound.missing
        extra = probe(conn, more, become)
        read += more
        for fact in more:
            state.set(fact, extra.get(fact))
    raise HostFailed(f"host facts: still not all known after {MAX_FACT_ROUNDS} probe rounds")


class HostRun:
    """One host's share of one play: probe → plan → (apply → handlers → re-probe).

    Every decision is the planner's (`provision.planning.planner`); this class connects the
    plan to the host: it probes, reports the plan or runs its commands, and re-probes."""

    def __init__(
        self,
        play: HostPlay,
        conn: Connection,
        options: RunOptions,
        report: HostReport,
        listener: Listener,
    ) -> None:
        self.play = play
        self.conn = conn
        self.options = options
        self.report = report
        self.listener = listener
        self.become = any(t.become for t in play.tasks + play.handlers)
        self.tasks, self.handlers = play.tasks, play.handlers  # bound to host facts in run()

    def emit(self, task_report: TaskReport) -> None:
        self.report.tasks.append(task_report)
        self.listener("task", (self.report.name, task_report))

    def run(self) -> None:
        started = time.monotonic()
        state, self.tasks, self.handlers, facts = probe_bound(
            self.conn, self.play, self.become, self.options.fact_groups
        )
        self.report.probe_seconds = time.monotonic() - started
        self.listener("probe", (self.report.name, *probe_size(facts), self.report.probe_seconds))
        gate = self.options.gate
        seen = gate.probed(self.play, state, facts) if gate is not None else None
        plan = plan_host(self.tasks, self.handlers, state)
        if gate is not None:
            gate.planned(self.report, self.play, seen, plan)
        if not self.options.apply:
            self._report_plan(plan)
            return
        self._apply(plan)

    def _report_plan(self, plan: HostPlan) -> None:
        for step in plan.steps:
            self.emit(self._plan_report(step.task, step.outcome))
            if isinstance(step.outcome, Failed):
                raise HostFailed(step.outcome.message)
        for handler in plan.handlers:
            report = self._plan_report(handler.handler, handler.outcome)
            report.handler = True
            self.emit(report)

    def _plan_report(self, compiled: CompiledTask, outcome: Outcome | None) -> TaskReport:
        report = self._new_report(compiled)
        if outcome is None:
            report.status, report.reason = SKIPPED, compiled.skip_reason
        elif isinstance(outcome, NoOp):
            report.status, report.reason = OK, outcome.reason
        elif isinstance(outcome, Change):
            report.status = PENDING
            report.summary, report.diffs = outcome.summary, outcome.diffs
            report.commands = [c.display for c in outcome.commands]
        elif isinstance(outcome, Deferred):
            report.status = CHECK if outcome.check else PENDING
            report.summary = [outcome.summary]
        else:
            report.status, report.message = FAILED, outcome.message
        return report

    def _new_report(self, compiled: CompiledTask) -> TaskReport:
        type_name = compiled.task.type_name if compiled.task else ""
        return TaskReport(
            compiled.name, compiled.role, type_name, OK, location=str(compiled.location)
        )

    def _apply(self, plan: HostPlan) -> None:
        handlers = HandlerQueue()
        changed_any = False
        for step in plan.steps:
            compiled, outcome = step.task, step.outcome
            if self.options.stop.is_set():
                raise HostFailed(f"interrupted: stopped before task {compiled.name!r}")
            if outcome is None:
                self.emit(self._plan_report(compiled, None))
                continue
            if isinstance(outcome, Deferred):
                if step.handlers_first:
                    self._run_handlers(handlers)
                outcome = self._replan_live(compiled)
            report = self._execute(compiled, outcome)
            self.emit(report)
            if report.status == FAILED:
                raise HostFailed(report.message)
            if report.status == CHANGED:
                changed_any = True
                handlers.notify(compiled, outcome)
        changed_any |= self._run_handlers(handlers)
        if changed_any:
            self._check_converged()

    def _replan_live(self, compiled: CompiledTask) -> Outcome:
        assert compiled.task is not None
        return replan_task(compiled, probe(self.conn, compiled.task.facts(), compiled.become))

    def _execute(self, compiled: CompiledTask, outcome: Outcome) -> TaskReport:
        report = self._plan_report(compiled, outcome)
        if not isinstance(outcome, Change):
            return report
        started = time.monotonic()
        for index, command in enumerate(outcome.commands):
            if index and self.options.stop.is_set():
                report.status = FAILED
                report.message = f"interrupted before `{command.display}`"
                break
            result = self._run_command(compiled, command)
            if result.rc != 0:
                report.status = FAILED
                report.message = f"`{command.display}` failed with exit code {result.rc}"
                report.output = result.error_tail()
                break
        else:
            report.status = CHANGED
        report.duration = time.monotonic() - started
        return report

    def _run_command(self, compiled: CompiledTask, command: Command) -> Result:
        """Run one command. A long one (`progress`) is framed by "progress" and
        "progress-end" events, and each line it prints is an "output" event; a `waiting for
        ...` line (a held dnf lock) is also a "notice"."""
        host, task = self.report.name, compiled.name

        def relay(line: str) -> None:
            if command.progress:
                self.listener("output", (host, task, line))
            if line.startswith("waiting for"):
                self.listener("notice", (host, task, line))

        if not command.progress:
            return self.conn.run(command.script, command.stdin, compiled.become, relay)
        self.listener("progress", (host, task, command.display))
        started, rc = time.monotonic(), None
        try:
            result = self.conn.run(command.script, command.stdin, compiled.become, relay)
            rc = result.rc
            return result
        finally:
            seconds = time.monotonic() - started
            self.listener("progress-end", (host, task, command.display, seconds, rc))

    def _run_handlers(self, handlers: HandlerQueue) -> bool:
        ran = False
        for call in handlers.due(self.handlers):
            if call.skip:
                report = self._new_report(call.handler)
                report.reason, report.handler = call.skip, True
                self.emit(report)
                continue
            report = self._execute(call.handler, self._replan_live(call.handler))
            report.handler = True
            self.emit(report)
            if report.status == FAILED:
                raise HostFailed(report.message)
            ran |= report.status == CHANGED
        return ran

    def _check_converged(self) -> None:
        tail = self.options.record(self.report) if self.options.record else ""
        extra = {"tail": tail} if tail else {}
        state = probe(self.conn, _facts_of(self.tasks), self.become, **extra)
        left = unconverged(self.tasks, state)
        if left:
            raise HostFailed(
                "did not converge: a fresh probe still plans changes:\n  " + "\n  ".join(left)
            )


def internal_error(exc: BaseException) -> str:
    """A host's error for an exception no branch of the error tree expected: its type and
    message, and the traceback only when PROVISION_DEBUG=1."""
    text = f"internal error: {type(exc).__name__}: {exc}".rstrip()
    if os.environ.get("PROVISION_DEBUG") == "1":
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return f"{text}\n{trace.rstrip()}"
    return f"{text}\n(a bug in provision: please report it; PROVISION_DEBUG=1 shows the traceback)"


def run_all(compiled: Compiled, options: RunOptions, listener: Listener) -> list[HostReport]:
    """Every play in order; within a play, hosts in parallel (up to --forks).

    Whatever happens on one host is that host's result: an unexpected exception fails that
    host alone, and the others go on. A second Ctrl-C (KeyboardInterrupt) stops waiting at
    once: hosts still being worked on, and those not reached, are reported as interrupted,
    and the reports come back all the same, so the recap and last-run.json are written."""
    reports: dict[str, HostReport] = {}
    connections: dict[str, Connection] = {}
    lock = threading.Lock()
    dead: set[str] = set()
    running: set[str] = set()
    remaining: dict[str, int] = {}
    for _name, host_plays in compiled.plays:
        for host_play in host_plays:
            name = host_play.host.name
            reports.setdefault(name, HostReport(name))
            remaining[name] = remaining.get(name, 0) + 1

    def fail(report: HostReport, message: str, status: Status = FAILED) -> None:
        dead.add(report.name)
        report.status = status
        report.error = message

    def one_host(host_play: HostPlay) -> None:
        name = host_play.host.name
        report = reports[name]
        with lock:
            running.add(name)
        try:
            if name in dead:
                return
            if options.stop.is_set():
                fail(report, "interrupted: not started")
                return
            work(host_play, report)
        except Exception as exc:  # noqa: BLE001 - never let one host end the run
            fail(report, internal_error(exc))
        finally:
            with lock:
                running.discard(name)
                remaining[name] -= 1

    def work(host_play: HostPlay, report: HostReport) -> None:
        name = report.name
        started = time.monotonic()
        conn = connections.get(name)
        try:
            if conn is None:
                conn = connect(host_play.host, options)
                connections[name] = conn
            HostRun(host_play, conn, options, report, listener).run()
        except ConnectError as exc:
            fail(report, str(exc), UNREACHABLE if not report.tasks else FAILED)
        except HostFailed as exc:
            fail(report, str(exc), exc.status)
        except BecomeError as exc:
            fail(report, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug while working on this host fails it
            fail(report, internal_error(exc))
        finally:
            report.duration += time.monotonic() - started
            if conn is not None:
                report.commands_run = conn.commands_run
                report.connections = conn.connections_opened
        if report.status == OK and any(t.status == CHANGED for t in report.tasks):
            report.status = CHANGED

    interrupted = False
    try:
        for _name, host_plays in compiled.plays:
            workers = max(1, min(options.forks, len(host_plays)))
            pool = ThreadPoolExecutor(max_workers=workers)
            try:
                for future in [pool.submit(one_host, hp) for hp in host_plays]:
                    future.result()
            except KeyboardInterrupt:
                options.stop.set()
                interrupted = True
                pool.shutdown(wait=False, cancel_futures=True)
                break
            pool.shutdown(wait=True)
    finally:
        for conn in list(connections.values()):
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's results
                pass
    results = list(reports.values())
    if interrupted:
        results = _interrupted(results, running, remaining, dead)
    for report in results:
        listener("host", report)
    return results


def _interrupted(
    reports: list[HostReport], running: set[str], remaining: dict[str, int], dead: set[str]
) -> list[HostReport]:
    """Copies of the reports after a second Ctrl-C (workers may still touch the originals):
    a host being worked on, or with plays not reached, is interrupted."""
    copies = []
    for report in reports:
        copy = replace(report, tasks=list(report.tasks))
        if report.name in running:
            copy.status, copy.error = FAILED, "interrupted: stopped at once while it ran"
        elif remaining.get(report.name, 0) > 0 and report.name not in dead:
            copy.status, copy.error = FAILED, "interrupted: not started"
        copies.append(copy)
    return copies
