"""Host ranges in inventory names (`web[01:03]`), expanded as Ansible expands them."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError, Location
from provision.project.inventory import MAX_HOST_RANGE, expand_host_range, load_inventory

WHERE = Location("inventory.yml", 4)

GOOD = [
    ("plain", "web1", ["web1"]),
    ("numbers", "web[1:3]", ["web1", "web2", "web3"]),
    ("zero-padded", "web[01:03]", ["web01", "web02", "web03"]),
    ("zero-padded-wide", "h[008:011]", ["h008", "h009", "h010", "h011"]),
    ("padding-crosses-width", "h[08:10]", ["h08", "h09", "h10"]),
    ("stride", "n[1:10:2]", ["n1", "n3", "n5", "n7", "n9"]),
    ("stride-padded", "n[00:10:5]", ["n00", "n05", "n10"]),
    ("stride-past-end", "n[1:4:5]", ["n1"]),
    ("letters", "db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("letters-stride", "db-[a:e:2]", ["db-a", "db-c", "db-e"]),
    ("letters-across-case", "x[y:B]", ["xy", "xz", "xA", "xB"]),
    ("empty-begin-is-zero", "w[:2]", ["w0", "w1", "w2"]),
    ("suffix", "web[1:2].example.com", ["web1.example.com", "web2.example.com"]),
    ("only-range", "[1:3]", ["1", "2", "3"]),
    ("single", "web[5:5]", ["web5"]),
    ("two-ranges", "r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
    ("three-ranges", "[0:1][0:1][0:1]", ["000", "001", "010", "011", "100", "101", "110", "111"]),
]


@pytest.mark.parametrize(("name", "hosts"), [(n, h) for _, n, h in GOOD], ids=[i for i, *_ in GOOD])
def test_ranges_expand(name: str, hosts: list[str]) -> None:
    assert expand_host_range(name, WHERE) == hosts


BAD = [
    ("backwards", "web[3:1]", "runs backwards"),
    ("backwards-letters", "web[c:a]", "runs backwards"),
    ("no-end", "web[1:]", "has no end"),
    ("no-colon", "web[1]", "must be [begin:end]"),
    ("too-many-parts", "web[1:2:3:4]", "must be [begin:end]"),
    ("zero-step", "web[1:5:0]", "step must be 1 or more"),
    ("negative-step", "web[1:5:-1]", "step must be 1 or more"),
    ("word-step", "web[1:5:x]", "step must be 1 or more"),
    ("negative-begin", "web[-1:5]", "numbers or single letters"),
    ("words", "web[ab:cd]", "numbers or single letters"),
    ("letter-and-number", "web[a:5]", "numbers or single letters"),
    ("unicode-digits", "web[١:٣]", "numbers or single letters"),
    ("space", "web[1: 3]", "numbers or single letters"),
    ("padded-unequal", "web[01:100]", "same width"),
    ("unclosed", "web[1:3", "unmatched bracket"),
    ("unopened", "web1:3]", "unmatched bracket"),
    ("nested", "web[[1:2]:3]", "unmatched bracket"),
    ("too-large-one", f"web[0:{MAX_HOST_RANGE}]", "more than"),
    ("too-large-product", "w[0:999][0:999]", "expands to 1000000 hosts"),
    ("huge-number", "w[0:99999999999999999999]", "too large"),
]


@pytest.mark.parametrize(("name", "words"), [(n, w) for _, n, w in BAD], ids=[i for i, *_ in BAD])
def test_bad_ranges_are_input_errors(name: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        expand_host_range(name, WHERE)
    assert words in caught.value.message
    assert caught.value.location == WHERE


def test_an_inventory_with_ranges(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n"
        "  children:\n"
        "    web:\n"
        "      hosts:\n"
        "        web[01:03]:\n"
        "          ansible_connection: local\n"
        "        web02: {http_port: 8080}\n"
        "    db:\n"
        "      hosts:\n"
        "        db-[a:b]:\n"
    )
    loaded = load_inventory(inventory)
    assert list(loaded.hosts) == ["web01", "web02", "web03", "db-a", "db-b"]
    assert loaded.groups["web"].hosts == ["web01", "web02", "web03"]
    assert loaded.match("web") == ["web01", "web02", "web03"]
    merged, _ = loaded.host_variables("web02")
    assert merged["http_port"] == 8080 and merged["ansible_connection"] == "local"
    assert loaded.host_variables("web03")[0].get("http_port") is None


def test_a_bad_range_in_an_inventory_names_its_line(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    ok1:\n    web[9:1]:\n")
    with pytest.raises(InputError) as caught:
        load_inventory(inventory)
    assert str(caught.value.location) == f"{inventory}:4"


def test_a_range_that_makes_a_host_also_a_group_is_refused(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  children:\n    g1: {}\n    x:\n      hosts:\n        g[1:2]:\n")
    with pytest.raises(InputError, match="already a group name"):
        load_inventory(inventory)
