"""lookup/query (env, file, template; controller commands refused), `omit`, and the
magic variables, through compile_run on a small project."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run

INVENTORY = """\
all:
  vars: {shared: all-value}
  children:
    web:
      hosts:
        web1.example.com: {port: 8080}
        web2.example.com: {port: 8081}
    db:
      hosts:
        db1: {port: 5432, port_text: "{{ port }}/tcp"}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def contents(root: Path, content: str, hosts: str = "all", **files: str) -> dict[str, str]:
    """Each host's rendered `content` of one copy task in role r."""
    write(
        root,
        {
            "inventory.yml": INVENTORY,
            "roles/r/tasks/main.yml": (
                f"- copy:\n    dest: /tmp/x\n    content: {content!r}\n"
            ).replace("content: '", "content: '"),
            "site.yml": f"- hosts: {hosts}\n  roles: [r]\n",
            **files,
        },
    )
    compiled = compile_run(root / "inventory.yml", root / "site.yml")
    return {hp.host.name: hp.tasks[0].task.content.decode() for hp in compiled.plays[0][1]}


def one(root: Path, content: str, **files: str) -> str:
    return contents(root, content, "db1", **files)["db1"]


def test_magic_variables(tmp_path: Path) -> None:
    got = contents(
        tmp_path,
        "{{ inventory_hostname }} {{ inventory_hostname_short }} {{ group_names | join(',') }}"
        " {{ groups['web'] | join(',') }} {{ groups.all | length }} {{ play_hosts | length }}"
        " {{ ansible_play_hosts | join(',') }} {{ ansible_managed }}",
        "web",
    )
    assert got["web1.example.com"] == (
        "web1.example.com web1 web web1.example.com,web2.example.com 3 2 "
        "web1.example.com,web2.example.com Ansible managed"
    )


def test_hostvars_of_another_host_are_rendered_lazily(tmp_path: Path) -> None:
    text = one(
        tmp_path,
        "{{ hostvars['web2.example.com'].port }} {{ hostvars['db1']['port_text'] }}"
        " {{ hostvars['web1.example.com'].shared }}"
        " {{ hostvars | length }} {{ 'db1' in hostvars }}"
        " {{ hostvars['web1.example.com'].inventory_hostname }}",
    )
    assert text == "8081 5432/tcp all-value 3 True web1.example.com"


