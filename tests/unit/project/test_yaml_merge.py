"""YAML merge keys (`<<: *base`): valid YAML, accepted; the file's own keys win; real
duplicates are still refused."""

from __future__ import annotations

from typing import Any

import pytest

from provision.errors import InputError
from provision.project.yamlfile import YDict, parse_yaml

BASE = "base: &base {user: admin, port: 22, shell: /bin/bash}\n"

GOOD = [
    ("merge-only", BASE + "h:\n  <<: *base\n", {"user": "admin", "port": 22, "shell": "/bin/bash"}),
    (
        "override-after",
        BASE + "h:\n  <<: *base\n  port: 2222\n",
        {"user": "admin", "port": 2222, "shell": "/bin/bash"},
    ),
    (
        "override-before",
        BASE + "h:\n  port: 2222\n  <<: *base\n",
        {"user": "admin", "port": 2222, "shell": "/bin/bash"},
    ),
    (
        "add-key",
        BASE + "h:\n  <<: *base\n  extra: 1\n",
        {"user": "admin", "port": 22, "shell": "/bin/bash", "extra": 1},
    ),
    (
        "flow",
        BASE + "h: {<<: *base, user: root}\n",
        {"user": "root", "port": 22, "shell": "/bin/bash"},
    ),
    (
        "list-first-wins",
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nh:\n  <<: [*a, *b]\n",
        {"x": 1, "y": 1, "z": 2},
    ),
    (
        "list-with-override",
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nh:\n  <<: [*a, *b]\n  z: 3\n",
        {"x": 1, "y": 1, "z": 3},
    ),
    (
        "chained-merges",
        "a: &a {x: 1}\nb: &b\n  <<: *a\n  y: 2\nh:\n  <<: *b\n  x: 9\n",
        {"x": 9, "y": 2},
    ),
    ("inline-mapping", "h:\n  <<: {k: v}\n  k: w\n", {"k": "w"}),
    (
        "override-with-null",
        BASE + "h:\n  <<: *base\n  shell:\n",
        {"user": "admin", "port": 22, "shell": None},
    ),
    ("override-nested", "a: &a {opts: {x: 1}}\nh:\n  <<: *a\n  opts: {y: 2}\n", {"opts": {"y": 2}}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in GOOD], ids=[i for i, *_ in GOOD]
)
def test_merge_keys_are_accepted(text: str, expected: dict[str, Any]) -> None:
    data = parse_yaml(text, "inventory.yml")
    assert data["h"] == expected
    assert isinstance(data["h"], YDict)


def test_an_override_keeps_its_own_line() -> None:
    data = parse_yaml(BASE + "h:\n  <<: *base\n  port: 2222\n", "inventory.yml")
    assert data["h"].where("port").line == 4
    assert data["h"].where("user").line == 1  # merged: where the base wrote it


BAD = [
    ("own-duplicate", BASE + "h:\n  <<: *base\n  port: 1\n  port: 2\n", "duplicate key 'port'", 5),
    ("own-duplicate-no-merge", "h:\n  a: 1\n  a: 2\n", "duplicate key 'a'", 3),
    (
        "duplicate-before-merge",
        BASE + "h:\n  port: 1\n  port: 2\n  <<: *base\n",
        "duplicate key 'port'",
        4,
    ),
    ("merge-a-list-of-scalars", "h:\n  <<: [1, 2]\n", "expected a mapping", 2),
    ("merge-a-scalar", "h:\n  <<: 5\n", "expected a mapping", 2),
]


@pytest.mark.parametrize(
    ("text", "words", "line"), [(t, w, n) for _, t, w, n in BAD], ids=[i for i, *_ in BAD]
)
def test_real_duplicates_and_bad_merges_are_refused(text: str, words: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml(text, "inventory.yml")
    assert words in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == line
