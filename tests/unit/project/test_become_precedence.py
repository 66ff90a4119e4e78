"""`become` precedence: the host's `ansible_become` > the play's `become:` (true OR false,
when written) > ansible.cfg's `[privilege_escalation] become` > false. A play's explicit
`become: false` is no longer read as "not written"."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.ansiblecfg import AnsibleConfig
from provision.project.compile import compile_run
from provision.project.hostconfig import ControllerSettings, host_config
from provision.project.inventory import Sources
from provision.project.playbook import load_playbook
from provision.project.templating import Variables

TABLE = [
    # (ansible_become, play's become, ansible.cfg become, expected)
    (None, None, None, False),
    (None, None, True, True),
    (None, None, False, False),
    (None, True, None, True),
    (None, True, False, True),
    (None, False, True, False),  # the fix: an explicit false wins over ansible.cfg
    (None, False, None, False),
    (True, False, None, True),  # the host's variable wins over the play
    (False, True, True, False),
    ("yes", None, None, True),
    ("no", None, True, False),
]


@pytest.mark.parametrize(("host_var", "play", "cfg", "expected"), TABLE)
def test_become_precedence(
    host_var: object, play: bool | None, cfg: bool | None, expected: bool
) -> None:
    variables = {"ansible_host": "192.0.2.1", "ansible_user": "deploy"}
    if host_var is not None:
        variables["ansible_become"] = host_var
    settings = ControllerSettings(config=AnsibleConfig(become=cfg))
    found = host_config("web", Variables(variables), Path("/inv"), play, None, settings=settings)
    assert found.become is expected


PLAY = (
    "- hosts: all\n{become}  tasks:\n    - name: t\n      command: {{cmd: 'true', creates: /x}}\n"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", None),
        ("  become: false\n", False),
        ("  become: true\n", True),
        ("  become: no\n", False),
    ],
)
def test_play_keeps_an_explicit_false(tmp_path: Path, line: str, expected: bool | None) -> None:
    (tmp_path / "site.yml").write_text(PLAY.format(become=line))
    (play,) = load_playbook(tmp_path / "site.yml")
    assert play.become is expected


@pytest.mark.parametrize("value", ['"false"', "1", "0", "null-ish", "[]", "{}", "'yes'"])
def test_play_become_must_be_a_boolean(tmp_path: Path, value: str) -> None:
    (tmp_path / "site.yml").write_text(PLAY.format(become=f"  become: {value}\n"))
    with pytest.raises(InputError) as caught:
        load_playbook(tmp_path / "site.yml")
    assert "`become` must be true or false" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 2


@pytest.mark.parametrize(
    ("line", "cfg", "expected"),
    [
        ("  become: false\n", True, False),
        ("", True, True),
        ("  become: true\n", False, True),
        ("", None, False),
    ],
)
def test_compiled_tasks_follow_the_play_over_ansible_cfg(
    tmp_path: Path, line: str, cfg: bool | None, expected: bool
) -> None:
    (tmp_path / "site.yml").write_text(PLAY.format(become=line))
    (tmp_path / "inventory.yml").write_text(
        "all:\n  hosts:\n    web:\n      ansible_host: 192.0.2.1\n      ansible_user: deploy\n"
    )
    settings = ControllerSettings(config=AnsibleConfig(become=cfg))
    sources = Sources((tmp_path / "inventory.yml",), settings)
    compiled = compile_run(sources, tmp_path / "site.yml")  # type: ignore[arg-type]
    ((_, (host_play,)),) = compiled.plays
    assert host_play.host.become is expected
    assert [task.become for task in host_play.tasks] == [expected]
