"""One `plan` or `apply` run under change control: the hooks `cli._run` calls (prepare,
run, finish) and what `apply PLAN` reads from the plan file before any host is touched."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from provision.changecontrol import audit, confirm
from provision.changecontrol.gate import STALE, Gate
from provision.changecontrol.inputs import (
    changed_inputs,
    digest_inputs,
    git_state,
    input_files,
    playbook_files,
    values_digest,
)
from provision.changecontrol.keys import PlanKey, load_key
from provision.changecontrol.planfile import (
    SCHEMA,
    check_expected,
    check_integrity,
    looks_like_plan,
    read_plan,
    render,
    seal,
    sha256_hex,
    write_plan,
)
from provision.errors import InputError
from provision.execution.reports import FAILED, HostReport
from provision.reporting.mask import Masker

STATE_DIR = Path(".provision")
EXIT_STALE = 5
EXIT_DECLINED = 6


def _fail(exc: InputError) -> click.ClickException:
    from provision.cli import InputFailure

    return InputFailure(str(exc))


class Session:
    def __init__(self, command: str) -> None:
        self.command = command  # "plan" or "apply"
        self.output: Path | None = None
        self.check = False
        self.yes = False
        self.stale_mode = "skip"
        self.audit_log: str | None = None
        self.syslog = False
        self.doc: dict[str, Any] | None = None  # the plan file, for apply PLAN
        self.plan_path: Path | None = None
        self.plan_sha256: str | None = None
        self.key: PlanKey | None = None
        self.gate: Gate | None = None
        self.refused: dict[str, list[str]] = {}
        self.input_drift: list[str] = []
        self.notes: list[str] = []
        self.git: dict[str, Any] = {}

    # ---- before compiling ---------------------------------------------------------------

    def arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """For `apply PLAN`: the run the plan was made for; options that would change it
        are refused."""
        if self.doc is None:
            return kwargs
        given = [
            flag
            for flag, name in (
                ("--playbook", "playbook"),
                ("--limit", "limit"),
                ("--inventory", "inventory_sources"),
            )
            if kwargs.get(name)
        ] + [
            flag
            for flag, name in (("--tags", "tags"), ("--skip-tags", "skip_tags"))
            if kwargs.get(name)
        ]
        if given:
            raise _fail(
                InputError(
                    f"{', '.join(given)}: a plan file fixes the playbook, hosts and tags; "
                    "make a new plan instead"
                )
            )
        run = self.doc["run"]
        return {
            **kwargs,
            "inventory": Path(run["inventory"]),
            "inventory_sources": tuple(run.get("inventory_sources") or ()),
            "playbook": Path(run["playbook"]),
            "limit": run["limit"],
            "tags": ",".join(run["tags"]),
            "skip_tags": ",".join(run["skip_tags"]),
        }

    # ---- the hooks in cli._run ------------------------------------------------------------

    def prepare(
        self,
        compiled: Any,
        options: Any,
        masker: Masker,
        inventory: Path,
        playbook: Path,
        extra_vars: list[str],
        selection: Any,
    ) -> None:
        self.compiled, self.masker = compiled, masker
        self.inventory, self.playbook = inventory, playbook
        self.extra_vars, self.selection = extra_vars, selection
        self.git = git_state()
        self.options = options
        try:
            if self.output is not None:
                self.key = load_key(STATE_DIR, create=True)
                self.inputs = self._inputs()
            if self.doc is not None:
                assert self.key is not None
                self._check_inputs()
        except InputError as exc:
            raise _fail(exc)
        if self.command == "plan":
            # The hosts' last-apply records are read (in the same probe) only where the
            # drift note can say something: the project is a git checkout, or a plan file
            # is written (which records them).
            if self.output is None and not self.git.get("commit"):
                return
            key = self.key or PlanKey(os.urandom(32))
            self.gate = Gate(key, compiled, extra_groups=frozenset({"last_apply"}))
            options.gate, options.fact_groups = self.gate, frozenset({"last_apply"})
            return
        if self.doc is not None:
            self.gate = Gate(self.key, compiled, planned=_entries(self.doc))
            options.gate = self.gate
        if not self.check:
            self.info = audit.RunInfo(self.git, self.plan_sha256)
            options.record = lambda report: audit.record_script(
                audit.host_record(self.info, report, masker)
            )

    def _inputs(self) -> list[dict]:
        assert self.key is not None
        try:
            files = input_files(self.compiled, self.inventory, self.extra_vars)
            files += playbook_files(self.playbook)
        except InputError:
            raise
        return digest_inputs(self.key, files, self.compiled.secrets())

    def _extra(self) -> dict[str, Any]:
        from provision.project.compile import parse_extra_vars

        assert self.key is not None
        values = parse_extra_vars(self.extra_vars)
        return {"count": len(values), "digest": values_digest(self.key, values)}

    def _secrets(self) -> dict[str, Any]:
        assert self.key is not None
        secrets = self.compiled.secrets()
        return {"count": len(secrets), "digest": values_digest(self.key, secrets)}

    def _check_inputs(self) -> None:
        assert self.doc is not None
        lines = changed_inputs(self.doc["inputs"], self._inputs())
        if self._extra()["digest"] != self.doc["extra_vars"]["digest"]:
            lines.append("the extra variables (-e) differ from the plan's")
        if self._secrets()["digest"] != self.doc["secrets"]["digest"]:
            lines.append("a secret value differs from the plan's")
        self.input_drift = lines

    def run(self, compiled: Any, options: Any, listener: Any, console: Any, runner: Any) -> list:
        if self.input_drift:
            return self._refuse_all(
                compiled,
                ["an input changed since the plan:"] + ["  " + line for line in self.input_drift],
            )
        if self.command == "apply" and not self.check and not self.yes and confirm.interactive():
            if self.doc is not None:
                if not confirm.ask(summary_lines(self.doc, self.masker), "Apply this plan?"):
                    self._declined()
            else:
                early = self._confirm_fresh_plan(compiled, options, runner, console)
                if early is not None:
                    return early
        if self.doc is not None and self.stale_mode == "abort":
            early = self._prepass(compiled, options, runner, console)
            if early is not None:
                return early
        return runner(compiled, options, listener, console)

    def _declined(self) -> None:
        click.echo("declined: nothing was changed", err=True)
        sys.exit(EXIT_DECLINED)

    def _confirm_fresh_plan(
        self, compiled: Any, options: Any, runner: Any, console: Any
    ) -> list | None:
        """Plan, show, ask; then apply exactly what was shown (a host that moved in
        between is refused as stale)."""
        recorder = Gate(PlanKey(os.urandom(32)), compiled)
        first = _trial(options, recorder)
        reports = runner(compiled, first, lambda event, payload: None, console)
        doc = {"plays": self._plays(recorder), "unplanned": _unplanned(reports)}
        if not any(h["pending"] for p in doc["plays"] for h in p["hosts"]):
            return reports
        if not confirm.ask(summary_lines(doc, self.masker), "Apply these changes?"):
            self._declined()
        self.gate = Gate(recorder.key, compiled, planned=recorder.entries)
        options.gate = self.gate
        return None

    def _prepass(self, compiled: Any, options: Any, runner: Any, console: Any) -> list | None:
        """--stale=abort: check every host before any is changed."""
        assert self.gate is not None
        check = Gate(self.gate.key, compiled, planned=self.gate.saved)
        reports = runner(
            compiled,
            _trial(options, check),
            (lambda event, payload: None),
            console,
        )
        if not check.stale:
            return None
        self.refused.update(check.stale)
        out = []
        for report in reports:
            if report.name in check.stale:
                out.append(report)
            else:
                self.refused[report.name] = []
                out.append(
                    HostReport(
                        report.name,
                        status=FAILED,
                        error="not touched: --stale=abort and the plan is stale for "
                        + ", ".join(sorted(check.stale)),
                    )
                )
        return out

    def _refuse_all(self, compiled: Any, lines: list[str]) -> list:
        reports: dict[str, HostReport] = {}
        for _, hps in compiled.plays:
            for hp in hps:
                name = hp.host.name
                self.refused[name] = lines
                reports[name] = HostReport(
                    name,
                    status=FAILED,
                    error=f"{STALE}: refused, nothing changed:\n  " + "\n  ".join(lines),
                )
        return list(reports.values())

    def finish(self, reports: list, code: int, json_mode: bool) -> int:
        say = (lambda line: click.echo(line, err=True)) if json_mode else click.echo
        if self.gate is not None:
            self.refused.update(self.gate.stale)
        if self.command == "plan":
            for line in self._drift_notes() if self.gate is not None else []:
                say(self.masker(line))
            if self.output is not None:
                self._write_plan(reports, say)
            return code
        if self.refused and code != 130:
            others = [r for r in reports if r.failed and r.name not in self.refused]
            code = 1 if others else EXIT_STALE
        if not self.check:
            self._audit(reports, code, say)
        return code

    # ---- plan -o ---------------------------------------------------------------------------

    def _plays(self, gate: Gate) -> list[dict[str, Any]]:
        plays = []
        for index, (name, hps) in enumerate(self.compiled.plays):
            hosts = []
            for hp in hps:
                entry = gate.entries.get((index, hp.host.name))
                if entry is not None:
                    hosts.append(self._shown_entry(entry))
            plays.append({"name": self.masker(name), "hosts": hosts})
        return plays

    def _shown_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Display fields masked; digests left as they are (masking could touch them)."""
        mask = self.masker
        facts = {k: {**v, "fact": mask(v["fact"])} for k, v in entry["facts"].items()}
        return {
            **entry,
            "facts": facts,
            "tasks": mask.deep(entry["tasks"], keys=False),
            "last_apply": mask.deep(entry["last_apply"], keys=False),
        }

    def _write_plan(self, reports: list, say: Any) -> None:
        assert self.key is not None and self.gate is not None and self.output is not None
        plays = self._plays(self.gate)
        hosts = [h for p in plays for h in p["hosts"]]
        doc = {
            "schema": SCHEMA,
            "created": audit.now(),
            "created_by": audit.controller_user(),
            "provision_version": _version(),
            "project": self.git,
            "run": {
                "inventory": str(_paths(self.inventory)[0]),
                "inventory_sources": [str(p) for p in _paths(self.inventory)[1:]],
                "playbook": str(self.playbook),
                "limit": self.selection.limit,
                "tags": list(self.selection.tags),
                "skip_tags": list(self.selection.skip_tags),
            },
            "key_id": self.key.key_id,
            "inputs": self.inputs,
            "extra_vars": self._extra(),
            "secrets": self._secrets(),
            "plays": plays,
            "unplanned": self.masker.deep(_unplanned(reports), keys=False),
            "summary": {
                "hosts": len({h["host"] for h in hosts}),
                "hosts_to_change": len({h["host"] for h in hosts if h["pending"]}),
                "changes": sum(h["pending"] for h in hosts),
            },
        }
        data = render(seal(doc, self.key))
        try:
            write_plan(self.output, data)
        except InputError as exc:
            raise _fail(exc)
        say(f"plan written to {self.output}")
        say(f"sha256: {sha256_hex(data)}")
        if doc["unplanned"]:
            names = ", ".join(u["host"] for u in doc["unplanned"])
            say(f"warning: not in the plan (failed or unreachable): {names}")

    def _drift_notes(self) -> list[str]:
        assert self.gate is not None
        notes = []
        current = self.git.get("commit")
        for (_, host), entry in sorted(self.gate.entries.items()):
            last = entry.get("last_apply")
            if not isinstance(last, dict):
                continue
            head = (
                f"note: {host}: last applied {last.get('when', '?')} by {last.get('who', '?')} "
                f"at commit {str(last.get('commit'))[:12]}"
            )
            if current and last.get("commit") and last.get("commit") != current:
                notes.append(f"{head}; the project is now at {current[:12]}")
            elif entry["pending"]:
                notes.append(f"{head}; the host drifted since: {entry['pending']} change(s)")
        return list(dict.fromkeys(notes))

    # ---- apply: the audit trail --------------------------------------------------------------

    def _audit(self, reports: list, code: int, say: Any) -> None:
        info = getattr(self, "info", None) or audit.RunInfo(self.git, self.plan_sha256)
        lines = audit.audit_lines(
            info,
            reports,
            code,
            self.refused,
            str(self.inventory),
            str(self.playbook),
            self.masker,
        )
        warning = audit.append_lines(audit.audit_path(self.audit_log), lines)
        if warning:
            click.echo(warning, err=True)
        if self.syslog or os.environ.get(audit.SYSLOG_ENV) == "1":
            audit.to_syslog(lines)


