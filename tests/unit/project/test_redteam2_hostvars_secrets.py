"""Red team 2: a variable the play declares under `secrets:` is masked with the values
of the hosts the play runs on; another host's value of it, read through
`hostvars['db1'].db_password`, was not masked (plan's diff and JSON printed it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.project.compile import compile_run
from provision.reporting.mask import Masker, forget_vault_values

INVENTORY = """\
all:
  hosts:
    web1: {db_password: web1-SECRET-aaaa}
    db1:
      db_password: db1-SECRET-bbbb
      api_keys: [db1-KEY-one-1111, {inner: db1-KEY-two-2222}]
"""

READS = {
    "item": "{{ hostvars['db1'].db_password }}",
    "get": "{{ hostvars['db1']['db_password'] }}",
    "list": "{{ hostvars['db1'].api_keys | to_json }}",
}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    forget_vault_values()
    yield
    forget_vault_values()


@pytest.mark.parametrize("where", ["play", "role"])
@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_another_hosts_secret_read_through_hostvars_is_masked(
    tmp_path: Path, read: str, where: str
) -> None:
    (tmp_path / "roles/r/tasks").mkdir(parents=True)
    (tmp_path / "roles/r/tasks/main.yml").write_text(
        f'- copy: {{dest: /tmp/x, content: "{read}"}}\n'
    )
    if where == "role":
        (tmp_path / "roles/r/meta").mkdir()
        (tmp_path / "roles/r/meta/main.yml").write_text("secrets: [db_password, api_keys]\n")
        play = "- hosts: web1\n  roles: [r]\n"
    else:
        play = "- hosts: web1\n  secrets: [db_password, api_keys]\n  roles: [r]\n"
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(play)
    compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    content = compiled.plays[0][1][0].tasks[0].task.content.decode()
    assert "db1-" in content  # the value is read (and would be printed in a diff)
    shown = Masker(compiled.secrets())(content)
    assert "db1-" not in shown, shown
