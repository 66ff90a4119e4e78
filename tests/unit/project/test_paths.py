"""Paths stay inside the project: role names, symlinks in roles, `src:` of template/copy.

Each case builds a small project in a temporary folder (symlinks included, which git case
folders cannot hold), compiles it, and expects either success or an InputError that names
the file:line and the offending path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run
from provision.project.paths import contained_file, resolve, role_name

INVENTORY = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n"
TASK = "- copy:\n    dest: /tmp/x\n    content: hi\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """tmp/project/{inventory.yml, playbooks/site.yml, roles/r}; tmp/outside.txt beside it."""
    root = tmp_path / "project"
    write(
        root,
        {
            "inventory.yml": INVENTORY,
            "roles/r/tasks/main.yml": TASK,
            "roles/r/templates/app.j2": "app\n",
            "roles/r/files/app.txt": "app\n",
        },
    )
    write(tmp_path, {"outside.txt": "secret outside\n", "outside_role/tasks/main.yml": TASK})
    monkeypatch.chdir(root)
    return root


def play(root: Path, roles: str = "[r]", tasks: str = "") -> None:
    text = f"- hosts: all\n  roles: {roles}\n"
    if tasks:
        text += "  tasks:\n" + "".join(f"    {line}\n" for line in tasks.splitlines())
    write(root, {"playbooks/site.yml": text})


def compile_project(root: Path):
    return compile_run(root / "inventory.yml", root / "playbooks" / "site.yml")


def expect_error(root: Path, *words: str) -> InputError:
    with pytest.raises(InputError) as caught:
        compile_project(root)
    text = str(caught.value)
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"
    return caught.value


# --- role names ------------------------------------------------------------------------

BAD_ROLE_NAMES = [
    ("../outside_role", "is a path"),
    ("a/../../outside_role", "is a path"),
    ("r/../r", "is a path"),
    ("/etc", "is a path"),
    ("/tmp/outside_role", "is a path"),
    ("..", "is a path"),
    (".", "is a path"),
    (".hidden", "is a path"),
    ("~root", "is a path"),
    ("roles\\r", "is a path"),
    ("", "is empty"),
    ("r\0x", "has characters"),
    ("r\nx", "has characters"),
    ("r\rx", "has characters"),
    ("r\u2028x", "has characters"),
    ("r\x1b[31m", "has characters"),
    ("r x", "has characters"),
    ("-r", "has characters"),
    ("r;id", "has characters"),
    ("x" * 101, "longer than 100"),
    ("x" * 5000, "longer than 100"),
]


@pytest.mark.parametrize("name, why", BAD_ROLE_NAMES, ids=[repr(n)[:30] for n, _ in BAD_ROLE_NAMES])
def test_bad_role_name_is_refused(name: str, why: str):
    with pytest.raises(InputError) as caught:
        role_name(name, None)
    assert why in str(caught.value)
    assert "\n" not in caught.value.message and "\0" not in caught.value.message


@pytest.mark.parametrize(
    "name", ["r", "docker_engine", "geerlingguy.docker", "a-b", "R2", "x" * 100]
)
def test_plain_role_names_pass(name: str):
    assert role_name(name, None) == name


@pytest.mark.parametrize("value", [None, 3, ["r"], {"a": 1}, True])
def test_role_name_of_another_type_is_refused(value):
    with pytest.raises(InputError, match="must be a string"):
        role_name(value, None)


@pytest.mark.parametrize(
    "entry",
    ['"../outside_role"', '"/tmp"', '"r\\nx"', '"r\\0x"', "{role: ../outside_role}", "{role: 3}"],
)
def test_bad_role_name_in_a_play_names_the_play_line(project: Path, entry: str):
    play(project, f"\n    - {entry}")
    error = expect_error(project, "role name")
    assert error.location is not None and error.location.line == 3
    assert error.location.file.endswith("site.yml")


def test_role_folder_symlinked_outside_roles_is_refused(project: Path, tmp_path: Path):
    os.symlink(tmp_path / "outside_role", project / "roles" / "evil")
    play(project, "[evil]")
    expect_error(project, "role 'evil'", "outside the roles folder", "site.yml:2")


def test_role_folder_symlinked_inside_roles_is_fine(project: Path):
    os.symlink("r", project / "roles" / "alias")
    play(project, "[alias]")
    assert compile_project(project).plays[0][1][0].tasks[0].role == "alias"


def test_roles_folder_itself_a_symlink_is_fine(project: Path, tmp_path: Path):
    """playbooks/roles -> ../roles is a common layout."""
    play(project)
    os.symlink("../roles", project / "playbooks" / "roles", target_is_directory=True)
    assert compile_project(project).plays[0][1][0].tasks


def test_role_folder_symlink_loop_is_refused(project: Path):
    os.symlink("loop", project / "roles" / "loop")
    play(project, "[loop]")
    expect_error(project, "symlink loop", "roles/loop", "site.yml:2")


# --- symlinks inside a role ------------------------------------------------------------

LINKS_OUT = [
    "templates/evil.j2",
    "files/evil.txt",
    "defaults/main.yml",
    "handlers/main.yml",
    "vars/main.yml",
    "meta/main.yml",
    "tests/test_evil.py",
    "templates/deep/er/evil.j2",
]


@pytest.mark.parametrize("inside", LINKS_OUT)
def test_symlink_out_of_the_role_is_refused(project: Path, tmp_path: Path, inside: str):
    link = project / "roles" / "r" / inside
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "outside.txt", link)
    play(project)
    expect_error(project, str(link), "outside the role folder", "site.yml:2")


def test_relative_symlink_out_of_the_role_is_refused(project: Path):
    os.symlink("../../../inventory.yml", project / "roles" / "r" / "files" / "inv.txt")
    play(project)
    expect_error(project, "inv.txt", "outside the role folder")


def test_symlinked_folder_out_of_the_role_is_refused(project: Path, tmp_path: Path):
    os.symlink(tmp_path, project / "roles" / "r" / "templates" / "up")
    play(project)
    expect_error(project, "templates/up", "outside the role folder")


def test_symlink_loop_in_a_role_is_refused(project: Path):
    templates = project / "roles" / "r" / "templates"
    os.symlink("b.j2", templates / "a.j2")
    os.symlink("a.j2", templates / "b.j2")
    play(project)
    expect_error(project, "symlink loop", "templates/a.j2", "site.yml:2")


def test_symlinks_inside_the_role_are_fine(project: Path):
    r = project / "roles" / "r"
    os.symlink("app.j2", r / "templates" / "alias.j2")
    os.symlink("../files/app.txt", r / "templates" / "from_files.j2")
    os.symlink("../templates", r / "files" / "tpl")
    os.symlink("missing.j2", r / "templates" / "dangling.j2")  # dangles inside: not an escape
    write(
        project,
        {
            "roles/r/tasks/main.yml": "- template: {src: alias.j2, dest: /tmp/a}\n"
            "- template: {src: from_files.j2, dest: /tmp/b}\n"
            "- copy: {src: tpl/app.j2, dest: /tmp/c}\n"
        },
    )
    play(project)
    tasks = compile_project(project).plays[0][1][0].tasks
    assert [t.task.content for t in tasks] == [b"app\n"] * 3


# --- src: of template and copy ---------------------------------------------------------

SRC_OUT = [
    ("template", "../../../../outside.txt", "outside"),
    ("template", "../../../inventory.yml", "outside"),
    ("template", "sub/../../../../outside.txt", "outside"),
    ("template", "../../", "outside"),
    ("template", "/etc/passwd", "must be a relative path"),
    ("template", "//etc/passwd", "must be a relative path"),
    ("template", "", "must be a relative path"),
    ("template", "a\0b", "NUL byte"),
    ("template", "x" * 2000, "longer than 1024"),
    ("copy", "../../../../outside.txt", "outside"),
    ("copy", "../../r/../../../outside.txt", "outside"),
    ("copy", "/etc/shadow", "must be a relative path"),
    ("copy", "a\0b", "NUL byte"),
    ("copy", "x" * 2000, "longer than 1024"),
]


def _src_task(kind: str, src: str) -> str:
    quoted = '"' + src.replace("\\", "\\\\").replace("\0", "\\0").replace("\n", "\\n") + '"'
    return f"- name: t\n  {kind}:\n    src: {quoted}\n    dest: /tmp/x\n"


@pytest.mark.parametrize("kind, src, why", SRC_OUT, ids=[f"{k}-{s[:30]!r}" for k, s, _ in SRC_OUT])
def test_src_leaving_the_role_is_refused(project: Path, kind: str, src: str, why: str):
    write(project, {"roles/r/tasks/main.yml": _src_task(kind, src)})
    play(project)
    error = expect_error(project, why, f"{kind}: `src`")
    assert error.location is not None and error.location.line == 2
    assert error.location.file.endswith("roles/r/tasks/main.yml")
    assert "secret outside" not in str(error)


@pytest.mark.parametrize(
    "kind, src",
    [
        ("template", "app.j2"),
        ("template", "./app.j2"),
        ("template", "sub/../app.j2"),
        ("template", "../files/app.txt"),
        ("copy", "app.txt"),
        ("copy", "../templates/app.j2"),
    ],
)
def test_src_inside_the_role_is_fine(project: Path, kind: str, src: str):
    write(project, {"roles/r/tasks/main.yml": _src_task(kind, src)})
    (project / "roles/r/templates/sub").mkdir()
    play(project)
    assert compile_project(project).plays[0][1][0].tasks[0].task.content == b"app\n"


@pytest.mark.parametrize("src", ["a\nb", "a\rb", "a\u2028b", "-rf"])
def test_src_with_odd_characters_is_just_not_found(project: Path, src: str):
    write(project, {"roles/r/tasks/main.yml": _src_task("template", src)})
    play(project)
    expect_error(project, "template not found", "main.yml:2")


def test_src_from_a_rendered_variable_is_checked_too(project: Path):
    write(
        project,
        {
            "roles/r/defaults/main.yml": "where: ../../../../outside.txt\n",
            "roles/r/tasks/main.yml": "- copy: {src: '{{ where }}', dest: /tmp/x}\n",
        },
    )
    play(project)
    expect_error(project, "outside", "main.yml:1")


def test_play_task_src_stays_in_the_playbook_folder(project: Path):
    write(project, {"playbooks/templates/ok.j2": "ok\n"})
    play(project, "[]", "- template: {src: ok.j2, dest: /tmp/a}")
    assert compile_project(project).plays[0][1][0].tasks[0].task.content == b"ok\n"
    play(project, "[]", "- template: {src: ../../inventory.yml, dest: /tmp/a}")
    error = expect_error(project, "outside", str(project / "playbooks"))
    assert error.location is not None and error.location.file.endswith("site.yml")


def test_play_task_src_symlink_out_is_refused(project: Path, tmp_path: Path):
    (project / "playbooks" / "files").mkdir(parents=True)
    os.symlink(tmp_path / "outside.txt", project / "playbooks" / "files" / "evil")
    play(project, "[]", "- copy: {src: evil, dest: /tmp/a}")
    expect_error(project, "'evil' leads to", "outside")


# --- the helpers themselves ------------------------------------------------------------


def test_contained_file_refuses_a_symlink_out(tmp_path: Path):
    root = tmp_path / "role"
    (root / "files").mkdir(parents=True)
    os.symlink("/etc/passwd", root / "files" / "x")
    with pytest.raises(InputError, match="leads to /etc/passwd"):
        contained_file(root / "files", "x", root, "src", None)


def test_contained_file_allows_the_root_itself_only_as_a_folder(tmp_path: Path):
    (tmp_path / "files").mkdir()
    assert contained_file(tmp_path / "files", "..", tmp_path, "src", None) == tmp_path / "files/.."


def test_resolve_reports_loops_and_nul(tmp_path: Path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(InputError, match="symlink loop"):
        resolve(tmp_path / "a", None)
    with pytest.raises(InputError, match="NUL"):
        resolve(tmp_path / "a\0b", None)
    assert resolve(tmp_path / "missing" / "x", None) == tmp_path.resolve() / "missing" / "x"


@pytest.mark.parametrize(
    "source",
    [
        '{% include "/etc/passwd" %}',
        '{% include "../../../inventory.yml" %}',
        '{% import "../tasks/main.yml" as m %}',
        '{% extends "/etc/passwd" %}',
        '{% from "/etc/passwd" import x %}',
    ],
)
def test_a_template_cannot_pull_in_another_file(project: Path, source: str):
    """The template engine has no loader: a template reads no file besides itself."""
    write(
        project,
        {
            "roles/r/templates/app.j2": source + "\n",
            "roles/r/tasks/main.yml": "- template: {src: app.j2, dest: /tmp/a}\n",
        },
    )
    play(project)
    error = expect_error(project, "no loader", "templates/app.j2:1")
    assert "root:" not in str(error)
