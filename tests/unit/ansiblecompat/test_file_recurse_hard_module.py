"""ansible.builtin.file with `recurse`, `follow`, symbolic modes and `state: hard`,
through the real compile path (no host touched)."""

from __future__ import annotations

from typing import Any

import pytest

from provision.errors import InputError


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            {"path": "/srv/app", "state": "directory", "recurse": True, "mode": "u=rwX,g=rX,o="},
            {"recurse": True, "mode": "u=rwX,g=rX,o=", "state": "directory"},
        ),
        (
            {"path": "/srv/app", "state": "directory", "recurse": "yes", "follow": False},
            {"recurse": True},
        ),
        (
            {"dest": "/srv/app", "state": "directory", "recurse": True, "owner": "app"},
            {"owner": "app", "recurse": True},
        ),
        ({"path": "/srv/x", "mode": "0640"}, {"mode": 0o640}),
        ({"path": "/srv/x", "mode": "a+r"}, {"mode": "a+r"}),
        ({"path": "/srv/x", "state": "hard", "src": "/srv/y"}, {"state": "hard", "src": "/srv/y"}),
        (
            {"path": "/srv/x", "state": "hard", "src": "/srv/y", "mode": "0600", "owner": "a"},
            {"mode": 0o600, "owner": "a"},
        ),
        ({"path": "/srv/x", "state": "directory", "follow": True}, {"state": "directory"}),
    ],
)
def test_accepted(compile_one: Any, args: dict[str, Any], expected: dict[str, Any]) -> None:
    compiled = compile_one({"name": "t", "ansible.builtin.file": args})
    params = vars(compiled.task.params)
    for name, value in expected.items():
        assert params[name] == value, (name, params[name])


@pytest.mark.parametrize(
    "args,words",
    [
        ({"path": "/x", "state": "directory", "follow": False}, "`follow: false` is supported"),
        ({"path": "/x", "follow": "no"}, "`follow: false` is supported"),
        ({"path": "/x", "state": "directory", "follow": "{{ f }}"}, "written as it is"),
        ({"path": "/x", "state": "link", "src": "/y", "recurse": True}, "goes with `state"),
        ({"path": "/x", "state": "hard", "src": "/y", "force": True}, "`force`"),
        ({"path": "/x", "state": "hard", "src": "y"}, "absolute path"),
        ({"path": "/x", "state": "directory", "mode": "+x"}, "umask"),
        ({"path": "/x", "state": "directory", "mode": "u=rwq"}, "not WHO"),
        ({"path": "/x", "state": "absent", "recurse": True}, "recurse"),
    ],
)
def test_refused(compile_one: Any, args: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError) as excinfo:
        compile_one({"name": "t", "ansible.builtin.file": args}, {"f": False})
    text = str(excinfo.value)
    assert words in text, text
    assert "site.yml:" in text
