"""`provision show PLAN`: a saved plan rendered as `plan` renders one, or its JSON."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from provision.changecontrol.keys import load_key
from provision.changecontrol.planfile import check_integrity, read_plan, sha256_hex
from provision.errors import InputError


@dataclass(frozen=True)
class StoredDiff:
    """A diff as the plan file keeps it (already unified and masked)."""

    path: str
    text: str

    def unified(self) -> list[str]:
        return self.text.split("\n") if self.text else []


def _integrity(doc: dict[str, Any], where: str) -> str:
    try:
        key = load_key(Path(".provision"), create=False)
    except InputError:
        return "not checked: this controller has no plan key"
    try:
        check_integrity(doc, key, where)
    except InputError as exc:
        if doc["key_id"] != key.key_id:
            return f"not checked: made with another plan key ({doc['key_id']})"
        raise exc
    return "ok (checked with this controller's plan key)"


def _reports(doc: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    from provision.execution.reports import HostReport, Status, TaskReport

    plays = []
    for play in doc["plays"]:
        reports = []
        for host in play["hosts"]:
            report = HostReport(host["host"])
            for task in host["tasks"]:
                try:
                    status = Status(task["status"])
                except ValueError:
                    status = Status.FAILED
                report.tasks.append(
                    TaskReport(
                        task["name"],
                        task.get("role"),
                        str(task.get("type", "")),
                        status,
                        summary=list(task["changes"]),
                        diffs=[StoredDiff(d["path"], d["unified"]) for d in task["diffs"]],
                        reason=str(task.get("reason", "")),
                        message=str(task.get("message", "")),
                        commands=list(task["commands"]),
                        handler=bool(task.get("handler")),
                        location=str(task.get("location", "")),
                    )
                )
            reports.append(report)
        plays.append((play["name"], reports))
    return plays


@click.command(
    "show",
    epilog="\b\nExit codes: 0 shown, 2 not a valid plan file or modified since it was written.",
)
@click.argument("plan_file", metavar="PLAN", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format (json: the plan file's document, schema provision-plan/1).",
)
@click.option("-v", "--verbose", count=True, help="-v: every task; -vv: and the commands.")
@click.option("--color/--no-color", "color", default=None, help="Colour the output or not.")
def show(plan_file: Path, output_format: str, verbose: int, color: bool | None) -> None:
    """Show a saved plan file (`plan -o`) as `plan` shows a plan, or as JSON."""
    from provision.cli import InputFailure
    from provision.reporting.console import Console
    from provision.reporting.mask import Masker

    try:
        doc, data = read_plan(plan_file)
        integrity = _integrity(doc, str(plan_file))
    except InputError as exc:
        raise InputFailure(str(exc))
    if output_format == "json":
        click.echo(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True))
        return
    console = Console(
        Masker(),
        stream=sys.stdout,
        plan=True,
        diff=True,
        verbosity=verbose,
        colour=color,
        live=False,
    )
    run = doc["run"]
    project = doc.get("project") or {}
    header = [
        f"plan file {plan_file}  sha256 {sha256_hex(data)}",
        f"made {doc['created']} by {doc['created_by']} with provision {doc['provision_version']}",
        f"project commit {project.get('commit') or '(not a git checkout)'}"
        + (" (uncommitted changes)" if project.get("dirty") else ""),
        f"inventory {run['inventory']}  playbook {run['playbook']}"
        + (f"  limit {run['limit']}" if run["limit"] else ""),
        f"inputs {len(doc['inputs'])} files hashed; integrity {integrity}",
    ]
    console.write(header)
    everyone = {}
    for name, reports in _reports(doc):
        console.play(name, [r.name for r in reports])
        for report in reports:
            merged = everyone.setdefault(report.name, report)
            if merged is not report:
                merged.tasks += report.tasks
            for task in report.tasks:
                console.listener("task", (report.name, task))
    from provision.execution.reports import FAILED, UNREACHABLE, HostReport

    for item in doc.get("unplanned") or []:
        status = UNREACHABLE if item.get("status") == "unreachable" else FAILED
        everyone[item["host"]] = HostReport(
            item["host"], status=status, error=item.get("error", "")
        )
        console.host_error(everyone[item["host"]])
    pending = any(r.pending for r in everyone.values())
    console.recap(list(everyone.values()), "plan", 4 if pending else 0)
