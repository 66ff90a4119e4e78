"""Variable precedence, var dirs beside the inventory, env, native types, host patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run, parse_extra_vars
from provision.project.inventory import load_inventory
from provision.project.templating import Variables, render_string, render_value

NAMES = ["v_role", "v_all", "v_parent", "v_child", "v_gvfile", "v_host", "v_hvfile", "v_play"]
NAMES += ["v_extra"]

INVENTORY = """\
all:
  vars: {v_all: all, v_parent: all, v_child: all, v_gvfile: all, v_host: all, v_hvfile: all,
         v_play: all, v_extra: all}
  children:
    parent:
      vars: {v_parent: parent, v_child: parent, v_gvfile: parent, v_host: parent,
             v_hvfile: parent, v_play: parent, v_extra: parent}
      children:
        child:
          vars: {v_child: child, v_host: child, v_hvfile: child, v_play: child, v_extra: child}
          hosts:
            h1: {v_host: host, v_hvfile: host, v_play: host, v_extra: host}
    alpha:
      vars: {sibling: alpha}
      hosts: {h1: {}}
    beta:
      vars: {sibling: beta}
      hosts: {h1: {}}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    defaults = "\n".join(f"{n}: role" for n in NAMES) + "\nsibling: role\n"
    write(
        tmp_path,
        {
            "inventory.yml": INVENTORY,
            "group_vars/child.yml": "v_gvfile: gvfile\nv_host: gvfile\n",
            "host_vars/h1/main.yml": "v_hvfile: hvfile\n",
            "roles/r/defaults/main.yml": defaults,
            "roles/r/tasks/main.yml": (
                '- copy:\n    dest: /tmp/x\n    content: "'
                + " ".join("{{ " + n + " }}" for n in [*NAMES, "sibling"])
                + '"\n'
            ),
            "site.yml": "- hosts: all\n  vars: {v_play: play, v_extra: play}\n  roles: [r]\n",
        },
    )
    return tmp_path


def rendered(project: Path, extra: dict | None = None) -> list[str]:
    compiled = compile_run(project / "inventory.yml", project / "site.yml", extra)
    task = compiled.plays[0][1][0].tasks[0].task
    return task.content.decode().split()


def test_precedence_role_group_host_play_extra(project: Path):
    values = dict(zip([*NAMES, "sibling"], rendered(project, {"v_extra": "extra"}), strict=True))
    assert values == {
        "v_role": "role",
        "v_all": "all",
        "v_parent": "parent",  # all < parent
        "v_child": "child",  # parent < child (deeper group wins)
        "v_gvfile": "gvfile",  # group_vars/child.yml beside the inventory
        "v_host": "host",  # host vars beat every group
        "v_hvfile": "hvfile",  # host_vars/h1/ beats the inventory's host vars
        "v_play": "play",
        "v_extra": "extra",  # -e wins over everything
        "sibling": "beta",  # groups of equal depth merge by name: beta after alpha
    }


def test_extra_vars_from_command_line(project: Path):
    extra = parse_extra_vars(["v_extra=from-e", "v_play=p2"])
    values = rendered(project, extra)
    assert values[NAMES.index("v_extra")] == "from-e"
    assert values[NAMES.index("v_play")] == "p2"


def test_extra_vars_file_and_json(tmp_path: Path):
    (tmp_path / "x.yml").write_text("a: 1\nb: [x, y]\n")
    assert parse_extra_vars([f"@{tmp_path}/x.yml", '{"c": true}', "a=2"]) == {
        "a": "2",  # key=value stays text, as in Ansible
        "b": ["x", "y"],
        "c": True,
    }


def test_extra_var_file_mode_stays_text():
    assert parse_extra_vars(["mode=0644"]) == {"mode": "0644"}


def test_extra_var_version_stays_text():
    assert parse_extra_vars(["docker_version=27.10"]) == {"docker_version": "27.10"}


def test_env_lookup(monkeypatch):
    monkeypatch.setenv("PROVISION_UNIT_PROXY", "http://proxy:3128")
    assert render_string("{{ env.PROVISION_UNIT_PROXY }}", Variables({})) == "http://proxy:3128"
    monkeypatch.delenv("PROVISION_UNIT_PROXY")
    with pytest.raises(InputError, match="environment variable is not set: env.PROVISION_UNIT"):
        render_string("x={{ env.PROVISION_UNIT_PROXY }}", Variables({}))


def test_lone_expression_keeps_native_type():
    variables = Variables({"pkgs": ["podman", "buildah"], "gid": 990, "on": True})
    assert render_string("{{ pkgs }}", variables) == ["podman", "buildah"]
    assert render_string("  {{ gid }} ", variables) == 990
    assert render_string("{{ on }}", variables) is True
    assert render_string("{{ pkgs | length }} packages", variables) == "2 packages"
    assert render_value({"a": ["{{ gid }}"]}, variables) == {"a": [990]}


