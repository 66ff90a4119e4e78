"""`become_method: su` over one SSH session, `become_user` on file tasks, `file` with
`recurse` and `state: hard`, and `provision verify` over replace/blockinfile tasks, on
one lab host: a login user without sudo, root's password given to su (a hostile one),
never shown anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
ROOT_PASSWORD = "R00t pw 'q\" $HOME \\n -x"

PLAY = {
    "hosts": "rocky1",
    "become": True,
    "become_method": "su",
    "tasks": [
        {"name": "as root", "copy": {"dest": "/srv/su5a/root.conf", "content": "a=1\n"}},
        {
            "name": "as appuser",
            "ansible.builtin.copy": {"dest": "/srv/su5a/app/new.conf", "content": "n=1\n"},
            "become_user": "appuser",
        },
        {
            "name": "edit as appuser",
            "ansible.builtin.replace": {
                "path": "/srv/su5a/app/app.conf",
                "regexp": "^port=80$",
                "replace": "port=8080",
            },
            "become_user": "appuser",
        },
        {
            "name": "block",
            "ansible.builtin.blockinfile": {
                "path": "/srv/su5a/block.conf",
                "block": "b=2",
                "create": True,
            },
        },
        {
            "name": "tree",
            "ansible.builtin.file": {
                "path": "/srv/su5a/tree",
                "state": "directory",
                "recurse": True,
                "owner": "appuser",
                "mode": "u=rwX,g=rX,o=",
            },
        },
        {
            "name": "hard",
            "ansible.builtin.file": {
                "path": "/srv/su5a/hard",
                "src": "/srv/su5a/root.conf",
                "state": "hard",
            },
        },
    ],
}
CLOSED = {
    "hosts": "rocky1",
    "become": True,
    "become_method": "su",
    "tasks": [
        {
            "name": "appuser may not write here",
            "copy": {"dest": "/srv/su5a/closed/x", "content": "x\n"},
            "become_user": "appuser",
        }
    ],
}


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def setup(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> dict:
    host = fresh_hosts.hosts[0]
    quoted = ROOT_PASSWORD.replace("'", "'\"'\"'")
    run_on(
        host,
        f"printf '%s\\n' 'root:{quoted}' | chpasswd;"
        " useradd -m suuser; useradd -m appuser;"
        " mkdir -p ~suuser/.ssh; cp ~rocky/.ssh/authorized_keys ~suuser/.ssh/;"
        " chown -R suuser: ~suuser/.ssh;"
        " mkdir -p /srv/su5a/app /srv/su5a/closed /srv/su5a/tree/sub /srv/outside;"
        " chown appuser: /srv/su5a/app; chmod 0755 /srv/su5a/closed;"
        " echo port=80 > /srv/su5a/app/app.conf; chown appuser: /srv/su5a/app/app.conf;"
        " echo x > /srv/su5a/tree/sub/f; echo y > \"/srv/su5a/tree/-it's $(printf 'a\\nb')\";"
        " echo s > /srv/outside/secret; chmod 0600 /srv/outside/secret;"
        " ln -s /srv/outside/secret /srv/su5a/tree/escape",
    )
    folder = tmp_path_factory.mktemp("su5a")

    def su_login(data: dict) -> None:
        hosts_of(data)["rocky1"].update(
            ansible_user="suuser",
            ansible_become_method="su",
            ansible_become_password=ROOT_PASSWORD,
        )

    inventory = derived_inventory(fresh_hosts.inventory, folder / "inv.yml", su_login)
    site = folder / "site.yml"
    site.write_text(yaml.safe_dump([PLAY], sort_keys=False))
    closed = folder / "closed.yml"
    closed.write_text(yaml.safe_dump([CLOSED], sort_keys=False))
    return {"host": host, "inventory": inventory, "site": site, "closed": closed}


def test_su_applies_converges_and_never_shows_the_password(setup: dict) -> None:
    inv, site, host = str(setup["inventory"]), str(setup["site"]), setup["host"]
    first = provision("apply", inv, "--playbook", site, "--limit", "rocky1", "--diff")
    assert first.returncode == 0, first.stdout + first.stderr
    owners = run_on(
        host,
        "stat -c '%U %a %n' /srv/su5a/root.conf /srv/su5a/app/new.conf /srv/su5a/tree"
        " /srv/su5a/tree/sub /srv/su5a/tree/sub/f; stat -c %U:%a /srv/outside/secret;"
        " cat /srv/su5a/app/app.conf; stat -c %i /srv/su5a/hard /srv/su5a/root.conf",
    ).stdout.splitlines()
    assert owners[0] == "root 644 /srv/su5a/root.conf"
    assert owners[1] == "appuser 644 /srv/su5a/app/new.conf"
    assert owners[2] == "appuser 750 /srv/su5a/tree"
    assert owners[3] == "appuser 750 /srv/su5a/tree/sub"
    assert owners[4] == "appuser 640 /srv/su5a/tree/sub/f"
    assert owners[5] == "root:600", "a link inside the tree was followed out of it"
    assert owners[6] == "port=8080"
    assert owners[7] == owners[8], "not a hard link"
    again = provision("apply", inv, "--playbook", site, "--limit", "rocky1", "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)["hosts"]["rocky1"]
    assert report["counts"]["changed"] == 0, report
    assert report["remote_commands"] == 1, report
    verify = provision("verify", inv, "--playbook", site, "--limit", "rocky1")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    shown = first.stdout + first.stderr + again.stdout + again.stderr + verify.stdout
    shown += run_on(host, "journalctl --no-pager | cat -v", check=False).stdout
    assert ROOT_PASSWORD not in shown and "R00t pw" not in shown


def test_become_user_writes_with_that_users_permissions(setup: dict) -> None:
    inv, closed = str(setup["inventory"]), str(setup["closed"])
    result = provision("apply", inv, "--playbook", closed, "--limit", "rocky1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Permission denied" in result.stdout, result.stdout
    assert run_on(setup["host"], "test -e /srv/su5a/closed/x", check=False).returncode == 1


def test_a_wrong_su_password_is_one_clear_error(setup: dict, tmp_path: Path) -> None:
    data = yaml.safe_load(Path(setup["inventory"]).read_text())
    hosts_of(data)["rocky1"]["ansible_become_password"] = "not-the-root-password"
    inventory = tmp_path / "wrong.yml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    result = provision("plan", str(inventory), "--playbook", str(setup["site"]), "-l", "rocky1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "su refused the become password" in result.stdout, result.stdout
    assert "not-the-root-password" not in result.stdout + result.stderr


APP_PASSWORD = "App pw 'q\" `id` $(id) \\t -x"
DIRECT = {
    "hosts": "rocky1",
    "become": True,
    "become_user": "appuser",
    "tasks": [
        {
            "name": "who am I",
            "ansible.builtin.command": "id -un",
            "register": "who",
            "changed_when": False,
        },
        {"name": "as appuser", "ansible.builtin.assert": {"that": ["who.stdout == 'appuser'"]}},
        {
            "name": "a file su to appuser makes",
            "ansible.builtin.copy": {"dest": "/srv/su5a/app/direct.conf", "content": "d=1\n"},
        },
        {
            "name": "a command su to appuser runs",
            "ansible.builtin.shell": {
                "cmd": "id -un > /srv/su5a/app/made-by",
                "creates": "/srv/su5a/app/made-by",
            },
        },
    ],
}


def test_su_to_the_become_user_with_its_own_password(setup: dict, tmp_path: Path) -> None:
    """Ansible's su: the play's become_user is reached by `su appuser` with appuser's
    password (root's is not given); the probe and the tasks run as appuser."""
    host = setup["host"]
    quoted = APP_PASSWORD.replace("'", "'\"'\"'")
    run_on(host, f"printf '%s\\n' 'appuser:{quoted}' | chpasswd")
    data = yaml.safe_load(Path(setup["inventory"]).read_text())
    hosts_of(data)["rocky1"]["ansible_become_password"] = APP_PASSWORD
    inventory = tmp_path / "app.yml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    site = tmp_path / "direct.yml"
    site.write_text(yaml.safe_dump([DIRECT], sort_keys=False))
    inv = str(inventory)
    first = provision("apply", inv, "--playbook", str(site), "--limit", "rocky1", "--diff")
    assert first.returncode == 0, first.stdout + first.stderr
    owners = run_on(
        host, "stat -c '%U %n' /srv/su5a/app/direct.conf; cat /srv/su5a/app/made-by"
    ).stdout.splitlines()
    assert owners == ["appuser /srv/su5a/app/direct.conf", "appuser"]
    again = provision(
        "apply", inv, "--playbook", str(site), "--limit", "rocky1", "--format", "json"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)["hosts"]["rocky1"]
    assert report["counts"]["changed"] == 0 and report["remote_commands"] == 1, report
    # root's password is now the wrong one for this play: one clear error, nothing shown
    hosts_of(data)["rocky1"]["ansible_become_password"] = ROOT_PASSWORD
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    wrong = provision("plan", inv, "--playbook", str(site), "--limit", "rocky1")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "su refused the become password" in wrong.stdout, wrong.stdout
    shown = first.stdout + first.stderr + again.stdout + again.stderr
    shown += wrong.stdout + wrong.stderr
    shown += run_on(host, "journalctl --no-pager | cat -v", check=False).stdout
    assert "App pw" not in shown and "R00t pw" not in shown