def _trial(options: Any, gate: Gate) -> Any:
    """Options for a run that only plans (before the question, or --stale=abort's check):
    no record, and its own list of batches (rolling) so the real run's recap is its own."""
    changes: dict[str, Any] = {"apply": False, "gate": gate, "record": None}
    if hasattr(options, "batches"):
        changes["batches"] = []
    return replace(options, **changes)


def _paths(inventory: Any) -> list[Path]:
    """The inventory sources' paths (a run's `Sources`, or one path)."""
    return list(getattr(inventory, "paths", None) or [inventory])


def _raw(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the plan file {path}: {exc.strerror or exc}")


def _version() -> str:
    from provision import __version__

    return __version__


def _unplanned(reports: list) -> list[dict[str, str]]:
    return [
        {"host": r.name, "status": str(r.status), "error": r.error}
        for r in reports
        if r.failed or r.unreachable
    ]


def _entries(doc: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    return {(i, h["host"]): h for i, play in enumerate(doc["plays"]) for h in play["hosts"]}


def summary_lines(doc: dict[str, Any], masker: Masker) -> list[str]:
    """The plan in short, for the question before apply."""
    from provision.reporting.terminal import escape_control

    def text(value: Any) -> str:
        return escape_control(masker(str(value)))

    lines: list[str] = []
    hosts: set[str] = set()
    changing: set[str] = set()
    for play in doc["plays"]:
        lines.append(f"PLAY {text(play['name'])}")
        for host in play["hosts"]:
            hosts.add(host["host"])
            if not host["pending"]:
                lines.append(f"  {text(host['host'])}: in sync")
                continue
            changing.add(host["host"])
            lines.append(f"  {text(host['host'])}: {host['pending']} change(s)")
            for task in host["tasks"]:
                if task["status"] != "pending":
                    continue
                role = f"{text(task['role'])} : " if task.get("role") else ""
                lines.append(f"    ~ {role}{text(task['name'])}")
                lines += [f"        {text(c)}" for c in task["changes"]]
    for item in doc.get("unplanned") or []:
        lines.append(f"  {text(item['host'])}: {text(item['status'])}: not in the plan")
    lines.append(f"{len(changing)} of {len(hosts)} host(s) to change")
    return lines


def for_plan(output: Path | None) -> Session:
    session = Session("plan")
    session.output = output
    return session


def for_apply(
    target: Path | None,
    check: bool,
    yes: bool,
    stale: str,
    expect_sha256: str | None,
    audit_log: str | None,
    audit_syslog: bool,
) -> Session:
    """Reads and checks a plan file given in place of the inventory, before anything else
    (a file that is not the approved one, malformed or modified: exit 2, nothing touched)."""
    session = Session("apply")
    session.check, session.yes, session.stale_mode = check, yes, stale
    session.audit_log, session.syslog = audit_log, audit_syslog
    if target is None or not looks_like_plan(target):
        if expect_sha256 is not None:
            raise _fail(InputError(f"--expect-sha256 is for a plan file; {target} is not one"))
        return session
    try:
        if expect_sha256 is not None:  # the approved file or nothing: checked before parsing
            check_expected(_raw(target), expect_sha256, str(target))
        doc, data = read_plan(target)
        session.plan_sha256 = check_expected(data, expect_sha256, str(target))
        session.key = load_key(STATE_DIR, create=False)
        check_integrity(doc, session.key, str(target))
    except InputError as exc:
        raise _fail(exc)
    session.doc, session.plan_path = doc, target
    return session
