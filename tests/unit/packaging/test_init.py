"""`provision init DIR`: the starter project, its refusals, and that it compiles."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provision.cli import main
from provision.shipped import playbooks_dir, roles_dir
from provision.starter import FILES, starter_text

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


def tree(folder: Path) -> dict[str, str]:
    """Every entry under `folder` and what it is (content for files), to show nothing moved."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_file():
            found[name] = path.read_text(errors="replace")
        else:
            found[name] = "/"
    return found


# ---- refused folder names: exit 2, the reason, nothing written -------------------------

BAD_NAMES = {
    "empty": ("", "is empty"),
    "leading dash": ("-demo", "starts with `-`"),
    "double dash": ("--force-me", "starts with `-`"),
    "lone dash": ("-", "starts with `-`"),
    "line feed": ("demo\nx", "U+000A"),
    "carriage return": ("demo\rx", "U+000D"),
    "vertical tab": ("demo\vx", "U+000B"),
    "form feed": ("demo\fx", "U+000C"),
    "next line": ("demo\x85x", "U+0085"),
    "line separator": ("demo\u2028x", "U+2028"),
    "paragraph separator": ("demo\u2029x", "U+2029"),
    "tab": ("demo\tx", "U+0009"),
    "escape": ("demo\x1b[31mred", "U+001B"),
    "delete": ("demo\x7f", "U+007F"),
    "nul": ("demo\x00x", "U+0000"),
    "bidi override": ("demo\u202eexe.yml", "U+202E"),
    "zero width space": ("de\u200bmo", "U+200B"),
    "byte order mark": ("\ufeffdemo", "U+FEFF"),
    "undecodable byte": ("demo\udcff", "U+DCFF"),
    "control after dash": ("-\nx", "U+000A"),
    "huge": ("d" * 5000, "longer than 4096"),
}


