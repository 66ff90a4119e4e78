"""Every input of a run, hashed: the inventory and its variable files, the playbook(s),
every role used (its whole folder: tasks, handlers, templates, files, defaults, meta),
the playbook's own templates/ and files/, `-e @file` files, the ansible.cfg the run read
(forks, roles_path, become and remote_user change what a run does), the extra variables,
the secrets, and the tool itself. Also the project's git commit for the audit trail."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision import __version__
from provision.changecontrol.keys import PlanKey
from provision.reporting.mask import fragments

# Inputs of these kinds hold variables, so maybe secrets: their digest is keyed.
KEYED_KINDS = ("inventory", "vars", "extra-vars-file")
SKIP_DIRS = {".git", ".provision", "__pycache__", ".venv", "node_modules"}
MAX_FILES = 20000


@dataclass(frozen=True)
class InputFile:
    path: Path
    kind: str


def _walk(folder: Path, kind: str) -> list[InputFile]:
    found: list[InputFile] = []
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        found += [InputFile(Path(root) / name, kind) for name in sorted(files)]
        if len(found) > MAX_FILES:
            break
    return found


def input_files(compiled: Any, inventory: Any, extra_vars: list[str]) -> list[InputFile]:
    """The files a compiled run was made from (see the module doc); `inventory` is a path
    or the run's inventory sources (`.paths`)."""
    paths = list(getattr(inventory, "paths", None) or [inventory])
    files: list[InputFile] = []
    for path in paths:
        if path.is_dir():
            files += _walk(path, "inventory")
        elif path.is_file():
            files.append(InputFile(path, "inventory"))
            folder = path.parent
            files += _walk(folder / "group_vars", "vars") + _walk(folder / "host_vars", "vars")
        # else a host list (`host1,host2`): recorded in the plan's `run`, nothing to hash
    group = getattr(compiled.inventory, "groups", {}).get("all")
    listed = group.vars.get("provision_vars_files") if group is not None else None
    folders = [p if p.is_dir() else p.parent for p in paths if p.exists()]
    for name in [listed] if isinstance(listed, str) else listed or []:
        for folder in folders:
            if isinstance(name, str) and (folder / name).is_file():
                files.append(InputFile(folder / name, "vars"))
    for item in extra_vars:
        if item.startswith("@"):
            files.append(InputFile(Path(item[1:]), "extra-vars-file"))
    config = getattr(getattr(inventory, "settings", None), "config", None)
    if getattr(config, "path", None) is not None:
        files.append(InputFile(config.path, "ansible.cfg"))
    return files


def playbook_files(playbook: Path) -> list[InputFile]:
    """The playbook, the playbooks it imports, its templates/ and files/, every role used."""
    from provision.project.playbook import load_playbook

    files: list[InputFile] = []
    seen_roles: set[Path] = set()
    for play in load_playbook(playbook):
        files.append(InputFile(play.file, "playbook"))
        for role in play.roles:
            if role.path not in seen_roles:
                seen_roles.add(role.path)
                files += _walk(role.path, "role")
    for sub in ("templates", "files", "group_vars", "host_vars"):
        files += _walk(playbook.parent / sub, "playbook")
    return files


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def digest_inputs(key: PlanKey, files: list[InputFile], secrets: list[str]) -> list[dict]:
    """One entry per file: path (relative to the current folder when inside it), kind, and
    `sha256:` of its bytes, or a keyed `hmac-sha256:` for files that hold variables or in
    which a secret value occurs (a plain hash of a small secret-bearing file can be
    reversed by guessing the secret)."""
    needles = [f.encode() for s in secrets for f in fragments(s)]
    entries: dict[str, dict] = {}
    for item in files:
        shown = _shown(item.path)
        if shown in entries:
            continue
        try:
            data = item.path.read_bytes()
        except OSError as exc:
            entries[shown] = {"path": shown, "kind": item.kind, "digest": f"unreadable: {exc}"}
            continue
        keyed = item.kind in KEYED_KINDS or any(n in data for n in needles)
        digest = key.digest(data) if keyed else "sha256:" + hashlib.sha256(data).hexdigest()
        entries[shown] = {"path": shown, "kind": item.kind, "digest": digest}
    entries["(provision)"] = {"path": "(provision)", "kind": "tool", "digest": tool_digest()}
    return sorted(entries.values(), key=lambda e: (e["kind"], e["path"]))


def tool_digest() -> str:
    """The tool's version and a hash of its own source, so a changed install is an input
    change too."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"provision {__version__} sha256:{h.hexdigest()}"


def values_digest(key: PlanKey, values: Any) -> str:
    return key.digest(json.dumps(values, sort_keys=True, default=str).encode())


def changed_inputs(planned: list[dict], now: list[dict]) -> list[str]:
    before = {e["path"]: e["digest"] for e in planned}
    after = {e["path"]: e["digest"] for e in now}
    lines = [f"{p}: changed" for p in sorted(before) if p in after and after[p] != before[p]]
    lines += [f"{p}: gone" for p in sorted(before) if p not in after]
    lines += [f"{p}: new" for p in sorted(after) if p not in before]
    return lines


def git_state(folder: Path | None = None) -> dict[str, Any]:
    """{"commit": HEAD or None, "dirty": bool or None} of the project's git repository."""
    where = str(folder or Path.cwd())
    try:
        head = subprocess.run(
            ["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
