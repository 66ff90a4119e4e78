"""`become_method: su` with the host's `become_user` over real SSH (sshd on loopback,
logged in as root, the real `su`): the probe's read-only command and a changing `shell`
task run as that user (`su USER -c`, no runuser), apply converges, a re-run changes
nothing in one remote command. The password path (a non-root login) is tested against a
stand-in su in tests/unit/execution/test_become_su_user.py."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.integration.test_shell_injection import make_project, provision

pytestmark = pytest.mark.integration

TASKS = """\
- name: shared folder
  directory: {path: "{{ base }}", mode: "1777"}
- name: who am I
  ansible.builtin.command: id -un
  register: who
  changed_when: false
  become: true
- name: the probe ran it as the become user
  ansible.builtin.assert: {that: ["who.stdout == become_target"]}
- name: a file made as the become user
  ansible.builtin.shell:
    cmd: "id -un > {{ base }}/made-by"
    creates: "{{ base }}/made-by"
  become: true
"""


def login_user() -> str | None:
    """A user other than root whose login shell runs `sh -c` (su USER -c needs one)."""
    for entry in pwd.getpwall():
        shell = entry.pw_shell
        if entry.pw_uid != 0 and shell.endswith(("/bash", "/sh")) and os.access(shell, os.X_OK):
            return entry.pw_name
    return None


def test_su_to_the_become_user_directly(
    tmp_path: Path, sshd: Sshd, request: pytest.FixtureRequest
) -> None:
    user = login_user()
    if user is None:
        pytest.skip("no user with a login shell besides root here")
    markers, base, site = make_project(tmp_path, sshd, TASKS)
    shared = Path(tempfile.mkdtemp(prefix="provision-su-user-"))
    shared.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        inventory.read_text().replace(f"base: {base}", f"base: {shared}/t")
        + "      ansible_become_method: su\n"
        f"      ansible_become_user: {user}\n"
        f"      become_target: {user}\n"
    )
    base = shared / "t"
    first = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (base / "made-by").read_text() == f"{user}\n"
    assert pwd.getpwuid((base / "made-by").stat().st_uid).pw_name == user
    again = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    (host,) = json.loads(again.stdout)["hosts"].values()
    assert host["counts"]["changed"] == 0 and host["remote_commands"] == 1
