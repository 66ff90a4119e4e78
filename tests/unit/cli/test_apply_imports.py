"""What `provision plan` / `apply` import: a guard on start-up time that counts modules
instead of timing them. A real command runs in a fresh interpreter (the shipped Docker-host
playbook, one host on a closed loopback port: compiled in full, then unreachable, nothing
touched) and reports `sys.modules`; modules of other paths must not be there. Also the
stand-in paramiko gets for importlib.metadata (provision.execution.paramikoimport)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.tools.freshpython import fresh

from provision.execution import paramikoimport

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / "playbooks" / "docker-host.yml"
INVENTORY = """\
all:
  children:
    docker_hosts:
      hosts:
        h1: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_user: root}
"""
#: imported by a plain plan or apply of the Docker-host playbook before these changes,
#: used only when a storage or offline_bundle task runs, by bundle commands, or by
#: `--version` (importlib.metadata, which paramiko's __init__ imports for its version)
NOT_ON_THE_PATH = (
    "provision.facts.storage",
    "provision.bundle.format",
    "provision.bundle.verify",
    "tarfile",
    "importlib.metadata",
)
#: what the run needs (so that the test cannot pass by running nothing)
ON_THE_PATH = (
    "provision.project.compile",
    "provision.tasks.offline_bundle",
    "provision.tasks.lvm_vg",
    "provision.tasks.mount",
    "provision.tasks.filesystem",
    "provision.tasks.lvm_lv",
    "paramiko",
)
DUMP = """\
import atexit, json, sys
path = sys.argv[1]
def dump():
    with open(path, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(dump)
sys.argv = ["provision", *sys.argv[2:]]
from provision.cli import run
run()
"""


def modules_of(tmp_path: Path, *args: str) -> tuple[int, list[str], str]:
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", DUMP, str(out), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    return proc.returncode, json.loads(out.read_text()), proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_plan_or_apply_imports_no_module_of_other_paths(tmp_path: Path, command: str) -> None:
    code, modules, output = modules_of(
        tmp_path, command, "inventory.yml", "-p", str(PLAYBOOK), "--timeout", "5"
    )
    assert code == 3, output  # compiled, then unreachable
    assert "unreachable" in output
    missing = [m for m in ON_THE_PATH if m not in modules]
    assert not missing, missing
    loaded = [m for m in NOT_ON_THE_PATH if m in modules]
    assert not loaded, loaded


def test_help_imports_neither_the_compiler_nor_paramiko(tmp_path: Path) -> None:
    code, modules, output = modules_of(tmp_path, "--help")
    assert code == 0, output
    loaded = [m for m in modules if m.split(".")[0] in ("paramiko", "jinja2", "yaml")]
    loaded += [
        m for m in ("provision.project.compile", "provision.execution.runner") if m in modules
    ]
    assert not loaded, loaded


def test_paramiko_gets_its_own_version_without_importlib_metadata() -> None:
    got = fresh(
        "import json, sys\n"
        "from provision.execution.paramikoimport import import_paramiko\n"
        "p = import_paramiko()\n"
        "hidden = 'importlib.metadata' not in sys.modules\n"
        "from importlib import metadata\n"
        "import importlib\n"
        "print(json.dumps([p.__version__, metadata.version('paramiko'), hidden,"
        " importlib.metadata is metadata, hasattr(metadata, 'distributions')]))"
    )
    assert got[0] == got[1]
    assert got[2:] == [True, True, True]


def test_an_earlier_importlib_metadata_is_used_as_it_is() -> None:
    got = fresh(
        "import json, sys\n"
        "from importlib import metadata\n"
        "from provision.execution.paramikoimport import import_paramiko\n"
        "p = import_paramiko()\n"
        "print(json.dumps([p.__version__ == metadata.version('paramiko'),"
        " sys.modules['importlib.metadata'] is metadata, p.metadata is metadata]))"
    )
    assert got == [True, True, True]


def dist(folder: Path, name: str, metadata: str | None) -> None:
    (folder / name).mkdir(parents=True)
    if metadata is not None:
        (folder / name / "METADATA").write_text(metadata)


HEADERS = "Metadata-Version: 2.1\nName: paramiko\nVersion: 9.8.7\nSummary: x\n\nVersion: 1\n"


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([[("paramiko-9.8.7.dist-info", HEADERS)]], "9.8.7"),
        ([[], [("Paramiko-9.8.7.dist-info", HEADERS)]], "9.8.7"),  # first folder that has one
        ([[("paramiko-9.8.7.dist-info", HEADERS)], [("paramiko-1.0.dist-info", HEADERS)]], "9.8.7"),
        ([[("paramiko-9.8.7.dist-info", HEADERS), ("paramiko-1.0.dist-info", HEADERS)]], None),
        ([[("paramiko-9.8.7.egg-info", HEADERS)]], None),
        ([[("paramiko-9.8.7.dist-info", "Name: paramiko\n\nVersion: 1\n")]], None),
        ([[("paramiko-9.8.7.dist-info", "Name: paramiko\nVersion:  \n")]], None),
        ([[("paramiko-9.8.7.dist-info", None)]], None),  # no METADATA file
        ([[("paramikox-1.0.dist-info", HEADERS)]], None),  # another project
        ([[]], None),
    ],
)
def test_the_version_is_read_only_where_it_is_plain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders: list, expected: str | None
) -> None:
    path = []
    for i, entries in enumerate(folders):
        folder = tmp_path / f"site{i}"
        folder.mkdir()
        for name, metadata in entries:
            dist(folder, name, metadata)
        path.append(str(folder))
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), *path])
    assert paramikoimport._dist_info_version("paramiko") == expected


def test_a_file_on_sys_path_leaves_the_answer_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lib.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    site = tmp_path / "site"
    site.mkdir()
    dist(site, "paramiko-9.8.7.dist-info", HEADERS)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "lib.zip"), str(site)])
    assert paramikoimport._dist_info_version("paramiko") is None


def test_the_collector_is_paused_for_the_imports_then_frozen_once() -> None:
    got = fresh(
        "import gc, json\n"
        "from provision.startup import collector_paused\n"
        "seen = []\n"
        "with collector_paused():\n"
        "    seen.append(gc.isenabled())\n"
        "    import provision.changecontrol.session\n"
        "seen += [gc.isenabled(), gc.get_freeze_count() > 10000]\n"
        "gc.unfreeze()\n"
        "with collector_paused():\n"
        "    seen.append(gc.isenabled())\n"
        "seen += [gc.isenabled(), gc.get_freeze_count()]\n"
        "print(json.dumps(seen))"
    )
    assert got == [False, True, True, True, True, 0]


def test_a_collector_switched_off_stays_off_and_nothing_is_frozen() -> None:
    got = fresh(
        "import gc, json\n"
        "gc.disable()\n"
        "from provision.startup import collector_paused\n"
        "with collector_paused():\n"
        "    import provision.changecontrol.session\n"
        "print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"
    )
    assert got == [False, 0]


def test_the_collector_resumes_when_an_import_fails() -> None:
    got = fresh(
        "import gc, json\n"
        "from provision.startup import collector_paused\n"
        "try:\n"
        "    with collector_paused():\n"
        "        import provision.no_such_module  # noqa: F401\n"
        "except ImportError:\n"
        "    pass\n"
        "print(json.dumps([gc.isenabled()]))"
    )
    assert got == [True]
