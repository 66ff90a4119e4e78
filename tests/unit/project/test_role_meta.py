"""A role's meta/main.yml: dependencies (ordered, once each, cycles refused), known keys only."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run
from provision.project.playbook import META_KEYS

INVENTORY = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make(root: Path, roles: dict[str, str | None], play_roles: str) -> None:
    """Roles by name → their meta/main.yml (None: no meta); each role has one task naming it."""
    files = {
        "inventory.yml": INVENTORY,
        "playbooks/site.yml": f"- hosts: all\n  roles: {play_roles}\n",
    }
    for name, meta in roles.items():
        files[f"roles/{name}/tasks/main.yml"] = (
            f"- name: '{name} {{{{ v | default(\"-\") }}}}'\n"
            f"  copy: {{dest: /tmp/{name}, content: x}}\n"
        )
        if meta is not None:
            files[f"roles/{name}/meta/main.yml"] = meta
    write(root, files)


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_order(root: Path, *, skipped: bool = False) -> list[str]:
    compiled = compile_run(root / "inventory.yml", root / "playbooks" / "site.yml")
    tasks = compiled.plays[0][1][0].tasks
    if skipped:
        return [f"{t.name}:{'skip' if t.task is None else 'run'}" for t in tasks]
    return [t.name for t in tasks]


def error_of(root: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        compile_run(root / "inventory.yml", root / "playbooks" / "site.yml")
    return caught.value


ORDER_CASES = [
    # (roles and their meta, the play's roles, the order of the tasks)
    ({"a": "dependencies: [b]", "b": None}, "[a]", ["b -", "a -"]),
    ({"a": "dependencies: [b, c]", "b": None, "c": None}, "[a]", ["b -", "c -", "a -"]),
    (
        {"a": "dependencies: [b, c]", "b": "dependencies: [d]", "c": None, "d": None},
        "[a]",
        ["d -", "b -", "c -", "a -"],
    ),
    # once each per play: b is brought in by a, e and by the play's own b... only the
    # dependencies are de-duplicated; a role the play lists itself runs where listed
    (
        {"a": "dependencies: [b]", "e": "dependencies: [b]", "b": None},
        "[a, e]",
        ["b -", "a -", "e -"],
    ),
    ({"a": "dependencies: [b]", "b": None}, "[b, a]", ["b -", "a -"]),
    ({"a": "dependencies: [b]", "b": None}, "[a, b]", ["b -", "a -", "b -"]),
    # diamond
    (
        {
            "a": "dependencies: [b, c]",
            "b": "dependencies: [d]",
            "c": "dependencies: [d]",
            "d": None,
        },
        "[a]",
        ["d -", "b -", "c -", "a -"],
    ),
    # allow_duplicates: the dependency runs each time it is depended on
    (
        {"a": "dependencies: [b]", "e": "dependencies: [b]", "b": "allow_duplicates: true"},
        "[a, e]",
        ["b -", "a -", "b -", "e -"],
    ),
    # different vars: a different run, as in Ansible
    (
        {
            "a": "dependencies: [{role: b, vars: {v: 1}}]",
            "e": "dependencies: [{role: b, vars: {v: 2}}]",
            "b": None,
        },
        "[a, e]",
        ["b 1", "a -", "b 2", "e -"],
    ),
    (
        {
            "a": "dependencies: [{role: b, vars: {v: 1}}]",
            "e": "dependencies: [{role: b, vars: {v: 1}}]",
            "b": None,
        },
        "[a, e]",
        ["b 1", "a -", "e -"],
    ),
    # empty / null dependencies and info-only keys
    (
        {
            "a": "dependencies: []\ngalaxy_info: {author: me, license: MIT}\nargument_specs: {}",
            "b": None,
        },
        "[a]",
        ["a -"],
    ),
    ({"a": "dependencies:\n", "b": None}, "[a]", ["a -"]),
    ({"a": "---\n", "b": None}, "[a]", ["a -"]),
    ({"a": "allow_duplicates: false\nsecrets: [v]", "b": None}, "[a]", ["a -"]),
]


@pytest.mark.parametrize("roles, play_roles, order", ORDER_CASES)
def test_dependencies_run_first_in_order_once_each(root: Path, roles, play_roles, order):
    make(root, roles, play_roles)
    assert run_order(root) == order


def test_dependency_sees_its_parents_vars_and_its_own(root: Path):
    make(
        root,
        {"a": "dependencies: [{role: b, vars: {w: own}}]", "b": None},
        "[{role: a, vars: {v: parent}}]",
    )
    assert run_order(root) == ["b parent", "a parent"]


@pytest.mark.parametrize(
    "parent_when, dep_when, expected",
    [
        ("false", None, ["b -:skip", "a -:skip"]),
        ("true", "false", ["b -:skip", "a -:run"]),
        ("true", "true", ["b -:run", "a -:run"]),
        (None, "v is defined", ["b -:skip", "a -:run"]),
    ],
)
def test_dependency_runs_under_its_parents_condition(root: Path, parent_when, dep_when, expected):
    dep = "b" if dep_when is None else f"{{role: b, when: '{dep_when}'}}"
    entry = "a" if parent_when is None else f"{{role: a, when: {parent_when}}}"
    make(root, {"a": f"dependencies: [{dep}]", "b": None}, f"[{entry}]")
    assert run_order(root, skipped=True) == expected


def test_dependency_inherits_its_parents_tags(root: Path):
    make(
        root, {"a": "dependencies: [{role: b, tags: [own]}]", "b": None}, "[{role: a, tags: [web]}]"
    )
    compiled = compile_run(root / "inventory.yml", root / "playbooks" / "site.yml")
    tags = [t.tags for t in compiled.plays[0][1][0].tasks]
    assert tags == [["web", "own"], ["web"]]


def test_dependency_secrets_are_masked_values(root: Path):
    make(root, {"a": "dependencies: [b]", "b": "secrets: [token]"}, "[a]")
    write(root, {"roles/b/defaults/main.yml": "token: s3cr3t-value\n"})
    compiled = compile_run(root / "inventory.yml", root / "playbooks" / "site.yml")
    assert "s3cr3t-value" in compiled.secrets()


def test_dependency_defaults_reach_the_play(root: Path):
    make(root, {"a": "dependencies: [b]", "b": None}, "[a]")
    write(root, {"roles/b/defaults/main.yml": "v: from-b\n"})
    assert run_order(root) == ["b from-b", "a from-b"]


def test_dependency_found_beside_its_role_first(root: Path):
    """A dependency is looked up in its parent's roles folder before the usual ones."""
    make(root, {}, "[a]")
    write(
        root,
        {
            "playbooks/roles/a/tasks/main.yml": "- {name: a, copy: {dest: /tmp/a, content: x}}\n",
            "playbooks/roles/a/meta/main.yml": "dependencies: [b]\n",
            "playbooks/roles/b/tasks/main.yml": "- {name: near b, copy: {dest: /b, content: x}}\n",
            "roles/b/tasks/main.yml": "- {name: far b, copy: {dest: /tmp/b, content: x}}\n",
        },
    )
    assert run_order(root) == ["near b", "a"]


