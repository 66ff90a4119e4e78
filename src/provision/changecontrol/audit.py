"""The audit trail: one JSON line per host per apply in the controller's audit log
(optionally also its syslog), and the host's own record of its last apply, written by
the same remote command that re-probes the host after its changes."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provision import __version__
from provision.execution.reports import CHANGED, HostReport
from provision.facts.host import last_apply_record
from provision.reporting.mask import Masker

AUDIT_ENV = "PROVISION_AUDIT_LOG"
SYSLOG_ENV = "PROVISION_AUDIT_SYSLOG"
DEFAULT_AUDIT_LOG = Path(".provision") / "audit.jsonl"
MAX_TASKS_RECORDED = 200
RECORD_SCHEMA = 1


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def controller_user() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


@dataclass
class RunInfo:
    """What every audit line and host record of one apply share."""

    git: dict[str, Any]
    plan_sha256: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user: str = field(default_factory=controller_user)
    started: str = field(default_factory=now)


def changed_tasks(report: HostReport) -> list[dict[str, Any]]:
    return [
        {"task": t.name, "role": t.role, "handler": t.handler, "changes": t.summary}
        for t in report.tasks
        if t.status == CHANGED
    ][:MAX_TASKS_RECORDED]


def host_record(info: RunInfo, report: HostReport, masker: Masker) -> dict[str, Any]:
    """The host's last-apply record (what `provision facts` shows as last_apply)."""
    record = {
        "schema": RECORD_SCHEMA,
        "run_id": info.run_id,
        "when": now(),
        "who": info.user,
        "commit": info.git.get("commit"),
        "dirty": info.git.get("dirty"),
        "plan_sha256": info.plan_sha256,
        "provision": __version__,
        "changed": [{"task": c["task"], "role": c["role"]} for c in changed_tasks(report)],
    }
    return masker.deep(record, keys=False)


def record_script(record: dict[str, Any]) -> str:
    """Shell text that writes the record atomically (mode 0644) at last_apply_record(); the
    JSON is one quoted word, placed by us."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=True)
    path = last_apply_record()
    folder = shlex.quote(os.path.dirname(path))
    target = shlex.quote(path)
    return (
        f"umask 022; mkdir -p -m 0755 {folder} && "
        f"t=$(mktemp {folder}/.last-apply.XXXXXXXX) && "
        f'printf \'%s\\n\' {shlex.quote(text)} > "$t" && chmod 0644 "$t" && '
        f'mv -f "$t" {target} || rm -f "$t"'
    )


def audit_lines(
    info: RunInfo,
    reports: list[HostReport],
    code: int,
    stale: dict[str, list[str]],
    inventory: str,
    playbook: str,
    masker: Masker,
) -> list[str]:
    lines = []
    for report in sorted(reports, key=lambda r: r.name):
        result = "refused: stale plan" if report.name in stale else str(report.status)
        line = {
            "time": now(),
            "run_id": info.run_id,
            "started": info.started,
            "user": info.user,
            "commit": info.git.get("commit"),
            "dirty": info.git.get("dirty"),
            "plan_sha256": info.plan_sha256,
            "inventory": inventory,
            "playbook": playbook,
            "host": report.name,
            "result": result,
            "error": report.error,
            "stale": stale.get(report.name, []),
            "changes": changed_tasks(report),
            "exit_code": code,
            "provision": __version__,
        }
        lines.append(json.dumps(masker.deep(line, keys=False), sort_keys=True, ensure_ascii=True))
    return lines


def audit_path(option: str | None) -> Path:
    return Path(option or os.environ.get(AUDIT_ENV) or DEFAULT_AUDIT_LOG)


def append_lines(path: Path, lines: list[str]) -> str | None:
    """All lines in ONE write on an O_APPEND descriptor, so lines of concurrent runs never
    interleave. A warning when the log cannot be written (the run already happened)."""
    if not lines:
        return None
    data = ("\n".join(lines) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"warning: could not append to the audit log {path}: {exc.strerror or exc}"
    if written != len(data):
        return f"warning: the audit log {path} took only {written} of {len(data)} bytes"
    return None


def to_syslog(lines: list[str]) -> None:
    import syslog

    syslog.openlog("provision", 0, syslog.LOG_AUTHPRIV)
    for line in lines:
        syslog.syslog(syslog.LOG_NOTICE, line)
    syslog.closelog()
