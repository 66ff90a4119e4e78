"""What the `compose` and `stack` task types share: a Docker project whose compose file(s)
are written on the host, brought up by one docker command, and recorded by hash.

Each such task keeps a record of what it last brought up in
`/var/lib/provision/KIND/NAME.json` (KIND: `compose` or `stack`). Its probe command
starts with `record_probe` (no docker CLI → exit `MISSING_TOOL`; then the record as one
base64 line under `@@record`) and prints further `@@SECTION` blocks, which
`read_sections` splits and whose record it decodes. A plan writes each compose file that
differs (`write_changed`), runs the docker command and rewrites the record
(`run_and_record`), or removes the project and forgets the record (`removal`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from provision.errors import InputError
from provision.facts.base import FactError, text
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import (
    Change,
    Command,
    Diff,
    Disruption,
    Failed,
    HostState,
    remove_file,
    shell_words,
    write_file,
)
from provision.project.templating import render_template_file
from provision.project.yamlfile import read_text
from provision.tasks.base import TaskType
from provision.tasks.wholefile import role_file

MISSING_TOOL = 127
MAX_COMPOSE_BYTES = 1024 * 1024  # the probe reads a compose file whole up to this size

SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
# An absolute path of plain components: no `..`, no control or line-break characters.
_PATH_PART = re.compile(r"[A-Za-z0-9_.@+-][A-Za-z0-9_.@+ -]{0,254}")


def path_problem(path: str, what: str) -> str | None:
    """Why `path` is not an absolute, plain directory path (None: it is)."""
    if not path.startswith("/") or path == "/":
        return f"{what} must be an absolute path below /, found {path!r}"
    parts = path.strip("/").split("/")
    for part in parts:
        if part in (".", "..") or not _PATH_PART.fullmatch(part) or part.endswith(" "):
            return (
                f"{what}: component {part[:80]!r} is not allowed (letters, digits, `_.@+-` and"
                " inner spaces; no `..`, no control or line-break characters)"
            )
    if len(path) > 1024:
        return f"{what} is too long ({len(path)} characters, at most 1024)"
    return None


def service_name_problem(name: str) -> str | None:
    if SERVICE_NAME.fullmatch(name):
        return None
    return f"service name {name[:80]!r} is not valid (letters, digits, `_.-`, at most 63)"


# ---------------------------------------------------------------- the compose file


def load_compose(text_: str, origin: str) -> dict[str, Any]:
    """A compose file's YAML as a mapping with a `services` mapping (or none); raises
    ValueError saying what is wrong."""
    try:
        doc = yaml.safe_load(text_)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"{origin} is not valid YAML{where}: {getattr(exc, 'problem', exc)}")
    except RecursionError:
        raise ValueError(f"{origin} is nested too deeply")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"{origin} must be a mapping, found {type(doc).__name__}")
    services = doc.get("services")
    if services is not None and not isinstance(services, dict):
        raise ValueError(f"{origin}: `services` must be a mapping")
    for name, service in (services or {}).items():
        if not isinstance(name, str) or service_name_problem(name):
            raise ValueError(f"{origin}: {service_name_problem(str(name))}")
        if service is not None and not isinstance(service, dict):
            raise ValueError(f"{origin}: service {name!r} must be a mapping")
    return doc


def checked_compose(task: TaskType, text_: str, origin: str) -> tuple[dict[str, Any], bytes]:
    """A compose file given to `task` (rendered or inline): its YAML and its bytes, or an
    InputError at the task's line when it is not a compose file or is too large."""
    try:
        doc = load_compose(text_, origin)
    except ValueError as exc:
        raise InputError(f"{task.type_name}: {exc}", task.context.location)
    data = text_.encode()
    if len(data) > MAX_COMPOSE_BYTES:
        raise task.fail(f"{origin} is larger than {MAX_COMPOSE_BYTES} bytes")
    return doc, data


