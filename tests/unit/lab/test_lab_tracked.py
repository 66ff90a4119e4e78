"""The lab writes no tracked file: inventories/lab.yml is static, and hosts other than the
default three get .lab/inventory.yml (git-ignored) beside the key.

The core test runs every writer `lab up` and `lab down --wipe` use on the inventory's folder
in a throwaway git repository holding this checkout's .gitignore and inventories/lab.yml, and
checks `git status --porcelain` after each step (and that lab.yml was not even rewritten).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provision.lab import config, core, inventory
from provision.lab.cli import lab
from provision.project.hostconfig import host_config
from provision.project.inventory import load_inventory
from provision.project.templating import Variables

CHECKOUT = Path(__file__).resolve().parents[3]
FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"

#: host sets `lab up` can leave running, as indexes ("default": what lab.yml lists)
HOST_SETS = {
    "default": [1, 2, 3],
    "one": [1],
    "two": [1, 2],
    "five": [1, 2, 3, 4, 5],
    "gap": [2, 3, 4],
    "not-rocky1": [2, 3],
    "all": list(range(1, config.MAX_HOSTS + 1)),
}


def lab_hosts(indexes: list[int]) -> list[core.LabHost]:
    return [core.lab_host(i) for i in indexes]


def pairs(indexes: list[int]) -> list[tuple[str, str]]:
    return [(h.name, h.address) for h in lab_hosts(indexes)]


def fake_host_keys(name: str) -> list[str]:
    return [f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{name} root@{name}"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A git repository with this checkout's .gitignore and inventories/lab.yml, committed."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    for name in (".gitignore", "inventories/lab.yml"):
        if not (CHECKOUT / name).is_file():
            pytest.skip(f"not a checkout: no {name}")
    repo = tmp_path / "clone"
    (repo / "inventories").mkdir(parents=True)
    shutil.copy(CHECKOUT / ".gitignore", repo / ".gitignore")
    shutil.copy(CHECKOUT / "inventories" / "lab.yml", repo / "inventories" / "lab.yml")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-q",
        "-m",
        "clone",
    )
    assert git(repo, "status", "--porcelain") == ""
    return repo


def fingerprint_of(path: Path) -> tuple[int, int, bytes]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, path.read_bytes()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_lab_writers_leave_a_clone_clean(
    clone: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(core, "_host_keys", fake_host_keys)
    monkeypatch.setattr(config, "STATE_ROOT", tmp_path / "state")
    paths = core.lab_paths(clone / "inventories" / "lab.yml")
    before = fingerprint_of(paths.inventory)
    core._ensure_client_key(paths)
    core.write_lab_vars(paths, FINGERPRINT)
    generated = paths.inventory.parent / ".lab" / "inventory.yml"
    steps = ["default", "one", "five", "all", "gap", "default", "two"]
    for step in steps:
        used = core._write_access(paths, lab_hosts(HOST_SETS[step]))
        assert git(clone, "status", "--porcelain") == "", step
        assert fingerprint_of(paths.inventory) == before, f"{step}: lab.yml was rewritten"
        assert used == (paths.inventory if step == "default" else generated), step
        assert generated.exists() == (step != "default"), step
    ignored = git(clone, "status", "--porcelain", "--ignored")
    assert ignored == "!! inventories/.lab/\n"
    assert sorted(p.name for p in (paths.inventory.parent / ".lab").iterdir()) == [
        "id_ed25519",
        "id_ed25519.pub",
        "inventory.yml",
        "known_hosts",
        "vars.yml",
    ]


def test_the_check_can_fail(clone: Path) -> None:
    """What the old `lab up` did (rewrite lab.yml for 5 hosts) shows in git status."""
    path = clone / "inventories" / "lab.yml"
    path.write_text(inventory.render_inventory(pairs(HOST_SETS["five"])))
    assert git(clone, "status", "--porcelain") == " M inventories/lab.yml\n"


@pytest.mark.parametrize("name", sorted(HOST_SETS))
def test_the_inventory_used_lists_exactly_the_hosts_up(name: str, tmp_path: Path) -> None:
    inv = tmp_path / "inventories" / "lab.yml"
    hosts = pairs(HOST_SETS[name])
    used = inventory.write_inventory(inv, hosts)
    assert used == inventory.inventory_for(inv, hosts)
    assert used == (inv if name == "default" else inv.parent / ".lab" / "inventory.yml")
    data = yaml.safe_load(used.read_text())
    assert data["all"]["children"]["docker_hosts"]["hosts"] == {
        host: {"ansible_host": address} for host, address in hosts
    }
    # the same key, known_hosts and vars.yml, whichever file is used
    secrets = inv.parent / ".lab"
    inventory.write_private(secrets / "vars.yml", inventory.render_lab_vars(FINGERPRINT))
    loaded = load_inventory(used)
    first = hosts[0][0]
    variables, _ = loaded.host_variables(first)
    assert variables["docker_gpg_fingerprint"] == FINGERPRINT
    cfg = host_config(first, Variables(variables), used.parent, False, None)
    assert cfg.key_file == str(secrets / "id_ed25519")
    assert cfg.known_hosts == str(secrets / "known_hosts")
    assert cfg.known_hosts_only is True
    assert cfg.address == hosts[0][1]


def test_no_hosts_up_names_the_committed_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "lab.yml"
    assert inventory.inventory_for(inv, []) == inv


@pytest.mark.parametrize(
    "existing",
    [
        "",
        "# my own lab inventory\nall: {}\n",
        inventory.render_inventory(pairs(HOST_SETS["five"])),
        "not: [valid yaml\n",
    ],
    ids=["empty", "own", "old-five-hosts", "broken"],
)
@pytest.mark.parametrize("hosts", ["default", "one", "five"])
def test_an_existing_inventory_is_never_rewritten(
    existing: str, hosts: str, tmp_path: Path
) -> None:
    inv = tmp_path / "lab.yml"
    inv.write_text(existing)
    before = fingerprint_of(inv)
    inventory.write_inventory(inv, pairs(HOST_SETS[hosts]))
    assert fingerprint_of(inv) == before
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == (["lab.yml"] if hosts == "default" else [".lab", "lab.yml"])


def test_a_missing_inventory_is_created_with_the_default_hosts(tmp_path: Path) -> None:
    """Outside a checkout (an installed wheel, --inventory elsewhere) there is none yet."""
    inv = tmp_path / "project" / "inventories" / "lab.yml"
    inventory.write_inventory(inv, pairs(HOST_SETS["five"]))
    assert inv.read_text() == inventory.render_inventory(inventory.default_hosts())
    assert stat.S_IMODE(os.stat(inv).st_mode) == 0o644 & ~_umask()
    assert not list(inv.parent.glob(".*.tmp"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_wipe_forgets_the_generated_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lab down --wipe` removes .lab/inventory.yml with known_hosts (no hosts left)."""
    inv = tmp_path / "inventories" / "lab.yml"
    inventory.write_inventory(inv, pairs(HOST_SETS["five"]))
    monkeypatch.setattr(config, "STATE_ROOT", tmp_path / "state")
    monkeypatch.setattr(core, "check_prerequisites", lambda build: None)
    monkeypatch.setattr(core, "lab_lock", _no_lock)
    monkeypatch.setattr(core, "running_hosts", list)
    monkeypatch.setattr(core, "_known_host_names", set)
    monkeypatch.setattr(core, "_stop_server", lambda: False)
    monkeypatch.setattr(core.net, "remove_bridge", lambda: False)
    monkeypatch.setattr(core.net, "ensure_safety_route", lambda: None)
    monkeypatch.setattr(core, "echo", lambda msg: None)
    core.lab_down(wipe=True, inventory_path=inv)
    assert not (inv.parent / ".lab" / "inventory.yml").exists()
    assert inv.is_file()


class _no_lock:  # noqa: N801 - stands in for the lab_lock() context manager
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    ("indexes", "generated"), [([1, 2, 3], False), ([1], True), ([1, 2, 3, 4, 5], True)]
)
def test_up_names_the_inventory_to_use(
    indexes: list[int], generated: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = tmp_path / "inventories" / "lab.yml"
    monkeypatch.setattr(core, "lab_up", lambda count, path: lab_hosts(indexes))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(lab, ["up", "--hosts", "3", "--inventory", str(inv)])
    assert result.exit_code == 0, result.output
    expected = inv.parent / ".lab" / "inventory.yml" if generated else inv
    assert f"inventory: {expected}\n" in result.output
    hint = "use this file, e.g. provision plan inventories/.lab/inventory.yml"
    assert (hint in result.output) == generated
