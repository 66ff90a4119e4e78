"""The JSON renderer: one document with hosts → tasks → status, changes, diffs, timings."""

from __future__ import annotations

import json
from typing import Any

from provision import __version__
from provision.execution.batches import BatchRecord
from provision.execution.reports import HostReport, TaskReport
from provision.reporting.mask import Masker
from provision.reporting.summary import exit_reason, outcome
from provision.reporting.terminal import json_terminal_safe

FORMAT_VERSION = 1


def task_json(task: TaskReport) -> dict[str, Any]:
    return {
        "name": task.name,
        "role": task.role,
        "type": task.type,
        "handler": task.handler,
        "status": task.status,
        "changes": task.summary,
        "diffs": [{"path": d.path, "unified": "\n".join(d.unified())} for d in task.diffs],
        "reason": task.reason,
        "message": task.message,
        "output": task.output,
        "commands": task.commands,
        "duration": round(task.duration, 3),
        "location": task.location,
        "disruption": task.disruption.as_dict() if task.disruption else None,
    }


def batch_json(record: BatchRecord) -> dict[str, Any]:
    return {
        "play": record.play,
        "batch": record.index,
        "of": record.count,
        "hosts": record.hosts,
        "state": record.state,
        "failed": record.failed,
        "reason": record.reason,
    }


def document(
    command: str,
    inventory: str,
    playbook: str,
    reports: list[HostReport],
    exit_code: int,
    masker: Masker,
    batches: list[BatchRecord] | None = None,
) -> str:
    groups = outcome(command, reports)
    hosts = {}
    for r in reports:
        hosts[masker(r.name)] = {
            "status": r.status,
            "error": r.error,
            "duration": round(r.duration, 3),
            "probe_seconds": round(r.probe_seconds, 3),
            "connections": r.connections,
            "remote_commands": r.commands_run,
            "counts": {s: r.count(s) for s in ("ok", "changed", "pending", "failed", "skipped")},
            "tasks": [task_json(t) for t in r.tasks],
            "disruption": r.disruption.as_dict() if r.disruption else None,
            "not_started": r.not_started,
        }
    doc = {
        "format": FORMAT_VERSION,
        "provision": __version__,
        "command": command,
        "inventory": inventory,
        "playbook": playbook,
        "exit_code": exit_code,
        "exit_reason": exit_reason(command, exit_code, groups),
        "summary": groups,
        "hosts": hosts,
        "batches": [batch_json(b) for b in batches or []],
    }
    # Every string value is masked before it is encoded (of the keys, only host names
    # are data: masked above); the text stays valid JSON whose strings escape every
    # control, separator and bidi character, so it is also safe on a terminal.
    doc = masker.deep(doc, keys=False)
    return json_terminal_safe(json.dumps(doc, indent=2, ensure_ascii=False))