def test_lone_expression_with_trailing_newline_keeps_it():
    assert render_string("{{ x }}\n", Variables({"x": "hello"})) == "hello\n"


def test_variables_referring_to_variables_and_cycles():
    variables = Variables({"a": "{{ b }}-x", "b": "{{ c }}", "c": [1, 2]})
    assert variables["b"] == [1, 2]
    assert variables["a"] == "[1, 2]-x"
    with pytest.raises(InputError, match="variable refers to itself: x -> y -> x"):
        Variables({"x": "{{ y }}", "y": "{{ x }}"})["x"]


def test_native_list_feeds_loop_and_package_names(tmp_path: Path):
    write(
        tmp_path,
        {
            "inventory.yml": "all:\n  hosts:\n    h1: {pkgs: [git, tmux]}\n",
            "site.yml": (
                "- hosts: all\n  tasks:\n"
                '    - package: {name: "{{ pkgs }}"}\n'
                '    - group: {name: "{{ item }}"}\n      loop: "{{ pkgs }}"\n'
            ),
        },
    )
    compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    tasks = compiled.plays[0][1][0].tasks
    assert tasks[0].task.params.name == ["git", "tmux"]
    assert [t.task.params.name for t in tasks[1:]] == ["git", "tmux"]


def test_shell_strings_quote_values(tmp_path: Path):
    write(
        tmp_path,
        {
            "inventory.yml": "all:\n  hosts:\n    h1: {}\n",
            "site.yml": (
                '- hosts: all\n  vars: {net: "web; rm -rf /"}\n  tasks:\n'
                "    - command:\n        cmd: docker network create {{ net }}\n"
                "        unless: docker network inspect {{ net }}\n"
            ),
        },
    )
    task = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml").plays[0][1][0]
    assert task.tasks[0].task.params.cmd == "docker network create 'web; rm -rf /'"
    assert task.tasks[0].task.params.unless == "docker network inspect 'web; rm -rf /'"


PATTERN_INVENTORY = """\
all:
  children:
    web:
      hosts: {web1: {}, web2: {}}
    db:
      hosts: {db1: {}, web2: {}}
    prod:
      hosts: {web1: {}, db1: {}}
  hosts:
    lonely: {}
"""


@pytest.fixture
def inventory(tmp_path: Path):
    (tmp_path / "inventory.yml").write_text(PATTERN_INVENTORY)
    return load_inventory(tmp_path / "inventory.yml")


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("all", {"web1", "web2", "db1", "lonely"}),
        ("*", {"web1", "web2", "db1", "lonely"}),
        ("web", {"web1", "web2"}),
        ("web:db", {"web1", "web2", "db1"}),
        ("web,db", {"web1", "web2", "db1"}),
        ("web:&prod", {"web1"}),
        ("web:!db", {"web1"}),
        ("web:db:&prod:!web1", {"db1"}),
        ("web*", {"web1", "web2"}),
        ("w?b1", {"web1"}),
        ("d*", {"db1", "web2"}),  # a glob matches group names too
        ("~^(db|lonely)", {"db1", "lonely"}),
        ("ungrouped", {"lonely"}),
        ("web1", {"web1"}),
        ("nosuch", set()),
    ],
)
def test_host_patterns(inventory, pattern, hosts):
    assert set(inventory.match(pattern)) == hosts


def test_exclusion_applies_after_unions(inventory):
    assert set(inventory.match("web:!web2:db")) == {"web1", "db1"}


def test_exclusion_only_pattern_starts_from_all(inventory):
    assert set(inventory.match("!db")) == {"web1", "lonely"}


def test_group_names_and_inventory_hostname(inventory):
    variables, origins = inventory.host_variables("web2")
    assert variables["inventory_hostname"] == "web2"
    assert sorted(variables["group_names"]) == ["db", "web"]


def test_var_origins_point_at_files(project: Path):
    inventory = load_inventory(project / "inventory.yml")
    _, origins = inventory.host_variables("h1")
    assert str(origins["v_gvfile"]) == f"{project}/group_vars/child.yml:1"
    assert str(origins["v_hvfile"]) == f"{project}/host_vars/h1/main.yml:1"
    assert str(origins["v_host"]).startswith(f"{project}/inventory.yml:")


def test_undefined_variable_names_variable_file_and_line(project: Path):
    (project / "site.yml").write_text(
        '- hosts: all\n  tasks:\n    - name: x\n      group: {name: "{{ nope }}"}\n'
    )
    with pytest.raises(InputError) as excinfo:
        compile_run(project / "inventory.yml", project / "site.yml")
    assert str(excinfo.value).startswith(f"{project}/site.yml:4: undefined variable: nope")


def test_regex_pattern_with_brackets(inventory):
    assert set(inventory.match("~^web[12]$")) == {"web1", "web2"}
