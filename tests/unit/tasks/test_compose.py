"""The compose task type: per-service comparison (pure, table-driven), the probe's parser,
and plans over a record left by an earlier plan (a change to one service recreates only it)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.facts.base import FactError
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Failed, HostState, NoOp
from provision.tasks.base import TaskContext, checkers, task_types
from provision.tasks.compose import (
    ComposeFact,
    ComposeState,
    ServiceAction,
    compare_services,
    normal_image,
    running_counts,
    service_configs,
    service_images,
    wanted_counts,
)
from provision.tasks.dockerproject import load_compose

APP = """\
services:
  web:
    image: lab/busybox:1
    ports: ["8080:80"]
    networks: [front]
  worker:
    image: lab/busybox:1
    command: [sleep, "1000"]
networks:
  front: {}
"""

# ---------------------------------------------------------------- compare_services

S = {"web": "w1", "worker": "k1"}
IMG = {"web": "sha256:a", "worker": "sha256:a"}
ONE = {"web": 1, "worker": 1}

COMPARE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("nothing changed", {}, []),
    ("no record: all created", {"old": None}, [("web", "create"), ("worker", "create")]),
    ("one config changed", {"new": {"web": "w2", "worker": "k1"}}, [("web", "recreate")]),
    (
        "both changed",
        {"new": {"web": "w2", "worker": "k2"}},
        [("web", "recreate"), ("worker", "recreate")],
    ),
    ("service added", {"new": {**S, "db": "d1"}, "scale": {**ONE, "db": 1}}, [("db", "create")]),
    ("service removed", {"new": {"web": "w1"}, "scale": {"web": 1}}, [("worker", "remove")]),
    (
        "image changed",
        {"new_images": {"web": "sha256:b", "worker": "sha256:a"}},
        [("web", "recreate")],
    ),
    ("image now missing (pull)", {"new_images": {"web": "", "worker": "sha256:a"}}, []),
    (
        "scaled up",
        {"scale": {"web": 1, "worker": 3}, "running": {"web": 1, "worker": 1}},
        [("worker", "scale")],
    ),
    (
        "scaled to zero",
        {"scale": {"web": 0, "worker": 1}, "running": {"worker": 1}},
        [("web", "scale")],
    ),
    ("a container stopped", {"running": {"web": 0, "worker": 1}}, [("web", "start")]),
    ("an extra container", {"running": {"web": 2, "worker": 1}}, [("web", "start")]),
    (
        "config beats image",
        {"new": {"web": "w2", "worker": "k1"}, "new_images": {"web": "x", "worker": "sha256:a"}},
        [("web", "recreate")],
    ),
    (
        "renamed service",
        {
            "new": {"api": "w1", "worker": "k1"},
            "scale": {"api": 1, "worker": 1},
            "running": {"worker": 1},
        },
        [("api", "create"), ("web", "remove")],
    ),
    ("empty project, empty record", {"old": {}, "new": {}, "scale": {}, "running": {}}, []),
]


@pytest.mark.parametrize(
    ("what", "changes", "expected"), COMPARE_CASES, ids=[c[0] for c in COMPARE_CASES]
)
def test_compare_services(
    what: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    args: dict[str, Any] = {
        "old": S,
        "new": S,
        "old_images": IMG,
        "new_images": IMG,
        "old_scale": ONE,
        "new_scale": ONE,
        "running": ONE,
    }
    args.update({k if k != "scale" else "new_scale": v for k, v in changes.items()})
    actions = compare_services(**args)
    assert [(a.service, a.action) for a in actions] == expected
    assert all(isinstance(a, ServiceAction) and a.reason for a in actions)


# ---------------------------------------------------------------- service_configs


def _configs(*texts: str) -> dict[str, str]:
    return service_configs([load_compose(t, f"file{i}") for i, t in enumerate(texts)])


DB = "services:\n  db:\n    image: x\n    volumes: ['data:/d']\n  web: {image: y}\nvolumes:\n"
BIND = "services:\n  db:\n    image: x\n    volumes: ['/srv:/d']\nvolumes:\n"
AB = "services:\n  a: {image: x}\n  b: {image: y, networks: [n]}\n"
CONFIG_CASES = [
    # (what, before files, after files, services whose config differs)
    ("same text", [APP], [APP], set()),
    (
        "reordered keys",
        [APP],
        [
            APP.replace(
                '    ports: ["8080:80"]\n    networks: [front]\n',
                '    networks: [front]\n    ports: ["8080:80"]\n',
            )
        ],
        set(),
    ),
    ("one port changed", [APP], [APP.replace("8080:80", "8081:80")], {"web"}),
    (
        "network definition changed",
        [APP],
        [APP.replace("front: {}", "front: {driver: bridge}")],
        {"web"},
    ),
    (
        "override file adds env to web",
        [APP],
        [APP, "services:\n  web:\n    environment: {A: '1'}\n"],
        {"web"},
    ),
    (
        "override file order matters",
        [APP, "services:\n  web: {image: a}\n", "services:\n  web: {image: b}\n"],
        [APP, "services:\n  web: {image: b}\n", "services:\n  web: {image: a}\n"],
        {"web"},
    ),
    (
        "named volume definition changed",
        [DB + "  data: {}\n"],
        [DB + "  data: {driver: local}\n"],
        {"db"},
    ),
    (
        "bind mount is not a named volume",
        [BIND + "  srv: {}\n"],
        [BIND + "  srv: {driver: local}\n"],
        set(),
    ),
    (
        "default network used by both",
        ["services:\n  a: {image: x}\n  b: {image: y, networks: [n]}\n"],
        [AB + "networks:\n  default: {name: other}\n"],
        {"a"},
    ),
    (
        "secret definition changed",
        ["services:\n  a: {image: x, secrets: [s]}\nsecrets:\n  s: {file: ./a}\n"],
        ["services:\n  a: {image: x, secrets: [s]}\nsecrets:\n  s: {file: ./b}\n"],
        {"a"},
    ),
    (
        "yaml anchors resolve the same",
        ["x: &e {A: '1'}\nservices:\n  a: {image: x, environment: *e}\n"],
        ["services:\n  a: {image: x, environment: {A: '1'}}\n"],
        set(),
    ),
]


@pytest.mark.parametrize(
    ("what", "before", "after", "changed"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES]
)
def test_service_configs(what: str, before: list[str], after: list[str], changed: set[str]) -> None:
    old, new = _configs(*before), _configs(*after)
    assert {s for s in new if old.get(s) != new[s]} == changed


LOAD_ERRORS = [
    ("services: [a]\n", "`services` must be a mapping"),
    ("- a\n", "must be a mapping"),
    ("services:\n  web: [a]\n", "service 'web' must be a mapping"),
    ("services:\n  '-web': {}\n", "service name"),
    ('services:\n  "we\\nb": {}\n', "service name"),
    ('services:\n  "we\\u2028b": {}\n', "service name"),
    ('services:\n  "web;x": {}\n', "service name"),
    ("services: {web: [\n", "not valid YAML (line"),
    ("a: !!python/object:os.system x\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), LOAD_ERRORS)
def test_load_compose_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        load_compose(text, "f.yaml")
    assert message in str(excinfo.value)


def test_images_and_counts() -> None:
    docs = [
        load_compose(
            "services:\n  a: {image: busybox}\n  b: {build: .}\n"
            "  c: {image: 'r:5000/x@sha256:ab'}\n"
            "  d: {image: x, deploy: {replicas: 3}}\n  e: {image: x, profiles: [debug]}\n"
            "  f: {image: 'reg:5000/y'}\n",
            "f",
        )
    ]
    assert service_images(docs, "p") == {
        "a": "busybox:latest",
        "b": "p-b:latest",
        "c": "r:5000/x@sha256:ab",
        "d": "x:latest",
        "e": "x:latest",
        "f": "reg:5000/y:latest",
    }
    assert wanted_counts(docs, {"a": 2}) == {"a": 2, "b": 1, "c": 1, "d": 3, "e": 0, "f": 1}
    assert normal_image("a/b:c") == "a/b:c"


# ---------------------------------------------------------------- the probe's parser


def _out(record: dict[str, Any] | None, *, compose: bool = True, engine: bool = True) -> bytes:
    lines = ["@@record"]
    if record is not None:
        lines.append(base64.b64encode(json.dumps(record).encode()).decode())
    lines.append("@@compose")
    if compose:
        lines.append("2.40.3")
    if engine:
        lines += [
            "@@engine",
            "@@containers",
            "web\trunning",
            "worker\texited",
            "web\trunning",
            "@@images",
            "lab/busybox:1\tsha256:aa",
            "<none>:<none>\tsha256:bb",
        ]
    return ("\n".join(lines) + "\n").encode()


def test_fact_parses_all_sections() -> None:
    found = ComposeFact("app").parse(0, _out({"hash": "h"}), b"")
    assert found.docker and found.compose and found.engine
    assert found.record == {"hash": "h"}
    assert found.running() == {"web": 2}
    assert found.images == {"lab/busybox:1": "sha256:aa"}


@pytest.mark.parametrize(
    ("out", "rc", "expect"),
    [
        (_out(None, engine=False), 0, ComposeState(True, True, False, None)),
        (_out(None, compose=False, engine=False), 0, ComposeState(True, False, False, None)),
        (b"", 127, ComposeState(False)),
        (b"@@record\nnot-base64!!\n@@compose\n", 0, ComposeState(True, False, False, None)),
        (b"@@record\n" + base64.b64encode(b"[1,2]") + b"\n@@compose\n", 0, ComposeState(True)),
    ],
)
def test_fact_parse_cases(out: bytes, rc: int, expect: ComposeState) -> None:
    assert ComposeFact("app").parse(rc, out, b"") == expect


@pytest.mark.parametrize(
    ("out", "rc"),
    [(b"garbage\n", 0), (b"", 3), (b"@@record\n@@containers\nno-tab-here\n", 0)],
)
def test_fact_unclear_answers_raise(out: bytes, rc: int) -> None:
    with pytest.raises(FactError):
        ComposeFact("app").parse(rc, out, b"boom")


def test_fact_command_quotes_the_project() -> None:
    script = ComposeFact("app").command()
    assert "label=com.docker.compose.project=app" in script
    assert "/var/lib/provision/compose/app.json" in script


# ---------------------------------------------------------------- plans over a record


def _task(
    args: dict[str, Any], tmp_path: Path | None = None, variables: dict[str, Any] | None = None
) -> Any:
    cls = task_types()["compose"]
    where = Location("play.yml", 3)
    params = cls.coerce(cls.parse(args, where), where)
    return cls(params, TaskContext(where, tmp_path, variables or {}))


def _fresh_state(task: Any, images: dict[str, str] | None = None) -> HostState:
    values: dict[Any, Any] = {}
    for fact in task.facts():
        if isinstance(fact, FileFact):
            values[fact] = FileState(False)
        else:
            values[fact] = ComposeState(
                True, True, True, None, (), images or {"lab/busybox:1": "sha256:a"}
            )
    return HostState(values)


def _after(task: Any, state: HostState) -> HostState:
    """Plan the task on `state` (a Change), and return the state it leaves."""
    outcome = task.plan(state)
    assert isinstance(outcome, Change), outcome
    return state


def _with(state: HostState, task: Any, **changes: Any) -> HostState:
    fact = ComposeFact(task.project)
    found: ComposeState = state.get(fact)
    values = {f: state.get(f) for f in task.facts()}
    values[fact] = ComposeState(
        True,
        True,
        True,
        changes.get("record", found.record),
        changes.get("containers", found.containers),
        changes.get("images", found.images),
    )
    return HostState(values)


def test_second_plan_is_a_noop() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(task, _fresh_state(task))
    again = task.plan(state)
    assert isinstance(again, NoOp) and "up to date (2 containers)" in again.reason


def test_changing_one_service_recreates_only_it() -> None:
    first = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(first, _fresh_state(first))
    second = _task(
        {"project_src": "/srv/app", "content": {"compose.yaml": APP.replace("8080", "8082")}}
    )
    outcome = second.plan(state)
    assert isinstance(outcome, Change)
    assert outcome.summary[0] == "write /srv/app/compose.yaml"
    assert [s.strip() for s in outcome.summary[2:]] == ["recreate web: its configuration changed"]
    assert outcome.disruption.level == "restart" and "web" in outcome.disruption.detail
    diff = "\n".join(outcome.diffs[0].unified())
    assert '-    ports: ["8080:80"]' in diff and '+    ports: ["8082:80"]' in diff


def test_a_new_image_recreates_its_services() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(task, _fresh_state(task))
    state = _with(state, task, images={"lab/busybox:1": "sha256:new"})
    outcome = task.plan(state)
    assert isinstance(outcome, Change)
    assert [s.strip() for s in outcome.summary[1:]] == [
        "recreate web: its image changed (sha256:new)",
        "recreate worker: its image changed (sha256:new)",
    ]
    assert not outcome.diffs


def test_a_stopped_container_is_started_again() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(task, _fresh_state(task))
    state = _with(state, task, containers=(("web", "exited"), ("worker", "running")))
    outcome = task.plan(state)
    assert isinstance(outcome, Change)
    assert [s.strip() for s in outcome.summary[1:]] == ["start web: 0 of 1 running"]
    assert outcome.disruption.level == "none"


def test_scale_change_is_one_up() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(task, _fresh_state(task))
    scaled = _task(
        {"project_src": "/srv/app", "content": {"compose.yaml": APP}, "scale": {"worker": 3}}
    )
    outcome = scaled.plan(state)
    assert isinstance(outcome, Change)
    assert [s.strip() for s in outcome.summary[1:]] == ["scale worker: 1 → 3 containers"]
    assert outcome.commands[0].script.endswith("--scale worker=3")
    again = scaled.plan(state)
    assert isinstance(again, NoOp)


def test_an_option_change_alone_runs_up() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _after(task, _fresh_state(task))
    waiting = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}, "wait": True})
    outcome = waiting.plan(state)
    assert isinstance(outcome, Change)
    assert "no service changes" in outcome.summary[-1]


def test_record_of_another_shape_means_all_created() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    state = _fresh_state(task)
    state = _with(state, task, record={"services": "garbage"})
    outcome = task.plan(state)
    assert isinstance(outcome, Change)
    assert [s.strip() for s in outcome.summary[2:]] == [
        "create web: new service",
        "create worker: new service",
    ]


def test_secret_task_hides_the_diff() -> None:
    cls = task_types()["compose"]
    where = Location("play.yml", 3)
    params = cls.coerce(
        cls.parse({"project_src": "/srv/app", "content": {"compose.yaml": APP}}, where), where
    )
    task = cls(params, TaskContext(where, None, {}, secret=True))
    outcome = task.plan(_fresh_state(task))
    assert isinstance(outcome, Change)
    assert "(content hidden: secret)" in outcome.diffs[0].unified()
    assert "8080" not in "\n".join(outcome.diffs[0].unified())


def test_template_is_rendered_from_the_role(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "app.yml.j2").write_text(
        "services:\n  web:\n    image: lab/busybox:1\n    ports: ['{{ port }}:80']\n"
    )
    task = _task(
        {"project_src": "/srv/app", "templates": {"compose.yaml": "app.yml.j2"}},
        tmp_path,
        {"port": 8081},
    )
    outcome = task.plan(_fresh_state(task))
    assert isinstance(outcome, Change)
    assert outcome.commands[0].stdin is not None and b"8081:80" in outcome.commands[0].stdin


@pytest.mark.parametrize("src", ["../../etc/passwd", "/etc/passwd", "missing.j2"])
def test_template_outside_the_role_or_missing(tmp_path: Path, src: str) -> None:
    (tmp_path / "templates").mkdir()
    with pytest.raises(InputError):
        _task({"project_src": "/srv/app", "templates": {"compose.yaml": src}}, tmp_path)


def test_rendered_template_that_is_not_compose(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.j2").write_text("services: {{ x }}\n")
    with pytest.raises(InputError, match="services"):
        _task(
            {"project_src": "/srv/app", "templates": {"compose.yaml": "a.j2"}},
            tmp_path,
            {"x": "[1]"},
        )


def test_engine_answer_failed_is_not_a_change() -> None:
    task = _task({"project_src": "/srv/app", "content": {"compose.yaml": APP}})
    values = {f: FileState(False) for f in task.facts() if isinstance(f, FileFact)}
    values[ComposeFact("app")] = ComposeState(True, True, False)
    assert isinstance(task.plan(HostState(values)), Failed)


# ---------------------------------------------------------------- verify


class _Host:
    def __init__(self, rc: int, out: str) -> None:
        self.rc, self.out = rc, out

    def run(self, command: str) -> Any:
        assert "label=com.docker.compose.project=app" in command
        return type("R", (), {"rc": self.rc, "stdout": self.out, "stderr": "boom"})()


@pytest.mark.parametrize(
    ("out", "expect", "problem"),
    [
        (
            "web\trunning\nworker\trunning\n",
            {"running": {"web": 1, "worker": 1}, "exact": True},
            None,
        ),
        ("web\trunning\n", {"running": {"web": 1, "worker": 1}, "exact": True}, "expected"),
        ("web\trunning\nweb\trunning\n", {"running": {"web": 2}, "exact": False}, None),
        ("", {"running": {}}, None),
        ("web\trunning\n", {"running": {}}, "still running"),
        ("web\texited\n", {"running": {"web": 1}, "exact": True}, "expected"),
    ],
)
def test_verify_check(out: str, expect: dict[str, Any], problem: str | None) -> None:
    result = checkers()["compose"](_Host(0, out), "app", expect)
    assert (result is None) if problem is None else (problem in (result or ""))


def test_running_counts() -> None:
    assert running_counts(["a\trunning", "a\trunning", "b\texited", "garbage"]) == {"a": 2}
