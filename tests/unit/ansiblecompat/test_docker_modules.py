"""community.docker.docker_compose_v2 and docker_stack as the compose and stack task types."""

from __future__ import annotations

from typing import Any

import pytest

from provision.errors import InputError

APP = {"services": {"web": {"image": "lab/busybox:1", "ports": ["8080:80"]}}}

ACCEPTED: list[tuple[str, Any, dict[str, Any], str, dict[str, Any]]] = [
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app"},
        {},
        "compose",
        {"state": "present", "pull": "missing"},
    ),
    (
        "docker_compose_v2",
        {"project_src": "/srv/app", "state": "absent"},
        {},
        "compose",
        {"state": "absent"},
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "pull": "policy"},
        {},
        "compose",
        {"pull": "missing"},
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "pull": "always", "wait": True},
        {},
        "compose",
        {"pull": "always", "wait": True},
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "scale": {"web": 2}, "definition": APP},
        {},
        "compose",
        {"scale": {"web": 2}},
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "project_name": "{{ name }}"},
        {"name": "shop"},
        "compose",
        {"project_name": "shop"},
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "recreate": "auto", "build": "never", "remove_volumes": False},
        {},
        "compose",
        {},
    ),
    (
        "community.docker.docker_stack",
        {"name": "demo", "compose": {"services": {"web": {"image": "x"}}}, "prune": True},
        {},
        "stack",
        {"prune": True},
    ),
    (
        "community.docker.docker_stack",
        {"name": "demo", "state": "absent"},
        {},
        "stack",
        {"state": "absent"},
    ),
]


@pytest.mark.parametrize(
    ("key", "args", "play_vars", "target", "expected"),
    ACCEPTED,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(ACCEPTED)],
)
def test_accepted(
    compile_one,
    key: str,
    args: Any,
    play_vars: dict[str, Any],
    target: str,
    expected: dict[str, Any],
) -> None:
    compiled = compile_one({"name": "t", key: args}, play_vars)
    assert compiled.task is not None, compiled.skip_reason
    assert any(getattr(c, "type_name", "") == target for c in type(compiled.task).__mro__)
    params = vars(compiled.task.params)
    for name, value in expected.items():
        assert params[name] == value, (name, params[name])


def test_definition_becomes_the_compose_file(compile_one) -> None:
    compiled = compile_one(
        {
            "name": "t",
            "community.docker.docker_compose_v2": {"project_src": "/srv/app", "definition": APP},
        }
    )
    assert compiled.task.rendered["compose.yaml"].startswith(b"services:")
    assert b"8080:80" in compiled.task.rendered["compose.yaml"]


REFUSED: list[tuple[str, Any, list[str]]] = [
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "state": "restarted"},
        ["must be one of"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "state": "stopped"},
        ["must be one of"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "recreate": "always"},
        ["recreate"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "remove_volumes": True},
        ["never removes volumes"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "services": ["web"]},
        ["services", "scale"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "docker_host": "tcp://x"},
        ["local engine"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "projectsrc": "x"},
        ["`projectsrc` is not an argument"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "project_name": "a;reboot"},
        ["project name"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "project_name": "a\nb"},
        ["project name"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "definition": ["x"]},
        ["`definition` must be a mapping"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "definition": APP, "files": ["a.yaml"]},
        ["not both"],
    ),
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "pull": "build"},
        ["must be one of"],
    ),
    (
        "community.docker.docker_stack",
        {"name": "demo", "compose": ["/srv/stack.yml"]},
        ["one inline definition"],
    ),
    (
        "community.docker.docker_stack",
        {"name": "demo", "compose": [{"a": 1}, {"b": 2}]},
        ["one inline definition"],
    ),
    ("community.docker.docker_stack", {"name": "-demo", "compose": [APP]}, ["stack name"]),
    (
        "community.docker.docker_swarm",
        {"state": "present"},
        ["community.docker.docker_swarm", "not supported"],
    ),
]


@pytest.mark.parametrize(
    ("key", "args", "words"), REFUSED, ids=[f"{c[0]}-{i}" for i, c in enumerate(REFUSED)]
)
def test_refused(compile_one, key: str, args: Any, words: list[str]) -> None:
    with pytest.raises(InputError) as excinfo:
        compile_one({"name": "t", key: args})
    text = str(excinfo.value)
    assert "site.yml:" in text, text
    for word in words:
        assert word in text, (word, text)
