"""What `template` and `copy` share: a whole file with mode, owner, format and backup."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, HostState, Outcome
from provision.project.fileformats import FORMATS, format_of
from provision.project.paths import contained_file
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import plan_absent, plan_file

MAX_COPY_BYTES = 64 * 1024 * 1024  # a files/ source is read whole into memory


def dest_arg() -> Any:
    return arg(doc="the file on the host")


@dataclass(kw_only=True)
class FileParams:
    """The arguments template and copy share, after their own (`dest` and the source)."""

    mode: Mode | None = arg(None, doc="its mode (default: an existing file's own, else `0644`)")
    owner: str | None = arg(None, doc="its owner (default: an existing file's own, else `root`)")
    group: str | None = arg(None, doc="its group (default: an existing file's own, else `root`)")
    validate: str | None = arg(
        None,
        choices=("json",),
        doc="`json`: the content must parse as JSON, checked before any host is touched",
    )
    backup: bool = arg(False, doc="keep the previous content as `DEST.TIMESTAMP.bak`")
    format: str | None = arg(
        None,
        choices=FORMATS,
        doc="the file's format (default: from `dest`; see [File formats]"
        "(#file-formats-values-in-line-oriented-files))",
    )
    reload_keys: list[str] = arg(
        [],
        doc="a JSON file's top-level keys that the service reading it applies on reload: "
        "when a change only adds or changes such keys, a `restarted` handler it notifies "
        "runs as a reload (see docs/rolling.md)",
    )


def _json_object(content: bytes | None) -> dict[str, Any] | None:
    if content is None:
        return None
    try:
        value = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def reload_suffices(before: FileState, content: bytes, reload_keys: list[str]) -> tuple[bool, str]:
    """Whether a reload of the service that reads this JSON file applies the change from
    `before` to `content`, and a line saying which top-level keys change. Only when the file
    existed, both are JSON objects, and every changed key is in `reload_keys` and is still
    there: a removed key needs a restart (dockerd's reload leaves a setting that is no
    longer in the file as it was)."""
    old, new = _json_object(before.content if before.exists else None), _json_object(content)
    if old is None or new is None:
        return False, ""
    changed = sorted(k for k in old.keys() | new.keys() if _canon(old, k) != _canon(new, k))
    if not changed:
        return True, ""
    shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    removed = [k for k in changed if k not in new]
    restart = [k for k in changed if k not in reload_keys]
    if removed:
        return False, f"keys changed: {shown}; a restart applies them ({removed[0]} is removed)"
    if restart:
        return False, f"keys changed: {shown}; a restart applies them ({restart[0]} needs it)"
    return True, f"keys changed: {shown}; a reload applies them"


def _canon(config: dict[str, Any], key: str) -> str | None:
    """A key's value as canonical JSON (so `1` and `true` differ, as they do to dockerd);
    None when the key is not there."""
    return json.dumps(config[key], sort_keys=True) if key in config else None


class WholeFile(TaskType):
    content: bytes | None = None

    def describe(self) -> str:
        return f"{self.type_name} {self.params.dest}"

    @property
    def format(self) -> str:
        """The destination's format: the `format` argument, else inferred from `dest`."""
        return format_of(self.params.format, self.params.dest)

    def _check_content(self, text: str, origin: str) -> None:
        if self.params.validate == "json" or self.format == "json":
            try:
                json.loads(text)
            except RecursionError:
                raise InputError(
                    f"{self.type_name}: {origin} is nested too deeply to check as JSON",
                    self.context.location,
                )
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{self.type_name}: {origin} is not valid JSON: {exc.msg} "
                    f"(line {exc.lineno}, column {exc.colno})",
                    self.context.location,
                )

    def _role_file(self, folder: str) -> Path:
        return role_file(self, folder, self.params.src, "src")

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.dest)]

    def plan(self, state: HostState) -> Outcome:
        if getattr(self.params, "state", "present") == "absent":
            return plan_absent(state, self.params.dest, self.params.backup)
        assert self.content is not None
        before: FileState = state.get(FileFact(self.params.dest))
        outcome = plan_file(
            state,
            self.params.dest,
            self.content,
            self.params.mode,
            self.params.owner,
            self.params.group,
            self.params.backup,
            self.context.secret,
            writer=self.context.become_user,
            where=str(self.context.location),
        )
        keys = getattr(self.params, "reload_keys", None)
        if keys and isinstance(outcome, Change):
            outcome.reload_suffices, note = reload_suffices(before, self.content, keys)
            if note and not self.context.secret:
                outcome.summary.append(note)
        return outcome

    def assertions(self) -> list[Assertion]:
        dest = self.params.dest
        if getattr(self.params, "state", "present") == "absent":
            return [Assertion("file", dest, {"exists": False}, f"{dest} is absent")]
        expect: dict[str, object] = {"exists": True}
        if not self.context.secret and self.content is not None:
            try:  # binary content (!!binary) is not compared as text
                expect["content"] = self.content.decode("utf-8")
            except UnicodeDecodeError:
                pass
        for key in ("mode", "owner", "group"):
            if getattr(self.params, key) is not None:
                expect[key] = getattr(self.params, key)
        return [Assertion("file", dest, expect, f"{dest} as declared")]


def role_file(task: TaskType, folder: str, src: str, argument: str, at: str | None = None) -> Path:
    """`src` under the role's `folder` (`templates/` or `files/`; a play's own tasks: beside
    the playbook); it must stay inside the role's (the playbook's) folder and exist. Errors
    name `argument`; a missing file's names argument `at`'s line when given."""
    if task.context.role_dir is None:
        root = Path(task.context.location.file).parent
        root_what = f"the playbook's folder {root}"
    else:
        root = task.context.role_dir
        root_what = f"the role folder {root}"
    what = f"{task.type_name}: `{argument}`"
    candidate = contained_file(root / folder, src, root, what, task.context.location, root_what)
    if not candidate.is_file():
        kind = {"templates/": "template", "files/": "file"}[folder]
        raise task.fail(f"{kind} not found: {candidate}", arg=at)
    return candidate
