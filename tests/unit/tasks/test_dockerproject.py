"""The pieces `compose` and `stack` share (tasks/dockerproject.py): the record probe and
its parser, the directory-path rule, the file rewrite and the docker preconditions."""

from __future__ import annotations

import base64
import json

import pytest

from provision.facts.base import FactError
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Failed, HostState
from provision.tasks import dockerproject
from provision.tasks.dockerproject import (
    MISSING_TOOL,
    docker_failure,
    parse_record,
    path_problem,
    read_sections,
    record_path,
    record_probe,
    removal,
    run_and_record,
    write_changed,
)

RECORD = {"project": "app", "hash": "ab" * 32}
LINE = base64.b64encode(json.dumps(RECORD).encode()).decode()


@pytest.mark.parametrize(
    "out, record, sections",
    [
        (f"@@record\n{LINE}\n@@x\na\tb\n", RECORD, {"x": ["a\tb"]}),
        ("@@record\n@@x\n", None, {"x": []}),
        ("\n\n@@record\n\n@@x\n\nline\n\n", None, {"x": ["line"]}),
        ("@@record\nnot base64!\n", None, {}),
        (f"@@record\n{base64.b64encode(b'[1, 2]').decode()}\n", None, {}),
        (f"@@record\n{base64.b64encode(b'{bad json').decode()}\n", None, {}),
        # a header not in the list is a line of the section it stands in
        ("@@record\n@@other\n", None, {}),
    ],
)
def test_read_sections(out: str, record: object, sections: dict[str, list[str]]) -> None:
    found, found_record = read_sections(out.encode(), ("record", "x"), "project app")
    assert found_record == record
    assert {k: v for k, v in found.items() if k != "record"} == sections


@pytest.mark.parametrize(
    "out",
    [
        "",
        "motd line\n@@record\n",
        "@@x\n",  # no record section at all
        "\u2028junk\n@@record\n",
    ],
)
def test_read_sections_refuses(out: str) -> None:
    with pytest.raises(FactError, match="unexpected output for project app"):
        read_sections(out.encode(), ("record", "x"), "project app")


def test_unexpected_line_is_cut_short() -> None:
    with pytest.raises(FactError) as info:
        read_sections(b"x" * 5000 + b"\n@@record\n", ("record",), "stack s")
    assert len(str(info.value)) < 300


def test_parse_record_empty_is_none() -> None:
    assert parse_record([], "app") is None


@pytest.mark.parametrize(
    "path, problem",
    [
        ("/srv/app", None),
        ("/srv/my app/x", None),
        ("/opt/a@b+c-d_e.f", None),
        ("srv/app", "must be an absolute path"),
        ("/", "must be an absolute path"),
        ("/srv/../etc", "component '..'"),
        ("/srv/./app", "component '.'"),
        ("/srv/a\nb", "not allowed"),
        ("/srv/a\rb", "not allowed"),
        ("/srv/a\vb", "not allowed"),
        ("/srv/a\fb", "not allowed"),
        ("/srv/a\x85b", "not allowed"),
        ("/srv/a\u2028b", "not allowed"),
        ("/srv/a\u2029b", "not allowed"),
        ("/srv/a\x00b", "not allowed"),
        ("/srv/trailing ", "not allowed"),
        ("/srv/ lead", "not allowed"),
        ("/srv/$(id)", "not allowed"),
        ("/srv/a'b", "not allowed"),
        ("/" + "/".join(["d" * 200] * 6), "too long"),
    ],
)
def test_path_problem(path: str, problem: str | None) -> None:
    found = path_problem(path, "`dest`")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    "docker, engine, compose, message",
    [
        (True, True, True, None),
        (False, False, False, "docker CLI is not installed"),
        (True, False, False, "`docker compose` is not available"),
        (True, False, True, "engine is not running"),
    ],
)
def test_docker_failure(docker: bool, engine: bool, compose: bool, message: str | None) -> None:
    found = docker_failure(docker, engine, compose)
    if message is None:
        assert found is None
    else:
        assert isinstance(found, Failed) and message in found.message


def test_record_probe_quotes_and_exits_without_docker() -> None:
    command = record_probe("a-b", "stack")
    assert f"exit {MISSING_TOOL}" in command
    assert record_path("a-b", "stack") == "/var/lib/provision/stack/a-b.json"
    assert "/var/lib/provision/stack/a-b.json" in command
    assert command.endswith("; ")


def test_write_changed_only_when_the_content_differs() -> None:
    state = HostState({FileFact("/p/c.yaml"): FileState(True, content=b"old\n")})
    assert write_changed(state, "/p/c.yaml", b"old\n", 0o600, False) is None
    written = write_changed(state, "/p/c.yaml", b"new\n", 0o600, False)
    assert written is not None
    diff, command = written
    assert diff.path == "/p/c.yaml" and "new" in diff.after and "old" in diff.before
    assert state.get(FileFact("/p/c.yaml")) == FileState(True, mode=0o600, content=b"new\n")
    assert write_changed(state, "/p/c.yaml", b"new\n", 0o600, False) is None


def test_write_changed_of_an_unknown_file() -> None:
    state = HostState({FileFact("/p/c.yaml"): FileState(True, known=False)})
    assert write_changed(state, "/p/c.yaml", b"x", 0o644, True) is not None


def test_run_and_record_quotes_and_records() -> None:
    up, record = run_and_record(["docker", "stack", "deploy", "--", "a b"], "s1", "stack", RECORD)
    assert up.progress and "'a b'" in up.script
    assert "/var/lib/provision/stack/s1.json" in record.script


def test_removal_forgets_the_record() -> None:
    change = removal(["docker", "stack", "rm", "--", "s1"], "s1", "stack", "rm s1", "stop")
    assert change.summary == ["rm s1"]
    assert change.disruption.level == "restart" and change.disruption.unit == "stack:s1"
    assert "/var/lib/provision/stack/s1.json" in change.commands[1].script


def test_both_task_types_use_the_shared_module() -> None:
    from provision.tasks import compose, stack

    for module in (compose, stack):
        assert module.dockerproject is dockerproject
        assert not hasattr(module, "parse_record")
