"""INI inventories, inventory folders and several sources: read as Ansible reads them;
bad input is an InputError naming file:line and what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.project.inventory import load_inventory
from provision.project.inventory_ini import literal, split_port

WHERE = Location("hosts.ini", 3)

# (value as written after `=`, value as Ansible's INI plugin reads it)
LITERALS = [
    ("1", 1),
    ("-7", -7),
    ("0x10", 16),
    ("1_000", 1000),
    ("1.5", 1.5),
    ("True", True),
    ("true", "true"),
    ("yes", "yes"),
    ("None", None),
    ("'quoted'", "quoted"),
    ('"dq"', "dq"),
    ("[1, 2]", [1, 2]),
    ("(1, 2)", [1, 2]),
    ("{'a': (1,)}", {"a": [1]}),
    ("{1, 1}", [1]),
    ("b'x'", "x"),
    ("...", "..."),
    ("1j", "1j"),
    ("a b # c", "a b # c"),
    ("", ""),
    ("[1, 2", "[1, 2"),
    ("__import__('os')", "__import__('os')"),
    ("x" * 70_000, "x" * 70_000),
    ("-rf", "-rf"),
    ("10.0.0.1", "10.0.0.1"),
    ("1.2.3", "1.2.3"),
    ("web-1", "web-1"),
    ("inf", "inf"),
    ("lambda", "lambda"),
    ("False", False),
    ("False_", "False_"),
]


@pytest.mark.parametrize(
    "line",
    ["h a=1 b=2", "h a=x;y b=|", "h  a=$HOME\tb=`id`", "h a=1 # c", "h a='x y'", "h a=\\n"],
)
def test_fast_split_is_shlex_split(tmp_path: Path, line: str) -> None:
    import shlex

    inventory = load_inventory(write(tmp_path, f"[g]\n{line}\n"))
    words = shlex.split(line, comments=True)
    expected = {k: literal(v, WHERE) for k, v in (w.split("=", 1) for w in words[1:])}
    assert inventory.hosts["h"].own == expected


@pytest.mark.parametrize(("text", "expected"), LITERALS, ids=[t[:20] for t, _ in LITERALS])
def test_values_are_read_as_ansible_reads_them(text: str, expected: Any) -> None:
    value = literal(text, WHERE)
    assert value == expected
    assert type(value) is type(expected)


PORTS = [
    ("web1", ("web1", None)),
    ("web1:2222", ("web1", 2222)),
    ("10.0.0.1:22", ("10.0.0.1", 22)),
    ("[2001:db8::1]:2200", ("2001:db8::1", 2200)),
    ("2001:db8::1", ("2001:db8::1", None)),
    ("web[01:03]", ("web[01:03]", None)),
    ("web[01:03]:22", ("web[01:03]", 22)),
    ("[a:c]", ("[a:c]", None)),
]


@pytest.mark.parametrize(("word", "expected"), PORTS, ids=[w for w, _ in PORTS])
def test_host_port(word: str, expected: tuple[str, int | None]) -> None:
    assert split_port(word) == expected


def write(tmp_path: Path, text: str, name: str = "hosts.ini") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sections_children_vars_and_ranges(tmp_path: Path) -> None:
    inventory = load_inventory(
        write(
            tmp_path,
            "lonely\n[web]\nweb[1:3] x=1\n[db]\ndb-[a:b]:2222\n"
            "[all_servers:children]\nweb\ndb\n[web:vars]\nport = 80\n",
        )
    )
    assert list(inventory.hosts) == ["lonely", "web1", "web2", "web3", "db-a", "db-b"]
    assert inventory.groups["ungrouped"].hosts == ["lonely"]
    assert inventory.groups["all_servers"].children == ["web", "db"]
    assert inventory.match("all_servers") == ["web1", "web2", "web3", "db-a", "db-b"]
    values, origins = inventory.host_variables("web2")
    assert values["x"] == 1 and values["port"] == 80
    assert str(origins["port"]) == f"{tmp_path / 'hosts.ini'}:10"
    assert inventory.host_variables("db-b")[0]["ansible_port"] == 2222
    assert inventory.host_variables("web1")[0]["group_names"] == ["all_servers", "web"]


def test_children_may_be_declared_before_the_group(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "[p:children]\nc\n[c:vars]\nv=1\n[c]\nh\n"))
    assert inventory.match("p") == ["h"]
    assert inventory.host_variables("h")[0]["v"] == 1


BAD = [
    ("unknown-section-type", "[web:hostz]\nh\n", 1, "unknown type 'hostz'"),
    ("space-in-section", "[web servers]\nh\n", 1, "invalid section header"),
    ("vars-without-equals", "[web]\nh\n[web:vars]\nport 80\n", 4, "expected key=value"),
    ("host-word-without-equals", "[web]\nh port\n", 2, "expected key=value after the host"),
    ("unclosed-quote", "[web]\nh x='a\n", 2, "cannot be split into words"),
    ("vars-of-undefined-group", "[ghost:vars]\nx=1\n", 1, "never defined"),
    ("child-undefined", "[p:children]\nghost\n", 2, "names group 'ghost'"),
    ("children-bad-name", "[p]\n[p:children]\na b\n", 3, "expected a group name"),
    ("range-backwards", "[web]\nweb[9:1]\n", 2, "runs backwards"),
    ("range-padding", "[web]\nweb[01:100]\n", 2, "same width"),
    ("range-too-large", "[web]\nh[0:999999]\n", 2, "more than"),
    ("port-missing", "[web]\nweb1:\n", 2, "without a port"),
    ("yaml-marker", "---\nall:\n", 1, "sign that this file is YAML"),
    ("bad-var-name", "[web]\nh bad-name=1\n", 2, "invalid variable name"),
    ("newline-in-var-name", "[web]\nh 'a\nb'=1\n", 2, "cannot be split"),
    ("bad-host-name", "[web]\nh$x\n", 2, "invalid host name"),
    ("host-named-like-group", "[web]\nh\n[h]\n", 3, "already a host name"),
    ("cycle", "[a:children]\nb\n[b:children]\na\n", None, "cycle"),
    ("dotdot-group", "[..]\nh\n", 1, "cannot be '.' or '..'"),
    ("all-as-child", "[p:children]\nall\n", 2, "cannot be a child"),
    ("address-twice", "[a]\nh ansible_host=1.2.3.4\n[b]\nh ansible_host=1.2.3.5\n", 4, "twice"),
]


@pytest.mark.parametrize(("text", "line", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_ini_names_file_line_and_what_was_expected(
    tmp_path: Path, text: str, line: int | None, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(write(tmp_path, text))
    assert words in str(caught.value)
    if line is not None:
        assert caught.value.location is not None
        assert caught.value.location.file == str(tmp_path / "hosts.ini")
        assert caught.value.location.line == line


@pytest.mark.parametrize("char", ["\r", "\v", "\f", "\x85", "\u2028", "\u2029"])
def test_line_breaks_split_lines_as_python_does(tmp_path: Path, char: str) -> None:
    """Ansible splits with str.splitlines: every one of these ends a line, so a value can
    never carry one, and what follows is read as a line of its own."""
    inventory = load_inventory(write(tmp_path, f"[web]\nh a=1{char}h2 b=2\n"))
    assert list(inventory.hosts) == ["h", "h2"]
    assert inventory.host_variables("h")[0]["a"] == 1


def test_format_detection(tmp_path: Path) -> None:
    write(tmp_path, "all:\n  hosts:\n    y1:\n", "noext-yaml")
    write(tmp_path, "[g]\ni1\n", "noext-ini")
    write(tmp_path, "[g]\ni2\n", "hosts.cfgx")
    inventory = load_inventory(
        [tmp_path / "noext-yaml", tmp_path / "noext-ini", tmp_path / "hosts.cfgx"]
    )
    assert list(inventory.hosts) == ["y1", "i1", "i2"]


def test_extension_less_file_that_is_neither_says_both(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(write(tmp_path, "[g]\nh x='\nall: [\n", "hosts"))
    assert "cannot be split" in str(caught.value) and "read as YAML" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("hosts.toml", "[all.hosts]\n", "TOML"),
        ("aws_ec2.yml", "plugin: amazon.aws.aws_ec2\n", "plugin"),
        ("inv.yml", "- a\n", "mapping of groups"),
    ],
)
def test_unsupported_formats_are_named(tmp_path: Path, name: str, text: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(write(tmp_path, text, name))
    assert words in str(caught.value)


def test_inventory_script_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = write(tmp_path, f"#!/bin/sh\ntouch {marker}\necho '{{}}'\n", "inv.py")
    os.chmod(script, 0o755)
    with pytest.raises(InputError) as caught:
        load_inventory(script)
    assert "scripts are not run" in str(caught.value)
    assert not marker.exists()


def test_folder_order_ignored_files_and_var_dirs(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    (inv / "sub").mkdir(parents=True)
    (inv / "group_vars").mkdir()
    write(inv, "[g]\nb1\n", "b.ini")
    write(inv, "[g]\na1\n", "a.ini")
    write(inv, "[g]\nc1\n", "hosts")
    write(inv / "sub", "[g]\nd1\n", "more")
    for ignored in ("x.md", "x.bak", ".x", "x~", "x.retry", "x.orig", "x.cfg", "x.txt"):
        write(inv, "this is [ not an inventory\n", ignored)
    write(inv / "group_vars", "v: 1\n", "g.yml")
    inventory = load_inventory(inv)
    assert inventory.groups["g"].hosts == ["a1", "b1", "c1", "d1"]
    assert inventory.host_variables("d1")[0]["v"] == 1
    assert inventory.directory == inv


def test_later_source_wins_and_group_vars_files_beat_inline_vars(tmp_path: Path) -> None:
    (tmp_path / "a" / "group_vars").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "[parent:children]\nchild\n[child]\nh x=host\n[child:vars]\ny=inline\n")
    write(tmp_path / "a" / "group_vars", "y: file\n", "parent.yml")
    write(tmp_path / "b", "[child]\nh x=later\n")
    inventory = load_inventory([tmp_path / "a" / "hosts.ini", tmp_path / "b" / "hosts.ini"])
    values = inventory.host_variables("h")[0]
    assert values["x"] == "later"
    assert values["y"] == "file"  # Ansible: any group_vars file beats any inline group var


def test_host_list_source() -> None:
    inventory = load_inventory("web1,db1:2200,")
    assert list(inventory.hosts) == ["web1", "db1"]
    assert inventory.groups["ungrouped"].hosts == ["web1", "db1"]
    assert inventory.host_variables("db1")[0]["ansible_port"] == 2200


def test_missing_source_and_no_source(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_inventory(tmp_path / "nope")
    with pytest.raises(InputError, match="no inventory given"):
        load_inventory([])
