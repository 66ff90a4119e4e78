"""Connect, probe, ask the planner, then report its plan or run its commands; re-probe."""

from __future__ import annotations

import copy
import os
import shlex
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from provision.errors import ConnectError, InputError
from provision.execution.batches import (
    INTERRUPTED,
    NOT_STARTED,
    RAN,
    RUNNING,
    STOPPED,
    BatchRecord,
    cut,
    stops_run,
    why_stopped,
)
from provision.execution.batchscript import (
    BatchError,
    Item,
    batch_script,
    batch_steps,
    dnf_installs,
    merged_dnf,
    merged_first,
    merged_rest,
    new_marker,
    parse_batch,
    stop_path,
)
from provision.execution.connection import (
    BecomeError,
    Connection,
    ConnectionLost,
    LocalConnection,
    Result,
    su_target,
)
from provision.execution.lateloop import apply_loop
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
from provision.facts.readonly import as_user, env_prefix
from provision.planning.disruption import plan_disruption, refusal
from provision.planning.lateloop import loop_facts
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Disruption,
    Failed,
    HostState,
    NoOp,
    Outcome,
    worst,
)
from provision.planning.planner import (
    BlockFlow,
    HandlerQueue,
    HostPlan,
    Registry,
    TaskStep,
    bind_facts,
    bind_handlers,
    bind_late,
    fact_groups_needed,
    host_facts,
    judge,
    outcome_result,
    plan_host,
    replan_task,
    speculative_facts,
    unconverged,
)
from provision.project.compile import REG, Compiled, CompiledTask, HostPlay
from provision.project.hostconfig import HostConfig
from provision.project.playbook import Rolling

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
    batch_pause: float = 0.0  # seconds between two batches of a play
    max_disruption: str | None = None  # apply: refuse a host whose plan needs more
    batches: list[BatchRecord] = field(default_factory=list)  # filled by run_all
    # Change control (provision.changecontrol): `gate.probed(play, state, facts)` reads the
    # probe before planning, `gate.planned(report, play, seen, plan)` sees each host's plan
    # before it is reported or applied and may refuse the host (HostFailed); `record(report)`
    # is shell text appended to the post-apply probe (the host's last-apply record: no extra
    # round trip); `fact_groups` are host fact groups probed besides.
    gate: Any = None
    record: Callable[[HostReport], str] | None = None
    fact_groups: frozenset[str] = frozenset()
    # --step on apply (execution.stepmode.StepGate): `declined(host, task)` asks before each
    # task and handler ("" runs it); `serve(futures, names, stop)` asks on run_all's thread.
    # Each task then runs alone, re-planned on facts read just before it (no batch script).
    step: Any = None


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
    """ONE remote command that reads every fact (the facts of steps delegated to
    localhost are read on this machine, in one local command), then runs `tail`, if any,
    silently."""
    local = [f for f in facts if getattr(f, "local", False)]
    if local:
        extra = {"tail": tail} if tail else {}
        remote_facts = [f for f in facts if not getattr(f, "local", False)]
        remote = probe(conn, remote_facts, become, **extra)
        for fact, value in _probe_here(local).items():
            remote.set(fact, value)
        return remote
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


