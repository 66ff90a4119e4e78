"""`become_user` over real SSH (sshd on loopback, logged in as root): a read-only command
in the probe and a changing `shell` task run as that user (runuser -u USER, quoted by
construction); apply converges and a re-run changes nothing."""

from __future__ import annotations

import json
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
- name: who am I, as nobody
  ansible.builtin.command: id -un
  register: who
  changed_when: false
  become: true
  become_user: nobody
- name: the probe ran it as nobody
  ansible.builtin.assert: {that: ["who.stdout == 'nobody'"]}
- block:
    - name: a file made as nobody
      ansible.builtin.shell:
        cmd: "id -un > {{ base }}/made-by; echo {{ evil }} > {{ base }}/evil"
        creates: "{{ base }}/made-by"
  become: true
  become_user: nobody
"""


def test_become_user_runs_commands_as_that_user(
    tmp_path: Path, sshd: Sshd, request: pytest.FixtureRequest
) -> None:
    if "nobody" not in {p.pw_name for p in pwd.getpwall()}:
        pytest.skip("no user nobody here")
    markers, base, site = make_project(tmp_path, sshd, TASKS)
    # nobody cannot enter pytest's tmp folders (0700): the target is a folder of /tmp
    shared = Path(tempfile.mkdtemp(prefix="provision-become-user-"))
    shared.chmod(0o755)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(inventory.read_text().replace(f"base: {base}", f"base: {shared}/t"))
    base = shared / "t"
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    first = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (base / "made-by").read_text() == "nobody\n"
    assert pwd.getpwuid((base / "made-by").stat().st_uid).pw_name == "nobody"
    assert list(markers.iterdir()) == []  # the evil value landed as one word
    again = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    (host,) = json.loads(again.stdout)["hosts"].values()
    assert host["counts"]["changed"] == 0 and host["remote_commands"] == 1
