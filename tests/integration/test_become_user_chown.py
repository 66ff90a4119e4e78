"""`become_user` on a file another user owns (sshd on loopback, logged in as root, tasks
run as `nobody`): only root, or the file's owner, may change its owner or mode. Before the
fix the plan promised a chown/chmod that then failed at apply with "Operation not
permitted"; now `plan` refuses the task at its file:line with what to write instead, and
nothing is touched. What nobody may do (its own file; new content written as a new file
of its own in a folder it may write) still converges."""

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

# (the task, run as nobody on {{ base }}/f (a root file 0644 with "same\n"), the words of
# the refusal or None when it converges, the file's owner after)
CASES = {
    "file mode": ('ansible.builtin.file: {path: "{{ base }}/f", mode: "0600"}', "mode"),
    "file owner": ('ansible.builtin.file: {path: "{{ base }}/f", owner: nobody}', "owner"),
    "file group": ('ansible.builtin.file: {path: "{{ base }}/f", group: nobody}', "group"),
    "copy same content, owner": (
        'ansible.builtin.copy: {dest: "{{ base }}/f", content: "same\\n", owner: nobody}',
        "owner",
    ),
    "copy same content, mode": (
        'ansible.builtin.copy: {dest: "{{ base }}/f", content: "same\\n", mode: "0600"}',
        "mode",
    ),
    "copy new content, owner root": (
        'ansible.builtin.copy: {dest: "{{ base }}/f", content: "new\\n", owner: root}',
        "owner",
    ),
}


@pytest.fixture
def shared(request: pytest.FixtureRequest) -> Path:
    if "nobody" not in {p.pw_name for p in pwd.getpwall()}:
        pytest.skip("no user nobody here")
    if os.geteuid() != 0:
        pytest.skip("needs root (the sshd logs in as root and runs tasks as nobody)")
    folder = Path(tempfile.mkdtemp(prefix="provision-become-chown-"))
    folder.chmod(0o755)
    base = folder / "t"
    base.mkdir()
    base.chmod(0o777)  # nobody may make files here (not sticky: it may replace root's)
    (base / "f").write_text("same\n")
    (base / "f").chmod(0o644)
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    return base


def project(tmp_path: Path, sshd: Sshd, base: Path, task: str) -> Path:
    tasks = f"- name: the task\n  {task}\n  become: true\n  become_user: nobody\n"
    _, old_base, site = make_project(tmp_path, sshd, tasks)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(inventory.read_text().replace(f"base: {old_base}", f"base: {base}"))
    return site


@pytest.mark.parametrize(("task", "what"), CASES.values(), ids=CASES.keys())
def test_a_change_only_root_may_make_is_refused_at_plan(
    tmp_path: Path, sshd: Sshd, shared: Path, task: str, what: str
) -> None:
    site = project(tmp_path, sshd, shared, task)
    before = (shared / "f").stat()
    for command in ("plan", "apply"):
        run = provision(tmp_path, command, "inventory.yml", "-p", str(site), "--format", "json")
        assert run.returncode not in (0, 2), run.stdout[-3000:] + run.stderr[-3000:]
        assert "Traceback" not in run.stderr
        (host,) = json.loads(run.stdout)["hosts"].values()
        [report] = host["tasks"]
        assert report["status"] == "failed"
        message = report["message"]
        assert message.startswith(f"{site}:")  # the task's file:line
        assert "runs as nobody (become_user)" in message and f"{what} of" in message
        assert "owned by root" in message and "Drop `become_user`" in message
        assert "Operation not permitted" not in message
        assert host["remote_commands"] == 1  # the probe only: nothing was tried
    after = (shared / "f").stat()
    assert (after.st_uid, after.st_mode, after.st_ino) == (
        before.st_uid,
        before.st_mode,
        before.st_ino,
    )
    assert (shared / "f").read_text() == "same\n"


CONVERGES = {
    "new content, no owner given": (
        'ansible.builtin.copy: {dest: "{{ base }}/f", content: "new\\n"}',
        False,
    ),
    "its own file's mode": ('ansible.builtin.file: {path: "{{ base }}/f", mode: "0600"}', True),
    "its own file, owner nobody": (
        'ansible.builtin.file: {path: "{{ base }}/f", owner: nobody}',
        True,
    ),
    "new content, owner nobody": (
        'ansible.builtin.copy: {dest: "{{ base }}/f", content: "new\\n", owner: nobody}',
        False,
    ),
}


@pytest.mark.parametrize(("task", "own"), CONVERGES.values(), ids=CONVERGES.keys())
def test_what_the_user_may_do_converges(
    tmp_path: Path, sshd: Sshd, shared: Path, task: str, own: bool
) -> None:
    nobody = pwd.getpwnam("nobody")
    if own:
        os.chown(shared / "f", nobody.pw_uid, nobody.pw_gid)
    site = project(tmp_path, sshd, shared, task)
    first = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (shared / "f").stat().st_uid == nobody.pw_uid
    again = provision(tmp_path, "apply", "inventory.yml", "-p", str(site), "--format", "json")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    (host,) = json.loads(again.stdout)["hosts"].values()
    assert host["counts"]["changed"] == 0