def test_hostvars_unknown_host(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope"):
        one(tmp_path, "{{ hostvars['nope'].port }}")


def test_role_path_and_playbook_dir(tmp_path: Path) -> None:
    text = one(tmp_path, "{{ role_path }}|{{ playbook_dir }}")
    assert text == f"{(tmp_path / 'roles/r').resolve()}|{tmp_path.resolve()}"


def test_file_lookup_role_files_then_playbook(tmp_path: Path) -> None:
    text = one(
        tmp_path,
        "{{ lookup('file', 'a.txt') }}|{{ lookup('file', 'b.txt') }}|"
        "{{ query('file', 'a.txt', 'b.txt') | length }}|{{ lookup('file', 'a.txt', 'b.txt') }}",
        **{
            "roles/r/files/a.txt": "from role\n\n",
            "b.txt": "from playbook dir\n",
            "files/a.txt": "not this one",
        },
    )
    assert text == "from role|from playbook dir|2|from role,from playbook dir"


@pytest.mark.parametrize(
    "name, words",
    [
        ("../../../etc/passwd", "leaves|not found"),
        ("/etc/passwd", "absolute paths are refused"),
        ("~/x", "absolute paths are refused"),
        ("link.txt", "leaves"),
        ("dirlink/x", "leaves"),
        ("missing.txt", "not found"),
        ("a\nb", "control characters"),
        ("a\x00b", "control characters"),
        ("", "non-empty"),
    ],
)
def test_file_lookup_stays_in_the_project(tmp_path: Path, name: str, words: str) -> None:
    project = tmp_path / "p"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("outside secret")
    (outside / "secret.txt").write_text("outside secret")
    (project / "files").mkdir(parents=True)  # the playbook's folder (a role's own
    (project / "files/link.txt").symlink_to(outside / "secret.txt")  # links are refused
    (project / "dirlink").symlink_to(outside)  # when the role is loaded)
    with pytest.raises(InputError, match=words) as caught:
        one(
            project,
            "{{ lookup('file', n) }}",
            **{"group_vars/all.yml": "n: " + json.dumps(name) + "\n"},
        )
    assert "outside secret" not in str(caught.value)
    assert caught.value.location is not None


def test_file_lookup_size_bound(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="more than"):
        one(tmp_path, "{{ lookup('file', 'big') }}", **{"big": "x" * (1024 * 1024 + 1)})


def test_template_lookup_sees_the_variables(tmp_path: Path) -> None:
    text = one(
        tmp_path,
        "{{ lookup('template', 't.j2') }}",
        **{"roles/r/templates/t.j2": "port={{ port }} on {{ inventory_hostname }}\n"},
    )
    assert text == "port=5432 on db1\n"


def test_template_lookup_shares_the_render_bounds(tmp_path: Path) -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(InputError, match="loop iterations|longer than"):
        one(tmp_path, "{{ lookup('template', 't.j2') }}", **{"roles/r/templates/t.j2": loop})


def test_env_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_TEST_X", "it's\nhere")
    monkeypatch.delenv("PROVISION_TEST_MISSING", raising=False)
    text = one(
        tmp_path,
        "{{ lookup('env', 'PROVISION_TEST_X') }}|{{ lookup('env', 'PROVISION_TEST_MISSING') }}|"
        "{{ lookup('ansible.builtin.env', 'PROVISION_TEST_MISSING', default='d') }}",
    )
    assert text == "it's\nhere||d"
    assert os.environ["PROVISION_TEST_X"] == "it's\nhere"


@pytest.mark.parametrize(
    "expr, words",
    [
        ("lookup('pipe', 'touch /tmp/provision-pwned')", "runs a command on the controller"),
        ("lookup('ansible.builtin.pipe', 'id')", "runs a command on the controller"),
        ("query('lines', 'id')", "runs a command on the controller"),
        ("lookup('password', '/tmp/p')", "writes files on the controller"),
        ("lookup('url', 'http://127.0.0.1/')", "fetches a URL"),
        ("lookup('dig', 'x')", "not supported; supported lookups: env, file, template"),
    ],
)
def test_controller_lookups_refused(tmp_path: Path, expr: str, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        one(tmp_path, "{{ " + expr + " }}")
    assert "-e" in str(caught.value) or "supported" in str(caught.value)
    assert not Path("/tmp/provision-pwned").exists()


def test_omit_drops_the_argument(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "inventory.yml": INVENTORY,
            "site.yml": (
                "- hosts: db1\n  tasks:\n"
                "    - copy:\n        dest: /tmp/x\n        content: x\n"
                '        mode: "{{ nothing | default(omit) }}"\n'
                '        owner: "{{ owner_name | default(omit) }}"\n'
            ),
            "group_vars/all.yml": "owner_name: root\n",
        },
    )
    task = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml").plays[0][1][0]
    params = task.tasks[0].task.params
    assert params.mode is None
    assert params.owner == "root"


def test_file_lookup_decrypts_a_vault_file_as_a_secret(tmp_path: Path) -> None:
    from provision.project import vault
    from provision.reporting.mask import Masker, forget_vault_values

    vault.KEYRING.clear()
    forget_vault_values()
    try:
        vault.KEYRING.add(vault.VaultSecret("default", b"pw", "test"))
        encrypted = vault.encrypt(b"looked-up-secret\n", b"pw")
        text = one(tmp_path, "{{ lookup('file', 'key.txt') }}", **{"files/key.txt": encrypted})
        assert text == "looked-up-secret"
        assert Masker()("x looked-up-secret") == "x ********"
    finally:
        vault.KEYRING.clear()
        forget_vault_values()


def test_another_hosts_password_through_hostvars_is_a_secret(tmp_path: Path) -> None:
    from provision.reporting.mask import Masker, forget_vault_values

    forget_vault_values()
    try:
        text = one(
            tmp_path,
            "{{ hostvars['web1.example.com'].ansible_password }}",
            **{"host_vars/web1.example.com.yml": "ansible_password: other-host-pw-77\n"},
        )
        assert text == "other-host-pw-77"
        assert Masker()("pw other-host-pw-77") == "pw ********"
    finally:
        forget_vault_values()


@pytest.mark.parametrize(
    "text", ["{{ lookup('pipe', 'id') }}", "{% for x in y %}", "a {{ b }} c", "{#", "}}{{"]
)
def test_unsafe_values_are_never_rendered(tmp_path: Path, text: str) -> None:
    got = one(
        tmp_path,
        "{{ raw_value }}",
        **{"group_vars/all.yml": "raw_value: !unsafe " + json.dumps(text) + "\n"},
    )
    assert got == text


def test_unsafe_must_tag_a_text(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="marks a text value"):
        one(tmp_path, "x", **{"group_vars/all.yml": "v: !unsafe [a]\n"})