def role_template(task: TaskType, src: str, argument: str) -> Path:
    """The template `src` under the role's `templates/` (a play's own task: beside the
    playbook); it must stay inside that folder and exist."""
    return role_file(task, "templates/", src, argument, at=argument)


def render_role_template(task: TaskType, src: str, argument: str) -> str:
    """The template `src` of the task's role rendered with the task's variables."""
    path = role_template(task, src, argument)
    return render_template_file(read_text(path, "template"), task.context.variables, str(path))


# ---------------------------------------------------------------- the record and the probe


def record_path(name: str, kind: str = "compose") -> str:
    return f"/var/lib/provision/{kind}/{name}.json"


def record_probe(name: str, kind: str) -> str:
    """The probe's first commands: exit MISSING_TOOL without a docker CLI, else print the
    record (base64, one line) under `@@record`. Ends with `; ` for the rest to follow."""
    record = shlex.quote(record_path(name, kind))
    return (
        f"command -v docker >/dev/null || exit {MISSING_TOOL}; "
        f"echo '@@record'; if [ -f {record} ]; then base64 -w0 -- {record}; echo; fi; "
    )


def parse_record(lines: list[str], what: str) -> dict[str, Any] | None:
    """The record file's JSON (base64 in the probe's output); None when there is none.
    A record that cannot be read counts as none: the next run rewrites it."""
    if not lines:
        return None
    try:
        value = json.loads(base64.b64decode(lines[0].strip(), validate=True))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def read_sections(
    stdout: bytes, names: Sequence[str], what: str
) -> tuple[dict[str, list[str]], dict[str, Any] | None]:
    """The probe's `@@SECTION` blocks (non-blank lines each; only `names` count as
    headers) and the decoded record. Output before the first header, or no `@@record`,
    raises FactError naming `what`."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text(stdout).splitlines():
        if line.startswith("@@") and line[2:] in names:
            current = line[2:]
            sections[current] = []
        elif current is not None and line.strip():
            sections[current].append(line)
        elif current is None and line.strip():
            raise FactError(f"unexpected output for {what}: {line[:200]!r}")
    if "record" not in sections:
        raise FactError(f"unexpected output for {what}")
    return sections, parse_record(sections["record"], what)


# ---------------------------------------------------------------- plan pieces


def docker_failure(docker: bool, engine: bool, compose: bool = True) -> Failed | None:
    """Why the project cannot be planned on this host (None: docker, the compose plugin
    where needed, and a running engine are there)."""
    if not docker:
        return Failed("the docker CLI is not installed (install docker-ce first)")
    if not compose:
        return Failed("`docker compose` is not available: install docker-compose-plugin")
    if not engine:
        return Failed("the Docker engine is not running (docker.service)")
    return None


def write_changed(
    state: HostState, path: str, want: bytes, mode: int, secret: bool
) -> tuple[Diff, Command] | None:
    """None when the host's `path` holds `want` already; else the file's diff and the
    command that writes it (root:root, `mode`), with `state` updated to the new file."""
    before: FileState = state.get(FileFact(path))
    if before.exists and before.known and before.same_content(want):
        return None
    old = "" if not before.exists or before.content is None else text(before.content)
    state.set(FileFact(path), FileState(True, mode=mode, content=want))
    return Diff(path, old, want.decode(), secret), write_file(path, want, mode, "root", "root")


def run_and_record(words: Sequence[str], name: str, kind: str, record: Any) -> list[Command]:
    """The docker command that brings the project up, then the record rewritten."""
    line = shell_words(*words)
    data = (json.dumps(record, sort_keys=True, indent=1) + "\n").encode()
    return [
        Command(line, line, progress=True),
        write_file(record_path(name, kind), data, 0o600, "root", "root"),
    ]


def removal(words: Sequence[str], name: str, kind: str, summary: str, stops: str) -> Change:
    """The change that removes the project (`words`) and forgets its record."""
    line = shell_words(*words)
    return Change(
        [summary],
        [Command(line, line), remove_file(record_path(name, kind))],
        disruption=Disruption("restart", f"{kind}:{name}", stops),
    )
