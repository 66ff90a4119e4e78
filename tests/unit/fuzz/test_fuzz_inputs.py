"""Fuzzing the input readers: whatever the files hold, the only error is an InputError.

An InputError becomes exit code 2 with a one-line message; anything else would be an
"internal error" (exit 1) or a traceback. Each test keeps to about 200 examples so the
whole module runs in seconds; no example database is written into the repository.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from provision.errors import InputError
from provision.project.compile import compile_run
from provision.project.inventory import Inventory, load_inventory
from provision.project.playbook import load_playbook
from provision.project.templating import Variables, render_template_file
from provision.tasks.base import task_types

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

INVENTORY_KEYS = [
    "all",
    "hosts",
    "vars",
    "children",
    "ungrouped",
    "web",
    "h1",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_connection",
    "ansible_become",
    "ansible_ssh_common_args",
    "ansible_ssh_private_key_file",
    "provision_known_hosts",
]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["local", "ssh", "127.0.0.1", "", "~", "*", "22", "0644", "-o x=y"]),
)

JINJA = st.sampled_from(
    [
        "{{ base }}/x",
        "{{ nope }}",
        "{{ item }}",
        "{{ [1, 2] }}",
        "{{ {'a': 1} }}",
        "{{ 1 / 0 }}",
        "{{ base | int }}",
        "{{ base.missing }}",
        "{{",
        "}}",
        "{% if %}",
        "{% for x in 5 %}{{ x }}{% endfor %}",
        "{% raw %}{{.Driver}}{% endraw %}",
        "{{ env.NO_SUCH_VARIABLE_FOR_FUZZ }}",
        "{{ self_ref }}",
        "{{ lookup('file', '/etc/passwd') }}",
        "{{ ''.__class__ }}",
        "{{ 'a' ~ 1 }}",
        "{{ none }}",
    ]
)


def nested(keys: st.SearchStrategy, leaves: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=20,
    )


def to_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=None, allow_unicode=True, sort_keys=False)


# Raw YAML-ish text: the right words in a random order, with random indentation, tabs,
# quotes and brackets, to reach the parser's error paths rather than only valid YAML.
YAML_TOKENS = st.sampled_from(
    [
        *(k + ":" for k in INVENTORY_KEYS),
        "- ",
        "  ",
        "\t",
        "'",
        '"',
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "<<: ",
        "!!binary ",
        "!!python/object:os.system ",
        "? ",
        "|",
        ">",
        "#",
        "%YAML 1.2",
        "---",
        "...",
        "local",
        "22",
        "0999",
        "~",
    ]
)
YAML_TEXT = st.lists(st.lists(YAML_TOKENS, max_size=6).map(" ".join), min_size=1, max_size=12).map(
    "\n".join
)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _load_inventory_text(text: str | bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.yml"
        _write(Path(tmp), {"inventory.yml": text})
        try:
            inventory = load_inventory(path)
        except InputError as exc:
            event(f"inventory: {exc.message[:30]}")
            return None
        event("inventory: loaded")
        assert isinstance(inventory, Inventory)
        for host in inventory.hosts:  # what compile does next must not break either
            inventory.host_variables(host)
        inventory.match("all")
        return inventory


# ---------------------------------------------------------------- (1) inventories

GOOD_NAMES = st.sampled_from(["all", "web", "db", "h1", "h2", "ungrouped", "a.b", "x-1", "[1:2]"])
NAMES = st.one_of(GOOD_NAMES, GOOD_NAMES, GOOD_NAMES, st.text(max_size=5), SCALARS)
VARIABLES = st.dictionaries(
    st.one_of(st.sampled_from(INVENTORY_KEYS), st.sampled_from(["base", "x", "my-var"])),
    st.one_of(SCALARS, JINJA, nested(st.text(max_size=3), SCALARS)),
    max_size=5,
)
ANYTHING = nested(st.one_of(st.sampled_from(INVENTORY_KEYS), st.text(max_size=6)), SCALARS)


def _group_bodies(depth: int) -> st.SearchStrategy:
    children = st.dictionaries(NAMES, _group_bodies(depth - 1), max_size=3) if depth else st.none()
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "hosts": st.one_of(
                st.dictionaries(NAMES, st.one_of(st.none(), VARIABLES), max_size=3), ANYTHING
            ),
            "vars": st.one_of(VARIABLES, ANYTHING),
            "children": st.one_of(children, ANYTHING),
        },
    )
    # mostly Ansible-shaped groups, now and then anything at all
    return st.one_of(shaped, shaped, shaped, st.none(), ANYTHING)


SHAPED = st.dictionaries(NAMES, _group_bodies(3), min_size=1, max_size=3)
INVENTORIES = st.one_of(SHAPED, SHAPED, SHAPED, ANYTHING)


@FUZZ
@given(INVENTORIES)
def test_inventory_documents_load_or_raise_input_error(document):
    _load_inventory_text(to_yaml(document))


@FUZZ
@given(YAML_TEXT)
def test_inventory_yaml_text_loads_or_raises_input_error(text):
    _load_inventory_text(text)


# ---------------------------------------------------------------- (2) task mappings

TYPES = sorted(task_types())
COMMON = {
    "name": st.one_of(st.text(max_size=8), JINJA, SCALARS),
    "when": st.one_of(st.sampled_from(["true", "false", "base", "nope", "1 ==", "item"]), SCALARS),
    "loop": st.one_of(st.lists(SCALARS, max_size=3), JINJA, SCALARS),
    "notify": st.one_of(st.sampled_from(["h", "missing"]), st.lists(SCALARS, max_size=2)),
    "become": st.one_of(st.booleans(), st.booleans(), SCALARS),
    "secret": st.one_of(st.booleans(), st.booleans(), SCALARS),
    "tags": st.one_of(st.lists(st.text(max_size=4), max_size=2), SCALARS),
}
ARG_VALUES = st.one_of(
    JINJA,
    SCALARS,
    st.sampled_from(["/tmp/fuzz/x", "a.j2", "a.txt", "present", "absent", "json", "0644", "(["]),
    nested(st.text(max_size=4), SCALARS),
)


VALID_BY_KIND = {
    "str": st.one_of(
        st.sampled_from(["/tmp/fuzz/x", "a.j2", "a.txt", "present", "absent", "json", "x"]),
        JINJA,
    ),
    "bool": st.one_of(st.booleans(), st.sampled_from(["yes", "no", "maybe"])),
    "int": st.one_of(st.integers(-5, 70000), st.sampled_from(["12", "x"])),
    "mode": st.one_of(st.sampled_from(["0644", "0999", "755", 644, 999, "u+x"]), st.integers()),
    "strlist": st.one_of(st.lists(st.text(max_size=6), max_size=3), st.text(max_size=6)),
    "any": st.one_of(JINJA, st.lists(JINJA, max_size=2), SCALARS),
    "dict": st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
}


@st.composite
def task_mappings(draw):
    type_key = draw(st.sampled_from(TYPES))
    args: object = {}
    for arg in task_types()[type_key].args:
        roll = draw(st.integers(0, 9))
        if roll < 4:
            continue  # left out (a required one then is a missing-argument error)
        if arg.choices and roll < 6:
            args[arg.name] = draw(st.sampled_from(arg.choices))
        elif roll < 9:
            args[arg.name] = draw(VALID_BY_KIND[arg.kind])
        else:
            args[arg.name] = draw(ARG_VALUES)
    roll = draw(st.integers(0, 19))  # rare branches away from 0, which Hypothesis favours
    if roll == 7:
        args = draw(ARG_VALUES)  # arguments that are not a mapping at all
    elif roll == 8:
        args[draw(st.text(max_size=6))] = draw(ARG_VALUES)  # an unknown argument
    task = {type_key: args}
    for key in draw(st.lists(st.sampled_from(sorted(COMMON)), max_size=3, unique=True)):
        task[key] = draw(COMMON[key])
    if draw(st.integers(0, 19)) == 7:
        task[draw(st.sampled_from([*TYPES, "bogus"]))] = {}
    return task


PROJECT = {
    "inventory.yml": "all:\n  hosts:\n    h1:\n      ansible_connection: local\n"
    "      base: /nonexistent/fuzz\n      self_ref: '{{ self_ref }}'\n",
    "playbooks/site.yml": "- hosts: all\n  roles: [r]\n",
    "roles/r/templates/a.j2": "x={{ base }}\n",
    "roles/r/files/a.txt": "plain\n",
    "roles/r/handlers/main.yml": "- name: h\n  service: {name: x, state: restarted}\n",
}


@FUZZ
@given(st.lists(task_mappings(), min_size=1, max_size=3))
def test_random_tasks_compile_or_raise_input_error(tasks):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, {**PROJECT, "roles/r/tasks/main.yml": to_yaml(tasks)})
        try:
            compile_run(root / "inventory.yml", root / "playbooks/site.yml")
        except InputError as exc:
            event(f"tasks: {exc.message[:30]}")
        else:
            event("tasks: compiled")


# ---------------------------------------------------------------- (3) random bytes


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_as_inventory_or_playbook(data):
    _load_inventory_text(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.yml"
        path.write_bytes(data)
        try:
            load_playbook(path)
        except InputError:
            pass


@FUZZ
@given(
    st.binary(max_size=100),
    st.sampled_from([b"\0", b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]),
    st.binary(max_size=100),
)
def test_bytes_that_are_not_utf8_text_are_input_errors(before, junk, after):
    data = before + junk + after
    for load in (load_inventory, load_playbook):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "f.yml"
            path.write_bytes(data)
            try:
                load(path)
            except InputError as exc:
                assert exc.location is not None and exc.location.file == str(path)
            else:
                raise AssertionError(f"{load.__name__} accepted non-text bytes {data!r}")


# ---------------------------------------------------------------- templates

TEMPLATE_TOKENS = st.sampled_from(
    [
        "{{ base }}",
        "{{ nope }}",
        "{{ base.x }}",
        "{{ 1 / 0 }}",
        "{{ items | join(',') }}",
        "{{ items[5] }}",
        "{{ 'a' + 1 }}",
        "{% for i in items %}",
        "{% endfor %}",
        "{% if base %}",
        "{% else %}",
        "{% endif %}",
        "{% set x = 1 %}",
        "{% raw %}",
        "{% endraw %}",
        "{#",
        "#}",
        "{{",
        "}}",
        "{%",
        "%}",
        "text",
        "\n",
        " ",
    ]
)


@FUZZ
@given(st.lists(TEMPLATE_TOKENS, max_size=15).map("".join))
def test_random_templates_render_or_raise_input_error(source):
    variables = Variables({"base": "/srv", "items": ["a", "b"]})
    try:
        render_template_file(source, variables, "roles/r/templates/t.j2")
    except InputError as exc:
        assert exc.location is not None and exc.location.file == "roles/r/templates/t.j2"
