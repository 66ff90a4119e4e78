"""The plan file: schema round trip, validation of every field, integrity (tampering),
the approved hash, telling a plan file from an inventory by content."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from provision.changecontrol.keys import PlanKey
from provision.changecontrol.planfile import (
    PlanFileError,
    check_expected,
    check_integrity,
    looks_like_plan,
    read_plan,
    render,
    seal,
    validate,
    write_plan,
)
from provision.errors import InputError

KEY = PlanKey(b"k" * 32)
D = "hmac-sha256:" + "a" * 64


def sample() -> dict[str, Any]:
    return {
        "schema": "provision-plan/1",
        "created": "2026-01-01T00:00:00Z",
        "created_by": "me@ctl",
        "provision_version": "0.1.0",
        "project": {"commit": None, "dirty": None},
        "run": {
            "inventory": "i.yml",
            "playbook": "p.yml",
            "limit": None,
            "tags": [],
            "skip_tags": [],
        },
        "key_id": KEY.key_id,
        "inputs": [{"path": "i.yml", "kind": "inventory", "digest": D}],
        "extra_vars": {"count": 0, "digest": D},
        "secrets": {"count": 0, "digest": D},
        "plays": [
            {
                "name": "p",
                "hosts": [
                    {
                        "host": "h1",
                        "fingerprint": D,
                        "changes_digest": D,
                        "facts": {"x": {"fact": "file /etc/x", "digest": D}},
                        "pending": 1,
                        "last_apply": None,
                        "tasks": [
                            {
                                "name": "t",
                                "role": None,
                                "type": "copy",
                                "handler": False,
                                "status": "pending",
                                "changes": ["create /etc/x"],
                                "diffs": [{"path": "/etc/x", "unified": "+a"}],
                                "commands": ["write /etc/x"],
                                "reason": "",
                                "message": "",
                                "location": "p.yml:3",
                            }
                        ],
                    }
                ],
            }
        ],
        "unplanned": [],
        "summary": {"hosts": 1, "hosts_to_change": 1, "changes": 1},
    }


def written(tmp_path: Path, doc: dict[str, Any], sealed: bool = True) -> Path:
    path = tmp_path / "change.plan"
    path.write_bytes(render(seal(doc, KEY) if sealed else doc))
    return path


def test_round_trip(tmp_path: Path) -> None:
    doc = sample()
    path = written(tmp_path, doc)
    back, data = read_plan(path)
    check_integrity(back, KEY, "x")
    assert {k: v for k, v in back.items() if k != "integrity"} == doc
    assert data.startswith(b'{\n  "schema": "provision-plan/1"')
    assert render(back) == data  # stable: rendering again gives the same bytes


def test_write_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "out.plan"
    path.write_text("old")
    path.chmod(0o644)
    write_plan(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.plan"]  # no temp file left


def _set(doc: dict, dotted: str, value: Any) -> dict:
    doc = copy.deepcopy(doc)
    *parents, last = dotted.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return doc


MALFORMED = [
    ("schema", "provision-plan/2", "is not 'provision-plan/1'"),
    ("schema", KeyError, "no `schema`"),
    ("schema", 7, "no `schema`"),
    ("created", KeyError, "`created`"),
    ("key_id", 3, "`key_id`"),
    ("run", [], "`run` is not an object"),
    ("run.inventory", "", "`run.inventory`"),
    ("run.playbook", None, "`run.playbook`"),
    ("run.limit", 3, "`run.limit`"),
    ("run.tags", "a,b", "`run.tags`"),
    ("run.skip_tags", [1], "`run.skip_tags`"),
    ("extra_vars.digest", "sha1:00", "`extra_vars.digest`"),
    ("secrets", KeyError, "`secrets.digest`"),
    ("inputs", [], "`inputs`"),
    ("inputs.0.digest", KeyError, "an `inputs` entry"),
    ("plays", {}, "`plays` is not a list"),
    ("plays.0.name", 1, "a play"),
    ("plays.0.hosts", "h1", "`plays[].hosts`"),
    ("plays.0.hosts.0.host", None, "a host entry"),
    ("plays.0.hosts.0.fingerprint", "hmac-sha256:" + "g" * 64, "`fingerprint`"),
    ("plays.0.hosts.0.fingerprint", "hmac-sha256:" + "a" * 63, "`fingerprint`"),
    ("plays.0.hosts.0.changes_digest", KeyError, "`changes_digest`"),
    ("plays.0.hosts.0.facts", [], "`facts` is not an object"),
    ("plays.0.hosts.0.facts.x.digest", "x", "a `facts` entry"),
    ("plays.0.hosts.0.pending", "1", "`pending`"),
    ("plays.0.hosts.0.tasks", None, "`tasks` is not a list"),
    ("plays.0.hosts.0.tasks.0.changes", "x", "a task entry"),
    ("plays.0.hosts.0.tasks.0.commands", [1], "a task entry"),
    ("plays.0.hosts.0.tasks.0.diffs", [{"path": "/x"}], "a task entry"),
    ("plays.0.hosts.0.tasks.0.name", None, "a task entry"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), MALFORMED, ids=[f"{m[0]}={m[1]!r}" for m in MALFORMED]
)
def test_malformed_fields_are_plan_file_errors(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    path = written(tmp_path, _set(sample(), field, value), sealed=True)
    with pytest.raises(PlanFileError) as info:
        read_plan(path)
    assert message in str(info.value)
    assert "not a valid plan file" in str(info.value)
    assert isinstance(info.value, InputError)  # exit 2


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'"provision-plan/1"',
        b"\xff\xfe{}",
        b'{"schema": "provision-plan/1"',
        b"null",
    ],
    ids=["empty", "open-brace", "list", "string", "not-utf8", "truncated", "null"],
)
def test_not_json_or_not_an_object(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.plan"
    path.write_bytes(content)
    with pytest.raises(PlanFileError, match="not a valid plan file"):
        read_plan(path)


TAMPER = [
    ("plays.0.hosts.0.tasks.0.changes", ["create /etc/y"]),
    ("plays.0.hosts.0.tasks.0.diffs", [{"path": "/etc/x", "unified": "+b"}]),
    ("plays.0.hosts.0.tasks.0.commands", []),
    ("plays.0.hosts.0.fingerprint", "hmac-sha256:" + "b" * 64),
    ("plays.0.hosts.0.pending", 0),
    ("plays.0.hosts.0.host", "h2"),
    ("run.limit", "h1"),
    ("run.inventory", "other.yml"),
    ("inputs.0.digest", "sha256:" + "c" * 64),
    ("created_by", "someone-else"),
    ("summary.changes", 0),
    ("integrity", "hmac-sha256:" + "0" * 64),
]


@pytest.mark.parametrize(("field", "value"), TAMPER, ids=[t[0] for t in TAMPER])
def test_an_edited_plan_fails_its_integrity_check(tmp_path: Path, field: str, value: Any) -> None:
    sealed = seal(sample(), KEY)
    path = tmp_path / "change.plan"
    path.write_bytes(render(_set(sealed, field, value)))
    doc, _ = read_plan(path)
    with pytest.raises(PlanFileError, match="modified after it was written"):
        check_integrity(doc, KEY, str(path))


def test_reformatting_the_json_keeps_it_valid(tmp_path: Path) -> None:
    """Integrity covers the content, not the layout: a ticket system may pretty-print."""
    sealed = seal(sample(), KEY)
    path = tmp_path / "change.plan"
    path.write_text(json.dumps(sealed, separators=(",", ":")))
    doc, _ = read_plan(path)
    check_integrity(doc, KEY, "x")


def test_another_key_is_named_not_called_tampering(tmp_path: Path) -> None:
    doc, _ = read_plan(written(tmp_path, sample()))
    with pytest.raises(PlanFileError, match="another plan key") as info:
        check_integrity(doc, PlanKey(b"z" * 32), "x")
    assert "PROVISION_PLAN_KEY" in str(info.value)


def test_expected_sha256(tmp_path: Path) -> None:
    data = b"plan bytes"
    good = hashlib.sha256(data).hexdigest()
    assert check_expected(data, None, "f") == good
    assert check_expected(data, good, "f") == good
    assert check_expected(data, good.upper(), "f") == good
    assert check_expected(data, f"  {good}\n", "f") == good
    for wrong in ("0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
        with pytest.raises(InputError, match="not the approved"):
            check_expected(data, wrong, "f")
    for malformed in ("", "abc", good + "0", "g" * 64, "-" + good[1:], "../" + good[3:]):
        with pytest.raises(InputError, match="64 hexadecimal"):
            check_expected(data, malformed, "f")


@pytest.mark.parametrize(
    ("content", "is_plan"),
    [
        ("all:\n  hosts:\n    a: {}\n", False),
        ('{"all": {"hosts": {"a": {}}}}', False),
        ("# provision-plan/1\nall: {}\n", False),
        ('{\n  "schema": "provision-plan/1"\n}', True),
        ('  \n{"schema": "provision-plan/9", "x": 1}', True),
        ('{"schema": "provision-plan/1", "broken', True),
    ],
    ids=["yaml", "json-inventory", "yaml-comment", "plan", "other-version", "damaged-plan"],
)
def test_plan_file_told_by_content(tmp_path: Path, content: str, is_plan: bool) -> None:
    path = tmp_path / "hosts.plan"  # the name says nothing either way
    path.write_text(content)
    assert looks_like_plan(path) is is_plan


def test_validate_rejects_non_objects() -> None:
    for value in (None, [], "x", 1):
        with pytest.raises(PlanFileError):
            validate(value, "f")
