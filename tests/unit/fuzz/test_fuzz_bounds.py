"""Fuzzing the bounds of issue 10: random alias bombs, random host-range inventories,
random host regexes and random template bombs. Only InputError may come out, and every
example finishes quickly (a bound that is missing shows up as a hang or a MemoryError)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provision.errors import InputError, Location
from provision.project.inventory import compile_host_regex, load_inventory
from provision.project.templating import Variables, render_string
from provision.project.yamlfile import MAX_ALIAS_VALUES, parse_yaml

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def alias_documents(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A document of anchored lists and mappings referring to earlier anchors; returns the
    text and how many values it unfolds to (computed here independently)."""
    levels = draw(st.integers(1, 12))
    sizes = [1]
    lines = ["a0: &a0 leaf"]
    for level in range(1, levels + 1):
        refs = draw(st.lists(st.integers(0, level - 1), min_size=1, max_size=12))
        as_map = draw(st.booleans())
        if as_map:
            body = ", ".join(f"k{i}: *a{r}" for i, r in enumerate(refs))
            lines.append(f"a{level}: &a{level} {{{body}}}")
            sizes.append(1 + sum(1 + sizes[r] for r in refs))
        else:
            lines.append(f"a{level}: &a{level} [{', '.join(f'*a{r}' for r in refs)}]")
            sizes.append(1 + sum(sizes[r] for r in refs))
    return "\n".join(lines) + "\n", sizes


@FUZZ
@given(alias_documents())
def test_alias_documents_load_or_are_refused_in_time(case: tuple[str, list[int]]) -> None:
    text, sizes = case
    started = time.perf_counter()
    try:
        data = parse_yaml(text, "f.yml")
    except InputError as exc:
        assert "aliases expand" in exc.message
        assert exc.location is not None and exc.location.line is not None
        assert max(sizes) > MAX_ALIAS_VALUES // 20  # refused only when really large
    else:
        assert isinstance(data, dict)
        assert max(sizes) <= MAX_ALIAS_VALUES + 100  # the bound held
    assert time.perf_counter() - started < 5


range_part = st.one_of(
    st.tuples(st.integers(0, 30), st.integers(0, 30)).map(lambda t: f"[{t[0]}:{t[1]}]"),
    st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(-1, 4)).map(
        lambda t: f"[{t[0]:02d}:{t[1]:02d}:{t[2]}]"
    ),
    st.sampled_from(["[a:c]", "[c:a]", "[x:Z]", "[1:]", "[1]", "[", "]", "[a:5]", "[0:9999999]"]),
    st.text("abc-.0123456789", min_size=0, max_size=4),
)


@FUZZ
@given(st.lists(st.lists(range_part, min_size=1, max_size=3).map("".join), min_size=1, max_size=6))
def test_inventories_with_random_host_ranges(names: list[str]) -> None:
    body = "".join(f"    {name!r}:\n" for name in names)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inventory.yml"
        path.write_text("all:\n  hosts:\n" + body)
        try:
            inventory = load_inventory(path)
        except InputError as exc:
            assert exc.location is not None
            return
        for host in inventory.hosts:
            assert "[" not in host and "]" not in host
            assert inventory.match(host) == [host]


regex_atoms = st.sampled_from(
    [
        "a",
        "h",
        "\\d",
        "\\w",
        ".",
        "[a-z]",
        "(a|b)",
        "(ab)",
        "(?:h1|h2)",
        "\\1",
        "(",
        ")",
        "|",
        "^",
        "$",
    ]
)
regex_ops = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,3}", "*?", "++"])


@FUZZ
@given(
    st.lists(st.tuples(regex_atoms, regex_ops).map("".join), min_size=1, max_size=8).map("".join)
)
def test_random_host_regexes_compile_or_are_refused(source: str) -> None:
    try:
        regex = compile_host_regex("~" + source)
    except InputError:
        return
    started = time.perf_counter()
    for name in ("a" * 30 + "!", "h" * 30 + "x", "web01", "ab" * 15 + "#"):
        regex.search(name)
    assert time.perf_counter() - started < 2, source


template_pieces = st.sampled_from(
    [
        "{{ 'x' * n }}",
        "{{ [0] * n }}",
        "{{ n ** n }}",
        "{% for i in range(n) %}{% for j in range(n) %}{{ j }}{% endfor %}{% endfor %}",
        "{{ 'ab'|replace('', 'x' * n) }}",
        "{{ 'x'|center(n) }}",
        "{{ '%*d' % (n, 1) }}",
        "{{ 'y'.ljust(n) }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(n % 64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        "{{ lipsum(n) }}",
        "{{ [1, 2]|slice(n)|list|length }}",
        "plain text",
    ]
)


@FUZZ
@given(
    st.lists(template_pieces, min_size=1, max_size=3).map("".join),
    st.sampled_from([0, 1, 7, 100, 10**4, 10**5, 10**6, 10**9, 10**12]),
)
def test_random_template_bombs_are_bounded(source: str, n: int) -> None:
    started = time.perf_counter()
    try:
        render_string(source, Variables({"n": n}), Location("t.yml", 3), "fuzz")
    except InputError as exc:
        assert exc.location == Location("t.yml", 3)
    assert time.perf_counter() - started < 15