CYCLES = [
    ({"a": "dependencies: [a]"}, "[a]", "a -> a", "roles/a/meta/main.yml:1"),
    (
        {"a": "dependencies: [b]", "b": "dependencies: [a]"},
        "[a]",
        "a -> b -> a",
        "roles/b/meta/main.yml:1",
    ),
    (
        {
            "a": "dependencies: [b]",
            "b": "dependencies:\n  - c\n",
            "c": "dependencies:\n  - x\n  - b\n",
            "x": None,
        },
        "[a]",
        "b -> c -> b",
        "roles/c/meta/main.yml:3",
    ),
    (
        {
            "a": "dependencies: [{role: b, vars: {v: 1}}]",
            "b": "allow_duplicates: true\ndependencies: [a]",
        },
        "[a]",
        "a -> b -> a",
        "roles/b/meta/main.yml:2",
    ),
]


@pytest.mark.parametrize("roles, play_roles, chain, where", CYCLES)
def test_dependency_cycle_names_the_chain_and_line(root: Path, roles, play_roles, chain, where):
    make(root, roles, play_roles)
    error = error_of(root)
    assert f"role dependencies form a cycle: {chain}" in str(error)
    assert str(error.location).endswith(where), str(error)


BAD_META = [
    # (meta/main.yml of role a, words of the error, line)
    ("secret: [token]\n", ["unknown key 'secret' in role meta", ", ".join(META_KEYS)], 1),
    ("galaxy_info: {}\ndepedencies: [b]\n", ["unknown key 'depedencies'"], 2),
    ("collections: [x.y]\n", ["unknown key 'collections'"], 1),
    ("dependencies: b\n", ["`dependencies` must be a list of roles, found a string"], 1),
    ("dependencies: {role: b}\n", ["must be a list of roles"], 1),
    ("dependencies: [nosuch]\n", ["role 'nosuch' not found"], 1),
    ("dependencies:\n  - b\n  - nosuch\n", ["role 'nosuch' not found"], 3),
    ("dependencies: [../b]\n", ["role name '../b' is a path"], 1),
    ("dependencies: ['/etc']\n", ["is a path"], 1),
    ('dependencies: ["b\\nc"]\n', ["role name 'b\\nc' has characters"], 1),
    ("dependencies: [{role: b, v: 1}]\n", ["unknown key 'v' in role entry", "under `vars:`"], 1),
    ("dependencies: [{name: b}]\n", ["a role entry is a name, or a mapping with `role:`"], 1),
    ("dependencies: [3]\n", ["a role entry is a name"], 1),
    ("dependencies: [{role: b, vars: [1]}]\n", ["role `vars` must be a mapping"], 1),
    ("allow_duplicates: yes please\n", ["`allow_duplicates` must be true or false"], 1),
    ("secrets: {a: 1}\n", ["secrets must be a list of names"], 1),
    ("- dependencies: [b]\n", ["role meta must be a mapping"], 1),
]


@pytest.mark.parametrize("meta, words, line", BAD_META)
def test_bad_meta_is_an_input_error(root: Path, meta: str, words: list[str], line: int):
    make(root, {"a": meta, "b": None}, "[a]")
    error = error_of(root)
    for word in words:
        assert word in str(error), str(error)
    assert str(error.location).endswith(f"roles/a/meta/main.yml:{line}"), str(error)


def test_missing_dependency_of_a_dependency_names_its_meta(root: Path):
    make(root, {"a": "dependencies: [b]", "b": "\n\ndependencies: [gone]"}, "[a]")
    error = error_of(root)
    assert "role 'gone' not found" in str(error)
    assert str(error.location).endswith("roles/b/meta/main.yml:3")


def test_project_roles_have_valid_meta(monkeypatch):
    """The roles shipped in roles/ load with the stricter meta rules."""
    from provision.project.playbook import load_role

    repo = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(repo)
    for folder in sorted((repo / "roles").iterdir()):
        if folder.is_dir():
            load_role(folder.name, repo / "playbooks", None)  # type: ignore[arg-type]