@pytest.mark.parametrize("name, expected", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_refused_folder_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run("init", "--", name)
    assert code == 2, output
    assert expected in output
    assert output.startswith("error: project folder ")
    for char in "\n\r\v\f\x85\u2028\u2029\x1b\x00\u202e":  # the name is escaped, one line
        assert char not in output.split("\n", 1)[0]
    assert tree(tmp_path) == {}


def test_leading_dash_without_separator_is_a_usage_error(tmp_path: Path) -> None:
    code, output = run("init", "-demo")
    assert code == 2
    assert "No such option" in output


# ---- folders and files in the way ----------------------------------------------------


def make_file(path: Path, text: str = "mine\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


IN_THE_WAY = {
    # name: (setup, args after init, expected message)
    "DIR is a file": (lambda d: make_file(d), [], "is a file, not a folder"),
    "DIR is a symlink to a file": (
        lambda d: (make_file(d.parent / "real"), d.symlink_to(d.parent / "real")),
        [],
        "not a folder",
    ),
    "DIR is a dangling symlink": (
        lambda d: d.symlink_to(d.parent / "nowhere"),
        [],
        "a symlink to nothing",
    ),
    "DIR is a file, --force": (lambda d: make_file(d), ["--force"], "not a folder"),
    "inventories is a file": (
        lambda d: make_file(d / "inventories"),
        [],
        "inventories is a file",
    ),
    "inventories is a file, --force": (
        lambda d: make_file(d / "inventories"),
        ["--force"],
        "the starter project needs a folder there",
    ),
    "group_vars is a file, --force": (
        lambda d: make_file(d / "inventories" / "group_vars"),
        ["--force"],
        "group_vars is a file",
    ),
    "site.yml is a folder, --force": (
        lambda d: (d / "playbooks" / "site.yml").mkdir(parents=True),
        ["--force"],
        "site.yml is a folder",
    ),
    "one starter file exists": (
        lambda d: make_file(d / "playbooks" / "site.yml"),
        [],
        "1 starter file(s) exist already",
    ),
    "the .gitignore exists": (
        lambda d: make_file(d / ".gitignore"),
        [],
        ".gitignore",
    ),
    "a dangling symlink where hosts.yml goes": (
        lambda d: (
            (d / "inventories").mkdir(parents=True)
            or (d / "inventories" / "hosts.yml").symlink_to("/nonexistent/provision-test")
        ),
        [],
        "exist already",
    ),
}


@pytest.mark.parametrize("setup, extra, expected", IN_THE_WAY.values(), ids=IN_THE_WAY.keys())
def test_nothing_written_when_something_is_in_the_way(
    tmp_path: Path, setup, extra: list[str], expected: str
) -> None:
    project = tmp_path / "demo"
    setup(project)
    before = tree(tmp_path)
    code, output = run("init", *extra, str(project))
    assert code == 2, output
    assert expected in output
    assert tree(tmp_path) == before


def test_existing_files_are_all_listed(tmp_path: Path) -> None:
    run("init", str(tmp_path / "demo"))
    code, output = run("init", str(tmp_path / "demo"))
    assert code == 2
    assert f"{len(FILES)} starter file(s) exist already" in output
    for name in FILES:
        assert name in output
    assert "--force" in output


# ---- what is written -----------------------------------------------------------------

WHERE = {
    "new folder": "demo",
    "nested new folders": "a/b/c/demo",
    "current folder": ".",
    "folder with a space": "my project",
    "non-ASCII name": "projet-été",
    "dot-dash name": "./-demo",
}


@pytest.mark.parametrize("where", WHERE.values(), ids=WHERE.keys())
def test_writes_every_starter_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run("init", where)
    assert code == 0, output
    for name in FILES:
        path = tmp_path / where / name
        assert path.read_bytes() == starter_text(name), name
        assert f"created  {Path(where) / name}" in output
    assert "provision plan inventories/hosts.yml" in output


def test_other_files_in_the_folder_are_kept(tmp_path: Path) -> None:
    make_file(tmp_path / "notes.txt")
    make_file(tmp_path / "inventories" / "prod.yml")
    code, output = run("init", str(tmp_path))
    assert code == 0, output
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "inventories" / "prod.yml").read_text() == "mine\n"


def test_force_overwrites_starter_files_only(tmp_path: Path) -> None:
    make_file(tmp_path / "playbooks" / "site.yml")
    make_file(tmp_path / "playbooks" / "other.yml")
    code, output = run("init", "--force", str(tmp_path))
    assert code == 0, output
    assert f"replaced {tmp_path / 'playbooks' / 'site.yml'}" in output
    assert f"created  {tmp_path / 'inventories' / 'hosts.yml'}" in output
    assert (tmp_path / "playbooks" / "site.yml").read_bytes() == starter_text("playbooks/site.yml")
    assert (tmp_path / "playbooks" / "other.yml").read_text() == "mine\n"
    assert not list(tmp_path.rglob("*.provision-init.tmp"))


def test_force_replaces_a_symlink_not_its_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    make_file(outside, "precious\n")
    project = tmp_path / "demo"
    (project / "inventories").mkdir(parents=True)
    (project / "inventories" / "hosts.yml").symlink_to(outside)
    code, output = run("init", "--force", str(project))
    assert code == 0, output
    hosts = project / "inventories" / "hosts.yml"
    assert not hosts.is_symlink()
    assert hosts.read_bytes() == starter_text("inventories/hosts.yml")
    assert outside.read_text() == "precious\n"


def test_unwritable_folder_is_an_input_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    tmp_path.chmod(0o500)
    try:
        code, output = run("init", str(tmp_path / "demo"))
    finally:
        tmp_path.chmod(0o700)
    assert code == 2
    assert "cannot write" in output


# ---- the starter's content follows the shipped roles -----------------------------------


def test_site_playbook_lists_the_shipped_roles_in_order() -> None:
    starter = yaml.safe_load(starter_text("playbooks/site.yml"))
    assert playbooks_dir() is not None
    shipped = yaml.safe_load((playbooks_dir() / "docker-host.yml").read_text())
    assert [p["roles"] for p in starter] == [p["roles"] for p in shipped]
    assert [p["hosts"] for p in starter] == [p["hosts"] for p in shipped] == ["docker_hosts"]


def role_defaults() -> dict[str, object]:
    shipped = roles_dir()
    assert shipped is not None
    defaults: dict[str, object] = {}
    for file in sorted(shipped.glob("*/defaults/main.yml")):
        for name, value in (yaml.safe_load(file.read_text()) or {}).items():
            assert defaults.get(name, value) == value, f"{name} differs between roles"
            defaults[name] = value
    return defaults


def commented_settings(text: str) -> dict[str, object]:
    """`# name: value` lines: a setting commented out, showing its default."""
    settings = {}
    for line in text.splitlines():
        if line.startswith("# ") and ": " in line:
            name, _, value = line[2:].partition(": ")
            if name.isidentifier() and name.islower():
                settings[name] = yaml.safe_load(value)
    return settings


def test_group_vars_show_the_roles_defaults() -> None:
    text = starter_text("inventories/group_vars/all.yml").decode()
    assert yaml.safe_load(text) is None  # all commented out: the roles' defaults apply
    settings = commented_settings(text)
    defaults = role_defaults()
    assert len(settings) >= 15
    for name, value in settings.items():
        assert name in defaults, f"{name} is no shipped role's variable"
        assert value == defaults[name], name
    for variable in ("dnf_proxy", "docker_repo_url", "docker_version", "docker_users"):
        assert variable in settings


def test_inventory_names_the_playbooks_group() -> None:
    data = yaml.safe_load(starter_text("inventories/hosts.yml"))
    hosts = data["all"]["children"]["docker_hosts"]["hosts"]
    assert len(hosts) == 2
    for host in hosts.values():  # TEST-NET-1 addresses: reach nothing
        assert host["ansible_host"].startswith("192.0.2.")


def test_gitignore_keeps_the_run_record_out() -> None:
    assert ".provision/" in starter_text(".gitignore").decode().splitlines()


# ---- it compiles: plan through the real CLI reaches the host stage ---------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plan_starter(project: Path, *extra: str) -> tuple[int, str]:
    return run(
        "plan",
        str(project / "inventories" / "hosts.yml"),
        "-p",
        str(project / "playbooks" / "site.yml"),
        "--limit",
        "docker1.example.internal",
        # loopback on a closed port instead of the example address: refused at once
        "-e",
        "ansible_host=127.0.0.1",
        "-e",
        f"ansible_port={closed_port()}",
        "--timeout",
        "2",
    )


def test_starter_project_plans_to_unreachable_not_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no roles/ in the current folder: the shipped ones serve
    run("init", "demo")
    code, output = plan_starter(tmp_path / "demo")
    assert code == 3, output
    assert "unreachable" in output
    assert "PLAY Docker hosts (1 host: docker1.example.internal)" in output


def test_a_broken_starter_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: the same plan with a role nobody has stops at exit 2."""
    monkeypatch.chdir(tmp_path)
    run("init", "demo")
    site = tmp_path / "demo" / "playbooks" / "site.yml"
    site.write_text(site.read_text() + "    - no_such_role\n")
    code, output = plan_starter(tmp_path / "demo")
    assert code == 2, output
    assert "role 'no_such_role' not found" in output


def test_help_lists_every_starter_file() -> None:
    code, output = run("init", "--help")
    assert code == 0
    for name in FILES:
        assert f"\n    {name} " in output, name
