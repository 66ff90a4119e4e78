"""The plan file: a versioned JSON document (schema `provision-plan/1`, see
docs/change-control.md), written atomically with mode 0600, read back with every field
checked. A plan file is told from an inventory by its content, not its name."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from provision.changecontrol.keys import PlanKey
from provision.errors import InputError

SCHEMA = "provision-plan/1"
SCHEMA_PREFIX = "provision-plan/"
MAX_BYTES = 64 << 20
HEAD_BYTES = 64 << 10
HEX = set("0123456789abcdef")


class PlanFileError(InputError):
    pass


def canonical_bytes(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "integrity"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal(doc: dict[str, Any], key: PlanKey) -> dict[str, Any]:
    """The document with its `integrity` field: a keyed digest of everything else."""
    return {**doc, "integrity": key.digest(b"plan\0" + canonical_bytes(doc))}


def render(doc: dict[str, Any]) -> bytes:
    """Keys sorted at every level, except that `schema` comes first: a reader (and
    `looks_like_plan`) sees what the file is from its first line."""
    ordered = json.loads(json.dumps(doc, sort_keys=True))
    first = {"schema": ordered.pop("schema", None), **ordered}
    return (json.dumps(first, indent=2, ensure_ascii=True) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_plan(path: Path, data: bytes) -> None:
    """Atomically: a temp file (0600) in the same folder, fsync, rename over `path`."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write the plan file {path}: {exc.strerror or exc}")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise InputError(f"cannot write the plan file {path}: {exc.strerror or exc}")


def looks_like_plan(path: Path) -> bool:
    """Whether `path` claims to be a plan file: a JSON object whose start names the plan
    schema. An inventory (YAML, or JSON without that key) is not; a damaged plan file is
    (so that it is refused as a plan, not read as an inventory)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return False
    text = head.lstrip().decode("utf-8", errors="replace")
    return text.startswith("{") and SCHEMA_PREFIX in text


def read_plan(path: Path) -> tuple[dict[str, Any], bytes]:
    """The plan document and the file's bytes; a PlanFileError says what is wrong."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PlanFileError(f"cannot read the plan file {path}: {exc.strerror or exc}")
    if len(data) > MAX_BYTES:
        raise PlanFileError(f"{path}: larger than {MAX_BYTES} bytes: not a plan file")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{path}: not a valid plan file: not JSON ({exc})")
    validate(doc, str(path))
    return doc, data


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise PlanFileError(f"{where}: not a valid plan file: {what}")


def _digest(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    kind, _, hexpart = value.partition(":")
    return kind in ("sha256", "hmac-sha256") and len(hexpart) == 64 and set(hexpart) <= HEX


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def validate(doc: Any, where: str) -> None:
    """Every field the apply and show read, with its type."""
    _need(isinstance(doc, dict), where, "the top level is not an object")
    schema = doc.get("schema")
    _need(isinstance(schema, str), where, "no `schema`")
    _need(
        schema == SCHEMA,
        where,
        f"schema {schema!r} is not {SCHEMA!r} (made by another version of provision?)",
    )
    for name in ("created", "created_by", "provision_version", "key_id"):
        _need(isinstance(doc.get(name), str), where, f"`{name}` is not a string")
    _need(_digest(doc.get("integrity")), where, "`integrity` is not a digest")
    run = doc.get("run")
    _need(isinstance(run, dict), where, "`run` is not an object")
    for name in ("inventory", "playbook"):
        _need(isinstance(run.get(name), str) and run[name] != "", where, f"`run.{name}` missing")
    _need(run.get("limit") is None or isinstance(run["limit"], str), where, "`run.limit`")
    sources = run.get("inventory_sources", [])
    _need(_strings(sources), where, "`run.inventory_sources` is not a list of strings")
    for name in ("tags", "skip_tags"):
        _need(_strings(run.get(name)), where, f"`run.{name}` is not a list of strings")
    for name in ("extra_vars", "secrets"):
        part = doc.get(name)
        _need(isinstance(part, dict) and _digest(part.get("digest")), where, f"`{name}.digest`")
    inputs = doc.get("inputs")
    _need(isinstance(inputs, list) and inputs, where, "`inputs` is not a non-empty list")
    for item in inputs:
        _need(
            isinstance(item, dict)
            and isinstance(item.get("path"), str)
            and isinstance(item.get("kind"), str)
            and isinstance(item.get("digest"), str),
            where,
            "an `inputs` entry lacks path, kind or digest",
        )
    plays = doc.get("plays")
    _need(isinstance(plays, list), where, "`plays` is not a list")
    for play in plays:
        _need(isinstance(play, dict) and isinstance(play.get("name"), str), where, "a play")
        _need(isinstance(play.get("hosts"), list), where, "`plays[].hosts` is not a list")
        for host in play["hosts"]:
            _validate_host(host, where)


def _validate_host(host: Any, where: str) -> None:
    _need(isinstance(host, dict) and isinstance(host.get("host"), str), where, "a host entry")
    name = host["host"]
    _need(_digest(host.get("fingerprint")), where, f"host {name!r}: `fingerprint`")
    _need(_digest(host.get("changes_digest")), where, f"host {name!r}: `changes_digest`")
    facts = host.get("facts")
    _need(isinstance(facts, dict), where, f"host {name!r}: `facts` is not an object")
    for entry in facts.values():
        _need(
            isinstance(entry, dict)
            and isinstance(entry.get("fact"), str)
            and _digest(entry.get("digest")),
            where,
            f"host {name!r}: a `facts` entry",
        )
    _need(isinstance(host.get("pending"), int), where, f"host {name!r}: `pending`")
    tasks = host.get("tasks")
    _need(isinstance(tasks, list), where, f"host {name!r}: `tasks` is not a list")
    for task in tasks:
        _need(
            isinstance(task, dict)
            and isinstance(task.get("name"), str)
            and isinstance(task.get("status"), str)
            and _strings(task.get("changes"))
            and _strings(task.get("commands"))
            and isinstance(task.get("diffs"), list)
            and all(
                isinstance(d, dict)
                and isinstance(d.get("path"), str)
                and isinstance(d.get("unified"), str)
                for d in task["diffs"]
            ),
            where,
            f"host {name!r}: a task entry",
        )


def check_integrity(doc: dict[str, Any], key: PlanKey, where: str) -> None:
    """Refuse a plan made with another key, or edited since it was written."""
    if doc["key_id"] != key.key_id:
        raise PlanFileError(
            f"{where}: made with another plan key (id {doc['key_id']}, this controller's "
            f"is {key.key_id}): its digests cannot be checked here",
            hint="apply it where it was made, or give this run the same key "
            "(PROVISION_PLAN_KEY or PROVISION_PLAN_KEY_FILE)",
        )
    expected = key.digest(b"plan\0" + canonical_bytes(doc))
    if expected != doc["integrity"]:
        raise PlanFileError(
            f"{where}: the plan file was modified after it was written (integrity check "
            "failed): refusing it"
        )


def check_expected(data: bytes, expected: str | None, where: str) -> str:
    """The file's SHA-256; refuses a file that is not the approved one."""
    actual = sha256_hex(data)
    if expected is not None:
        wanted = expected.strip().lower()
        if len(wanted) != 64 or not set(wanted) <= HEX:
            raise InputError(f"--expect-sha256 {expected!r}: not 64 hexadecimal digits")
        if wanted != actual:
            raise InputError(
                f"{where}: SHA-256 is {actual}, not the approved {wanted}: refusing it "
                "(no host was touched)"
            )
    return actual