def _probe_here(facts: list[Fact]) -> dict[Fact, object]:
    """The facts of steps delegated to localhost, read on this machine (as its user)."""
    script, marker = probe_script(facts)
    try:
        proc = subprocess.run(
            ["sh", "-s"], input=script.encode(), capture_output=True, timeout=LOCAL_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise HostFailed(f"the steps delegated to localhost took over {LOCAL_TIMEOUT} s")
    if proc.returncode != 0 and marker.encode() not in proc.stdout:
        raise HostFailed(f"the steps delegated to localhost failed (exit {proc.returncode})")
    try:
        return parse_probe(facts, marker, proc.stdout)
    except FactError as exc:
        raise HostFailed(f"localhost: {exc}")


LOCAL_TIMEOUT = 300
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
    facts += speculative_facts(tasks + handlers)
    read = list(dict.fromkeys(facts)) + group_facts(groups)
    state = probe(conn, read, become)
    for _ in range(MAX_FACT_ROUNDS):
        try:
            bound = bind_facts(tasks, handlers, host_facts(state))
        except InputError as exc:
            raise HostFailed(str(exc))
        more = group_facts(bound.missing - groups)
        more += [f for f in _facts_of(bound.tasks + bound.handlers) if not state.has(f)]
        known = {f: state.get(f) for f in read if state.has(f)}  # late loops' item facts:
        more += [f for f in loop_facts(bound.tasks, bound.handlers, known) if f not in more]
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
        self.registry = Registry({})  # at apply: host facts and the results known so far
        self._last: Result | None = None  # the last command run (a registered result)
        self._ran: list[CompiledTask] = []  # the tasks apply ran and did not fail
        self._ran_planned: list[tuple[CompiledTask, CompiledTask]] = []  # (as planned, as run)
        self._last_result: dict | None = None  # the result of the step apply ran last
        self.disruptions: dict[int, Disruption] = {}  # id(CompiledTask) → its disruption
        # Results of commands already run in one batch script, not yet taken by their step.
        self._queue: list[tuple[int, Command, Result]] = []
        # Facts re-read at the end of the last batch (for the read-only steps after it):
        # valid while no other command has run on the host since.
        self._reread: HostState | None = None
        # The connection was lost while a batch ran: raised at the first command the batch
        # did not finish, so the steps before it are reported as they ended.
        self._lost: ConnectionLost | None = None
        self._final: list[Fact] = []  # what the convergence re-probe may read (set by _apply)

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
        share = self.play.share  # values of earlier plays and other hosts (sharing.py)
        watch = share.watch(self.tasks, self.options.stop) if share is not None else None
        self.registry = Registry({**host_facts(state), **(watch.apply_values() if watch else {})})
        gate = self.options.gate
        seen = gate.probed(self.play, state, facts) if gate is not None else None
        plan = plan_host(self.tasks, self.handlers, state, watch)
        if share is not None and watch is not None:
            share.publish(watch)
        if gate is not None:
            gate.planned(self.report, self.play, seen, plan)
        if not self.options.apply:
            self._report_plan(plan)
            return
        self._apply(plan)
        if share is not None:
            share.carry(self.registry.facts)

    def _report_plan(self, plan: HostPlan) -> None:
        self._disruption(plan)
        flow = BlockFlow()
        for step in plan.steps:
            report = self._plan_report(step.task, step.outcome)
            report.handler = step.handler
            if step.ignored:
                report.status, report.reason = OK, f"failure ignored: {report.message}"
                report.message = ""
            failed = isinstance(step.outcome, Failed) and not step.ignored
            rescued = failed and flow.fail(step.task)
            if rescued:
                report.reason = "rescued: its block's `rescue` runs"
            self.emit(report)
            if failed and not rescued:
                assert isinstance(step.outcome, Failed)
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
            report.disruption = self.disruptions.get(id(compiled), outcome.disruption)
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

    def _disruption(self, plan: HostPlan) -> None:
        """Rolling: what the plan disrupts, per task and for the host; under
        --max-disruption, a host whose plan needs more is refused before any change."""
        found = plan_disruption(plan)
        self.disruptions = found.by_task
        self.report.disruption = worst(self.report.disruption, found.host)  # over its plays
        why = refusal(found.host, self.options.max_disruption) if self.options.apply else None
        if why:
            raise HostFailed(why)

    def _apply(self, plan: HostPlan) -> None:
        self._disruption(plan)
        final = _facts_of([s.task for s in plan.steps])
        self._final = [] if any(getattr(f, "local", False) for f in final) else final
        handlers = HandlerQueue()
        changed_any = False
        flow = BlockFlow()
        steps = [s for s in plan.steps if not s.handler]  # handlers run at their flush
        failure = ""
        keep: list[int] | None = None  # after an unrescued failure: the `always` steps left
        for index, step in enumerate(steps):
            compiled = step.task
            if keep is not None and index not in keep:
                continue
            if self.options.stop.is_set():
                raise HostFailed(f"interrupted: stopped before task {compiled.name!r}")
            if compiled.flush_handlers:
                self.emit(self._plan_report(compiled, step.outcome))
                changed_any |= self._run_handlers(handlers)
                continue
            late = compiled.late_loop is not None and not compiled.skip_reason
            if late and not flow.skip(compiled):
                expanded = apply_loop(compiled, self.registry, self._new_report(compiled))
                if isinstance(expanded, list):  # its items run next, each decided at apply
                    steps[index + 1 : index + 1] = [TaskStep(t, None) for t in expanded]
                    continue
                report = expanded
            else:
                if not self._queue and keep is None and self.options.step is None:
                    self._run_batch(steps[index:], flow, handlers)
                report = self._apply_step(step, flow, handlers)
            rescued = report.status == FAILED and flow.fail(compiled)
            if rescued:
                report.reason = "rescued: its block's `rescue` runs"
                self.registry.failed(compiled, self._last_result, report.message)
            self.emit(report)
            if rescued:
                continue
            if report.status == FAILED:
                failure = failure or report.message
                keep = [
                    i for i in flow.always_pending(compiled, [s.task for s in steps]) if i > index
                ]
                if not keep:
                    raise HostFailed(failure)
                continue
            if report.status == CHANGED:
                changed_any = True
        if failure:
            raise HostFailed(failure)
        changed_any |= self._run_handlers(handlers)
        if changed_any:
            self._check_converged()

    def _run_batch(self, steps: list[TaskStep], flow: BlockFlow, handlers: HandlerQueue) -> None:
        """Run the commands of the next steps that need no decision between them as ONE
        remote script; their results wait in `_queue` for `_run_command`, so that each step
        is reported exactly as when its commands run one by one. Nothing to gain (fewer than
        two commands): nothing happens here, nor after the connection was lost."""
        if self._lost is not None:
            return
        count, _why = batch_steps(steps, flow)
        pairs = [
            (step.task, command)
            for step in steps[:count]
            if isinstance(step.outcome, Change) and not flow.skip(step.task)
            for command in step.outcome.commands
        ]
        become = pairs[0][0].become if pairs else False
        quiet = self._handlers_quiet(steps[:count], flow, handlers)
        reread, to_end = self._rereads(steps[count:], flow, become, quiet) if pairs else ([], False)
        if pairs and to_end and become == self.become:
            # the convergence re-probe rides on the last batch (read-only checks after it
            # change nothing)
            reread = list(dict.fromkeys(reread + self._final))
        if len(pairs) + bool(reread) < 2:
            return
        items = []
        for compiled, command in pairs:
            whole = compiled.register is not None
            items.append(
                Item(_task_script(compiled, command), command.stdin, command.progress, whole)
            )
        _merge_dnf(pairs, items)
        probe_marker = ""
        if reread:
            script, probe_marker = probe_script(reread)
            items.append(Item(script, whole=True))
        marker = new_marker()
        host = self.report.name
        live: dict[str, float] = {}

        def relay(line: str) -> None:
            if not line.startswith(marker):
                return
            rest = line[len(marker) :]
            if rest[:1] == ">":
                compiled = pairs[int(live.get("index", 0))][0]
                self.listener("output", (host, compiled.name, rest[1:]))
                if rest[1:].startswith("waiting for"):
                    self.listener("notice", (host, compiled.name, rest[1:]))
            elif rest[:1] == "+" and rest[1:].isdigit():
                live["index"], live["started"] = int(rest[1:]), time.monotonic()
                compiled, command = pairs[int(rest[1:])]
                self.listener("progress", (host, compiled.name, command.display))
            elif rest[:1] == "-":
                index, _, rc = rest[1:].partition(" ")
                if index.isdigit() and int(index) < len(pairs):
                    compiled, command = pairs[int(index)]
                    seconds = time.monotonic() - live.get("started", time.monotonic())
                    code = int(rc) if rc.lstrip("-").isdigit() else None
                    self.listener(
                        "progress-end", (host, compiled.name, command.display, seconds, code)
                    )
                    live.pop("index", None)

        self._reread = None  # this batch changes the host: facts read before are stale
        done = threading.Event()

        def watch() -> None:
            """Ctrl-C while the batch runs: the running command finishes, no next one."""
            while not done.wait(0.1):
                if self.options.stop.is_set():
                    try:
                        self.conn.run(f"touch -- {shlex.quote(stop_path(marker))}")
                    except Exception:  # noqa: BLE001 - the batch ends on its own anyway
                        pass
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            result = self.conn.run(batch_script(items, marker), None, become, relay)
        except ConnectionLost as exc:
            # Cut mid-batch: the commands whose frame came ended; the host fails at the
            # one that was running, as when each command runs alone.
            self._lost = exc
            result = Result(-1, exc.stdout, exc.stderr)
            if "index" in live:
                compiled, command = pairs[int(live["index"])]
                seconds = time.monotonic() - live["started"]
                self.listener("progress-end", (host, compiled.name, command.display, seconds, None))
        finally:
            done.set()
            watcher.join()
        try:
            results = parse_batch(marker, result.stdout, partial=self._lost is not None)
        except BatchError as exc:
            raise HostFailed(f"{exc} (exit {result.rc})")
        stopped = self.options.stop.is_set()
        if self._lost is not None:
            results = results[: len(pairs)]
        elif len(results) < len(pairs) and (not results or results[-1].rc == 0) and not stopped:
            # The script itself ended before the next command's frame (killed, out of
            # space): that command is the one that failed.
            err = b"\n".join(
                line for line in result.stderr.split(b"\n") if not line.startswith(marker.encode())
            )
            results.append(Result(result.rc or 1, b"", err))
        if reread and len(results) > len(pairs):
            read = results.pop()
            if probe_marker.encode() in read.stdout:
                try:
                    self._reread = HostState(parse_probe(reread, probe_marker, read.stdout))
                except (FactError, ValueError, IndexError):
                    self._reread = None  # read again when its step comes
        self._queue = [
            (id(compiled), command, res)
            for (compiled, command), res in zip(pairs, results, strict=False)
        ]

    def _handlers_quiet(
        self, steps: list[TaskStep], flow: BlockFlow, handlers: HandlerQueue
    ) -> bool:
        """Whether the handlers due after these steps (all succeeding as planned) run no
        command (none notified, or each made redundant), decided on a copy of the queue."""
        queue = copy.deepcopy(handlers)
        for step in steps:
            if isinstance(step.outcome, Change) and not flow.skip(step.task):
                queue.notify(step.task, step.outcome)
        if not queue.pending:
            return True
        try:
            calls = queue.due(bind_handlers(self.handlers, self.registry.facts))
        except Exception:  # noqa: BLE001 - not sure: the re-read waits for the handlers
            return False
        return all(call.skip for call in calls)

    def _rereads(
        self, steps: list[TaskStep], flow: BlockFlow, become: bool, quiet: bool = False
    ) -> tuple[list[Fact], bool]:
        """The facts of the read-only re-reads right after a batch (steps decided at apply
        on facts only), read at the batch's end instead of in one probe each; and whether
        only read-only checks (or skips) follow the batch to the end of the tasks."""
        facts: dict[Fact, None] = {}
        for step in steps:
            compiled = step.task
            if flow.skip(compiled) or (compiled.task is None and compiled.pending is None):
                continue
            deferred = step.outcome is None or isinstance(step.outcome, Deferred)
            if not deferred or compiled.pending is not None or compiled.flush_handlers:
                break
            if step.handlers_first and not quiet:
                break
            if compiled.become != become or compiled.task is None:
                break
            own = compiled.task.facts()
            if any(getattr(f, "local", False) for f in own):
                break
            facts.update(dict.fromkeys(own))
            if not (isinstance(step.outcome, Deferred) and step.outcome.check):
                break  # a step that may change the host: facts after it are not known
        else:
            return list(facts), True
        return list(facts), False

    def _queued(self, compiled: CompiledTask, command: Command) -> Result | None:
        """The batch's result for this command, when it is the next one the batch ran."""
        if self._queue:
            key, queued, result = self._queue[0]
            if key == id(compiled) and queued == command:
                self._queue.pop(0)
                return result
            self._queue.clear()
        return None

    def _apply_step(self, step: TaskStep, flow: BlockFlow, handlers: HandlerQueue) -> TaskReport:
        """Run one step of the plan, deciding at this point what the plan left to apply
        (late conditions, read-only reads after changes, failed_when/changed_when)."""
        compiled, outcome = step.task, step.outcome
        self._last_result = None
        blocked = flow.skip(compiled) or self._declined(compiled)
        if blocked:
            skipped = replace(compiled, task=None, skip_reason=blocked)
            self.registry.record(compiled, outcome_result(skipped, None, HostState({})))
            return self._plan_report(skipped, None)
        planned, as_planned = step.result, step.unbound or compiled
        if compiled.pending is not None:
            try:
                bound = bind_late(compiled, self.registry.facts)
            except InputError as exc:
                self.registry.record(compiled, {"changed": False, "failed": True})
                report = self._new_report(compiled)
                report.status, report.message = FAILED, str(exc)
                if compiled.ignore_errors:
                    report.status, report.reason = OK, f"failure ignored: {exc}"
                    report.message = ""
                return report
            if isinstance(bound, list):
                raise HostFailed(f"{compiled.name}: {', '.join(bound)} still not known at apply")
            compiled, outcome, planned = bound, None, None
        if compiled.task is None:
            self.registry.record(compiled, outcome_result(compiled, None, HostState({})))
            return self._plan_report(compiled, None)
        state = None
        live = self.options.step is not None and isinstance(outcome, (Change, NoOp))
        if outcome is None or isinstance(outcome, Deferred) or live:
            if step.handlers_first:
                self._run_handlers(handlers)
            outcome, state = self._replan_live(compiled)
            planned = None
        self._last = None
        report = self._execute(compiled, outcome)
        if planned is not None and report.status != CHANGED:
            result, failure = planned, ("" if not planned.get("failed") else report.message)
            if isinstance(outcome, Failed):
                failure = outcome.message
        else:
            result = self._result_of(compiled, outcome, report, state)
            try:
                result, failure = judge(compiled, result, self.registry.facts)
            except InputError as exc:
                result, failure = {**result, "failed": True}, str(exc)
        self.registry.record(compiled, result)
        self._last_result = result
        if failure and report.status != FAILED:
            report.status, report.message = FAILED, failure
        elif not failure and report.status == FAILED and compiled.failed_when is not None:
            report.status, report.message = OK, ""
        if compiled.changed_when is not None and report.status == CHANGED:
            if not result.get("changed"):
                report.status = OK
        if report.status == FAILED and compiled.ignore_errors:
            report.status, report.reason = OK, f"failure ignored: {report.message}"
            report.message = ""
        if report.status == CHANGED:
            handlers.notify(compiled, outcome)
        if report.status in (OK, CHANGED) and not report.reason.startswith("failure ignored"):
            self._ran.append(compiled)  # checked for convergence after apply
            self._ran_planned.append((as_planned, compiled))
        return report

    def _declined(self, compiled: CompiledTask, handler: bool = False) -> str:
        """--step: why the user's answer skips this task ("" when it runs)."""
        if self.options.step is None:
            return ""
        return self.options.step.declined(self.report.name, compiled, handler)

    def _result_of(
        self,
        compiled: CompiledTask,
        outcome: Outcome,
        report: TaskReport,
        state: HostState | None,
    ) -> dict:
        """The registered result of a task that apply has run (Ansible's shape)."""
        if state is not None:
            known = outcome_result(compiled, outcome, state)
            if known is not None and report.status != CHANGED:
                return known
        result: dict = {
            "changed": report.status == CHANGED,
            "failed": report.status == FAILED,
            "skipped": False,
        }
        if report.message:
            result["msg"] = report.message
        elif isinstance(outcome, NoOp):
            result["msg"] = outcome.reason
        if self._last is not None:
            out = self._last.stdout.decode("utf-8", "replace").rstrip("\r\n")
            err = self._last.stderr.decode("utf-8", "replace").rstrip("\r\n")
            result.update(
                rc=self._last.rc,
                stdout=out,
                stderr=err,
                stdout_lines=out.splitlines(),
                stderr_lines=err.splitlines(),
            )
        return result

    def _replan_live(self, compiled: CompiledTask) -> tuple[Outcome, HostState]:
        assert compiled.task is not None
        facts = compiled.task.facts()
        known = self._reread
        if known is not None and all(known.has(f) for f in facts):
            state = HostState({f: known.get(f) for f in facts})
        else:
            state = probe(self.conn, facts, compiled.become)
        return replan_task(compiled, state), state

    def _execute(self, compiled: CompiledTask, outcome: Outcome) -> TaskReport:
        report = self._plan_report(compiled, outcome)
        if not isinstance(outcome, Change):
            return report
        started = time.monotonic()
        for index, command in enumerate(outcome.commands):
            ran = self._queued(compiled, command)
            if ran is None and index and self.options.stop.is_set():
                report.status = FAILED
                report.message = f"interrupted before `{command.display}`"
                break
            if ran is None and self._lost is not None:
                raise self._lost  # the connection was lost while the batch ran this command
            result = ran if ran is not None else self._run_command(compiled, command)
            self._last = result
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

        self._reread = None  # the host changes: facts read before are stale
        script = _task_script(compiled, command)
        if not command.progress:
            return self.conn.run(script, command.stdin, compiled.become, relay)
        self.listener("progress", (host, task, command.display))
        started, rc = time.monotonic(), None
        try:
            if command.upload is not None:  # a large file streams first (offline bundle)
                result = command.upload.send(self.conn, relay)
                if result.rc != 0:
                    rc = result.rc
                    return result
            result = self.conn.run(script, command.stdin, compiled.become, relay)
            rc = result.rc
            return result
        finally:
            seconds = time.monotonic() - started
            self.listener("progress-end", (host, task, command.display, seconds, rc))

    def _run_handlers(self, handlers: HandlerQueue) -> bool:
        ran = False
        for call in handlers.due(bind_handlers(self.handlers, self.registry.facts)):
            skip = call.skip or self._declined(call.handler, handler=True)
            if skip:
                report = self._new_report(call.handler)
                report.reason, report.handler = skip, True
                if not call.skip:  # declined at --step
                    report.status = SKIPPED
                self.emit(report)
                continue
            report = self._execute(call.handler, self._replan_live(call.handler)[0])
            report.handler = True
            self.emit(report)
            if report.status == FAILED:
                raise HostFailed(report.message)
            ran |= report.status == CHANGED
        return ran

    def _check_converged(self) -> None:
        ran = self._ran
        tail = self.options.record(self.report) if self.options.record else ""
        extra = {"tail": tail} if tail else {}
        host_values = {k: v for k, v in self.registry.facts.items() if not k.startswith(REG)}
        facts, known = _facts_of(ran), self._reread
        # A record to write rides on the re-probe, so the re-probe cannot be skipped then.
        if not tail and known is not None and all(known.has(f) for f in facts):
            state = HostState({f: known.get(f) for f in facts})  # read at the last batch's end
        else:
            state = probe(self.conn, facts, self.become, **extra)
        left = unconverged(self._ran_planned, state, host_values)
        if left:
            raise HostFailed(
                "did not converge: a fresh probe still plans changes:\n  " + "\n  ".join(left)
            )


def _merge_key(compiled: CompiledTask, command: Command) -> tuple | None:
    """What two consecutive dnf installs must share to be one transaction: a plain install
    (no registered result), the role, become, become_user and environment."""
    if dnf_installs(command) is None or compiled.register is not None:
        return None
    environment = tuple(getattr(compiled, "environment", ()) or ())
    return (compiled.role, compiled.become, getattr(compiled, "become_user", "root"), environment)


def _merge_dnf(pairs: list[tuple[CompiledTask, Command]], items: list[Item]) -> None:
    """Consecutive `dnf -y install` commands of one role in a batch become ONE dnf
    transaction, run by the first of them; each task is still reported on its own (and
    when the transaction fails, each command runs alone: the failure is its task's own)."""
    start = 0
    while start < len(pairs):
        key = _merge_key(*pairs[start])
        end = start + 1
        while key is not None and end < len(pairs) and _merge_key(*pairs[end]) == key:
            end += 1
        if end - start >= 2:
            names = [n for _, command in pairs[start:end] for n in dnf_installs(command) or []]
            first, command = pairs[start]
            merged = merged_dnf(names)
            items[start] = replace(
                items[start],
                script=merged_first(
                    start, _task_script(first, merged), _task_script(first, command)
                ),
            )
            for index in range(start + 1, end):
                compiled, command = pairs[index]
                items[index] = replace(
                    items[index], script=merged_rest(start, _task_script(compiled, command))
                )
        start = end


def _task_script(compiled: CompiledTask, command: Command) -> str:
    """A task's command as the host runs it, alone or in a batch: its `environment` first,
    then, with become, as its `become_user` (runuser)."""
    script = command.script
    environment = getattr(compiled, "environment", ())
    if environment:
        script = env_prefix(environment) + script
    user = getattr(compiled, "become_user", "root")
    if compiled.become and user != "root":
        script = as_user(user, script)
    return script


def internal_error(exc: BaseException) -> str:
    """A host's error for an exception no branch of the error tree expected: its type and
    message, and the traceback only when PROVISION_DEBUG=1."""
    text = f"internal error: {type(exc).__name__}: {exc}".rstrip()
    if os.environ.get("PROVISION_DEBUG") == "1":
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return f"{text}\n{trace.rstrip()}"
    return f"{text}\n(a bug in provision: please report it; PROVISION_DEBUG=1 shows the traceback)"


def run_all(compiled: Compiled, options: RunOptions, listener: Listener) -> list[HostReport]:
    """Every play in order; within a play, its hosts batch by batch (`serial`; no `serial`:
    one batch), the hosts of a batch in parallel (up to --forks).

    Whatever happens on one host is that host's result: an unexpected exception fails that
    host alone, and the others go on. A batch whose failures go beyond the play's limit
    (`batches.stops_run`) stops the run: no later batch, and no later play, is started, and
    their hosts are never connected to (`not started`). --batch-pause waits between two
    batches of a play; Ctrl-C ends the wait. A second Ctrl-C (KeyboardInterrupt) stops
    waiting at once: hosts still being worked on, and those not reached, are reported as
    interrupted, and the reports come back all the same, so the recap and last-run.json are
    written. What became of each batch is in `options.batches` (and a "batch" event)."""
    reports: dict[str, HostReport] = {}
    connections: dict[str, Connection] = {}
    sharing = compiled.sharing  # values across hosts (project/sharing.py)
    if sharing is not None:
        sharing.begin()
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
            if sharing is not None:
                sharing.leave(name)
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
            if hasattr(conn, "become"):  # su: whom this play's become_user makes it
                conn.become.target = su_target(host_play.host)
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

    def not_started(record: BatchRecord, host_plays: list[HostPlay], reason: str) -> None:
        """A batch the run does not reach: its hosts are never connected to for it."""
        record.state, record.reason = NOT_STARTED, reason
        for host_play in host_plays:
            report = reports[host_play.host.name]
            remaining[report.name] -= 1
            if report.name in dead:
                continue
            report.not_started.append(record.play)
            if not report.tasks and report.status == OK:
                report.status, report.error = Status.NOT_STARTED, f"not started: {reason}"

    interrupted = False
    stopped = ""  # why the run stops starting batches
    count = len(compiled.plays)
    rolling = (list(compiled.rolling) + [Rolling()] * count)[:count]  # per play
    try:
        for (play_name, host_plays), keys in zip(compiled.plays, rolling, strict=True):
            groups = cut(host_plays, keys.serial)
            shown = bool(keys.serial) or keys.max_fail_percentage is not None
            for index, group in enumerate(groups, 1):
                names = [hp.host.name for hp in group]
                record = BatchRecord(play_name, index, len(groups), names)
                if shown:
                    options.batches.append(record)
                if stopped:
                    not_started(record, group, stopped)
                    if shown:
                        listener("batch", record)
                    continue
                if index > 1 and options.batch_pause > 0 and not options.stop.is_set():
                    listener("batch-pause", (record, options.batch_pause))
                    _pause(options.batch_pause, options.stop)
                record.state = RUNNING
                if shown:
                    listener("batch", record)
                before = {n for n in names if n in dead}
                workers = max(1, min(options.forks, len(group)))
                if sharing is not None:  # a host after those whose values it reads
                    group = sharing.open_batch(group, host_plays)
                pool = ThreadPoolExecutor(max_workers=workers)
                try:
                    futures = [pool.submit(one_host, hp) for hp in group]
                    if options.step is not None:  # --step: the questions, on this thread
                        options.step.serve(futures, names, options.stop)
                    for future in futures:
                        future.result()
                except KeyboardInterrupt:
                    options.stop.set()
                    interrupted = True
                    record.state = INTERRUPTED
                    pool.shutdown(wait=False, cancel_futures=True)
                    break
                pool.shutdown(wait=True)
                record.failed = [n for n in names if n in dead and n not in before]
                size = len(names) - len(before)
                if options.stop.is_set():
                    record.state = INTERRUPTED
                elif stops_run(len(record.failed), size, keys.max_fail_percentage):
                    record.state = STOPPED
                    record.reason = why_stopped(len(record.failed), size, keys.max_fail_percentage)
                    stopped = (
                        f"{record.label()} of play {play_name!r} stopped the run: {record.reason}"
                    )
                else:
                    record.state = RAN
                if shown:
                    listener("batch", record)
            if interrupted:
                break
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


def _pause(seconds: float, stop: threading.Event) -> None:
    """Wait `seconds` between two batches, in short slices, so that Ctrl-C (which sets
    `stop`) ends the wait at once."""
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 0.2))


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
