"""Class 5 of issue 10, resource exhaustion: every input and every render has a bound.

Tables of cases: file reads (FIFOs, devices, sizes), YAML alias bombs, template renders,
`~regex` host patterns. Each bad case must end in an InputError that names where, and
quickly: a case that hangs is run in a thread with a deadline, so it fails, not hangs."""

# ruff: noqa: E501 - the tables hold whole templates, one per line

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.project import templating
from provision.project.compile import parse_extra_vars
from provision.project.inventory import compile_host_regex
from provision.project.templating import (
    Variables,
    evaluate,
    render_string,
    render_template_file,
)
from provision.project.yamlfile import (
    MAX_ALIAS_VALUES,
    MAX_INPUT_BYTES,
    parse_yaml,
    read_bytes,
    read_text,
)


def finishes(func: Any, seconds: float = 20.0) -> Any:
    """Run func in a thread; fail the test (not hang it) past the deadline."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# ------------------------------------------------------------------ reading files


def _fifo(tmp: Path) -> Path:
    path = tmp / "vars.yml"
    os.mkfifo(path)
    return path


def _dev_zero(tmp: Path) -> Path:
    return Path("/dev/zero")


def _dev_null(tmp: Path) -> Path:
    return Path("/dev/null")


def _dev_urandom_link(tmp: Path) -> Path:
    link = tmp / "vars.yml"
    link.symlink_to("/dev/urandom")
    return link


def _zero_link(tmp: Path) -> Path:
    link = tmp / "vars.yml"
    link.symlink_to("/dev/zero")
    return link


def _socket(tmp: Path) -> Path:
    import socket

    path = tmp / "s.yml"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return path


def _directory(tmp: Path) -> Path:
    (tmp / "d.yml").mkdir()
    return tmp / "d.yml"


def _over_cap(tmp: Path) -> Path:
    path = tmp / "big.yml"
    path.write_bytes(b"#" * (MAX_INPUT_BYTES + 1))
    return path


def _missing(tmp: Path) -> Path:
    return tmp / "nope.yml"


def _sparse_huge(tmp: Path) -> Path:
    path = tmp / "sparse.yml"
    with open(path, "wb") as fh:
        fh.truncate(10 * 1024**3)  # 10 GiB of holes: st_size is honest, content is zeros
    return path


REFUSED = [
    ("fifo", _fifo, "FIFO"),
    ("dev-zero", _dev_zero, "device"),
    ("dev-null", _dev_null, "device"),
    ("symlink-to-urandom", _dev_urandom_link, "device"),
    ("symlink-to-zero", _zero_link, "device"),
    ("unix-socket", _socket, "socket"),
    ("directory", _directory, "directory"),
    ("over-cap", _over_cap, "the limit is"),
    ("missing", _missing, "not found"),
    ("sparse-10GiB", _sparse_huge, "the limit is"),
]


@pytest.mark.parametrize(
    ("make", "words"), [(m, w) for _, m, w in REFUSED], ids=[n for n, *_ in REFUSED]
)
def test_reading_refuses_what_is_not_a_small_regular_file(tmp_path: Path, make, words) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        finishes(lambda: read_text(path, "extra vars file"), 10)
    assert words in str(caught.value)


@pytest.mark.parametrize("item", ["@/dev/zero", "@/dev/stdin", "@/dev/random"])
def test_extra_vars_from_a_device_is_an_input_error(item: str) -> None:
    with pytest.raises(InputError, match="expected a regular file|not found|cannot be read"):
        finishes(lambda: parse_extra_vars([item]), 10)


def test_extra_vars_from_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    with pytest.raises(InputError, match="FIFO"):
        finishes(lambda: parse_extra_vars([f"@{fifo}"]), 10)


@pytest.mark.parametrize("size", [0, 1, MAX_INPUT_BYTES - 1, MAX_INPUT_BYTES])
def test_files_up_to_the_cap_are_read_whole(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.yml"
    path.write_bytes(b"#" * size)
    assert len(read_bytes(path, "file")) == size


def test_the_cap_holds_whatever_stat_says(tmp_path: Path, monkeypatch) -> None:
    """stat and fstat claim the file is empty (as for a file that grows after stat, or
    /proc files): the bytes actually read are what the cap counts."""
    path = tmp_path / "f.yml"
    path.write_bytes(b"#" * 5000)
    real_stat, real_fstat = os.stat, os.fstat

    def shrink(result: os.stat_result) -> os.stat_result:
        fields = list(result)
        fields[6] = 0  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", lambda p, *a, **k: shrink(real_stat(p, *a, **k)))
    monkeypatch.setattr(os, "fstat", lambda fd: shrink(real_fstat(fd)))
    with pytest.raises(InputError, match="more than 100 bytes"):
        read_bytes(path, "file", limit=100)
    assert len(read_bytes(path, "file", limit=5000)) == 5000


# ------------------------------------------------------------------ YAML aliases


def laughs(levels: int, width: int) -> str:
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


BOMBS = [
    ("billion-laughs-9x9", laughs(9, 9), 7),
    ("wide-10x6", laughs(6, 10), 6),
    ("deep-2x40", laughs(40, 2), 17),
    (
        "mapping-bomb",
        "a: &a {x: 1, y: 2, z: 3}\n"
        + "".join(
            f"m{i}: &m{i} {{p: *{'a' if i == 0 else f'm{i - 1}'}, q: *{'a' if i == 0 else f'm{i - 1}'}}}\n"
            for i in range(30)
        ),
        15,
    ),
    (
        "merge-chain",
        "b0: &b0 {"
        + ", ".join(f"k{i}: {i}" for i in range(50))
        + "}\n"
        + "".join(
            f"b{i}: &b{i} {{<<: *b{i - 1}, x{i}: [*b{i - 1}, *b{i - 1}]}}\n" for i in range(1, 40)
        ),
        None,
    ),
    (
        "keys-are-aliases",
        "k: &k [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
        + "".join(
            f"l{i}: &l{i} [{', '.join(['*k' if i == 0 else f'*l{i - 1}'] * 10)}]\n"
            for i in range(6)
        ),
        None,
    ),
]


@pytest.mark.parametrize(
    ("text", "line"), [(t, n) for _, t, n in BOMBS], ids=[n for n, *_ in BOMBS]
)
def test_alias_bombs_are_refused_fast_with_a_line(text: str, line: int | None) -> None:
    assert len(text) < 20_000
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        finishes(lambda: parse_yaml(text, "inventory.yml"), 10)
    assert time.perf_counter() - started < 5
    assert "YAML aliases expand to more than" in caught.value.message
    assert caught.value.location is not None and caught.value.location.file == "inventory.yml"
    assert caught.value.location.line is not None
    if line is not None:
        assert caught.value.location.line == line


@pytest.mark.parametrize(
    "text",
    [
        laughs(3, 9),  # 729 values: fine
        "base: &b {port: 22, user: admin}\nh1: *b\nh2: *b\nh3: *b\n",
        "x: &x " + "[" * 50 + "]" * 50 + "\ny: [*x, *x, *x]\n",
        "list: &l ["
        + ", ".join(str(i) for i in range(1000))
        + "]\ncopies: ["
        + ", ".join(["*l"] * 90)
        + "]\n",
        "a: 'not * an alias'\nb: \"*x\"\n",
    ],
    ids=["small-laughs", "shared-host-vars", "deep-shared", "90-copies-of-1000", "stars-in-text"],
)
def test_modest_aliases_still_load(text: str) -> None:
    assert parse_yaml(text, "f.yml") is not None


def test_alias_bound_is_exact_at_the_limit() -> None:
    width = 1000
    copies = MAX_ALIAS_VALUES // (width + 1)
    items = ", ".join(str(i) for i in range(width))
    text = f"l: &l [{items}]\nc: [" + ", ".join(["*l"] * copies) + "]\n"
    parse_yaml(text, "f.yml")  # (copies - 1) * 1001 extra values: under the bound
    text = f"l: &l [{items}]\nc: [" + ", ".join(["*l"] * (copies + 2)) + "]\n"
    with pytest.raises(InputError, match="aliases expand"):
        parse_yaml(text, "f.yml")


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a {k: *a}\n", "a: &a [1, [2, [3, *a]]]\n"],
    ids=["self-list", "self-map", "nested-self"],
)
def test_recursive_aliases_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="recursive|alias"):
        parse_yaml(text, "r.yml")


# ------------------------------------------------------------------ rendering

V = Variables({"items": [1, 2, 3], "word": "ab", "n": 3, "big": 10**6})
WHERE = Location("roles/r/tasks/main.yml", 7)

RENDER_BAD = [
    ("str-times-huge", "{{ 'x' * 10**9 }}", "larger than"),
    ("huge-times-str", "{{ 10**9 * 'x' }}", "larger than"),
    ("list-times-huge", "{{ [0] * 10**8 }}", "larger than"),
    ("nested-list-times", "{{ [[0] * 5000] * 5000 }}", "larger than"),
    ("pow-huge", "{{ 10 ** (10 ** 8) }}", "too large a number"),
    ("pow-chain", "{{ 2 ** 100000 }}", "too large a number"),
    (
        "int-product",
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
        "huge numbers",
    ),
    (
        "nested-for",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    (
        "nested-for-output",
        "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    ("range-too-big", "{{ range(10**9)|list|length }}", "Range too big"),
    (
        "concat-doubling",
        "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        "larger than",
    ),
    (
        "plus-doubling",
        "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
        "larger than",
    ),
    (
        "shared-tree-print",
        "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
        "larger than",
    ),
    ("center", "{{ 'x'|center(10**9) }}", "larger than"),
    ("indent", "{{ ('a\n' * 1000)|indent(10**6) }}", "larger than"),
    ("indent-str", "{{ ('a\n' * 100000)|indent('x' * 1000, true) }}", "larger than"),
    ("replace-empty", "{{ ('ab' * 1000)|replace('', 'x' * 10000) }}", "larger than"),
    ("replace-method", "{{ ('ab' * 1000).replace('', 'x' * 10000) }}", "larger than"),
    ("percent-width", "{{ '%999999999d' % 1 }}", "larger than"),
    ("percent-star", "{{ '%*d' % (10**9, 1) }}", "larger than"),
    ("format-filter", "{{ '%0999999999d'|format(1) }}", "larger than"),
    ("str-format-width", "{{ '{:>999999999}'.format(1) }}", "larger than"),
    ("str-format-nested", "{{ '{:>{w}}'.format(1, w=10**9) }}", "larger than"),
    ("ljust", "{{ 'x'.ljust(10**9) }}", "larger than"),
    ("zfill", "{{ 'x'.zfill(10**9) }}", "larger than"),
    (
        "join-filter",
        "{% set ns = namespace(l=[]) %}{% for i in range(200) %}{% set ns.l = ns.l + ['x' * 100000] %}{% endfor %}{{ ns.l|join('') }}",
        "joined string would be",
    ),
    (
        "join-method",
        "{% set ns = namespace(l=[]) %}{% for i in range(200) %}{% set ns.l = ns.l + ['x' * 100000] %}{% endfor %}{{ ''.join(ns.l) }}",
        "joined string would be",
    ),
    ("repeat-shared-strings", "{{ (['x' * 1000] * 20000)|join('') }}", "repeated value"),
    ("slice-count", "{{ [1, 2]|slice(10**9)|list }}", "too large"),
    ("batch-count", "{{ [1, 2]|batch(10**9)|list }}", "too large"),
    ("lipsum", "{{ lipsum(10**9) }}", "lipsum"),
    (
        "macro-tree",
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "loop iterations",
    ),
    (
        "recursive-loop",
        "{% for x in [[1,1],[1,1]] recursive %}{% for y in range(100000) %}{% endfor %}{{ loop([[1,1],[1,1]]) }}{% endfor %}",
        "recursion|loop iterations",
    ),
]


@pytest.mark.parametrize(
    ("source", "words"), [(s, w) for _, s, w in RENDER_BAD], ids=[n for n, *_ in RENDER_BAD]
)
def test_render_bounds_are_input_errors_with_the_location(source: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        finishes(lambda: render_string(source, V, WHERE, "copy.content"), 30)
    assert caught.value.location == WHERE
    import re

    assert re.search(words, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'x' * 3 }}", "xxx"),
        ("{{ [1] * 3 }}", [1, 1, 1]),
        ("{{ 2 ** 10 }}", 1024),
        ("{{ (10 ** 10) ** 8 }}", 10**80),
        ("{{ 'a' ~ 'b' ~ n }}", "ab3"),
        ("{{ items + [4] }}", [1, 2, 3, 4]),
        ("{{ '%05d' % 42 }}", "00042"),
        ("{{ '%d' % big }}", "1000000"),
        ("{{ '%s-%s' % ('a', 'b') }}", "a-b"),
        ("{{ '{:>4}'.format('a') }}", "   a"),
        ("{{ '%03d'|format(7) }}", "007"),
        ("{{ items|join(',') }}", "1,2,3"),
        ("{{ 'a-b'|replace('-', '_') }}", "a_b"),
        ("{{ 'x'|center(5) }}", "  x  "),
        ("{{ 'a\nb'|indent(2) }}", "a\n  b"),
        ("{% for i in range(3) recursive %}{{ loop.index }}{% endfor %}", "123"),
        ("{% for i in items if i > 1 %}{{ i }}{% else %}none{% endfor %}", "23"),
        ("{% for i in [] %}{{ i }}{% else %}none{% endfor %}", "none"),
        ("{% for i in items %}{{ loop.length }}{{ loop.revindex }}{% endfor %}", "333231"),
        ("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}", "a=1"),
        ("{{ range(100000)|list|length }}", 100000),
        ("{{ 'ab'.ljust(4) }}|", "ab  |"),
        ("{{ [1,2,3,4]|slice(2)|list }}", [[1, 2], [3, 4]]),
        ("{{ lipsum(1, html=false)|length > 0 }}", True),
    ],
)
def test_ordinary_templates_render_as_before(source: str, expected: Any) -> None:
    assert render_string(source, V, WHERE) == expected


def test_a_template_file_error_names_the_template_line() -> None:
    source = "# header\nok\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n"
    with pytest.raises(InputError) as caught:
        finishes(lambda: render_template_file(source, V, "roles/r/templates/big.j2"), 30)
    assert str(caught.value.location) == "roles/r/templates/big.j2:3"


def test_a_when_expression_is_bounded_too() -> None:
    with pytest.raises(InputError, match="larger than"):
        evaluate("[1] * 10**8", V, WHERE, "when")


def test_the_wall_clock_bound(monkeypatch) -> None:
    monkeypatch.setattr(templating, "MAX_RENDER_SECONDS", 0.0)
    monkeypatch.setattr(templating, "_CHECK_CLOCK_EVERY", 1)
    with pytest.raises(InputError, match="longer than 0 seconds"):
        render_string("{% for i in range(10) %}{{ i }}{% endfor %}", V, WHERE)


def test_nested_variable_renders_share_one_budget(monkeypatch) -> None:
    """A variable defined from a heavy template counts against the render that uses it."""
    monkeypatch.setattr(templating, "MAX_RENDER_STEPS", 5000)
    heavy = "{% for i in range(3000) %}{% endfor %}x"
    variables = Variables({"a": heavy, "b": heavy, "both": "{{ a }}{{ b }}"})
    with pytest.raises(InputError, match="loop iterations"):
        render_string("{{ both }}", variables, WHERE)
    # each alone fits
    assert render_string("{{ a }}", Variables({"a": heavy}), WHERE) == "x"


def test_the_output_size_bound(monkeypatch) -> None:
    monkeypatch.setattr(templating, "MAX_RENDER_CHARS", 1000)
    source = "{% for i in range(2000) %}x{% endfor %}"
    with pytest.raises(InputError, match="rendered text would be larger than 1000"):
        render_string(source, V, WHERE)


# ------------------------------------------------------------------ --limit regexes

REGEX_BAD = [
    ("nested-plus", "~(a+)+$", "repetition inside a repetition"),
    ("nested-star", "~(a*)*b", "repetition inside a repetition"),
    ("nested-in-class", "~(\\w+\\d*)+x", "repetition inside a repetition"),
    ("nested-bounded", "~(a{1,5}){1,5}", "repetition inside a repetition"),
    ("alternation-star", "~(a|ab)*c", "alternation"),
    ("alternation-plus", "~(web|web1)+$", "alternation"),
    ("lookahead-nested", "~(?=(a+)+)", "repetition inside a repetition"),
    ("backreference", "~(\\w+)\\1", "back-references"),
    ("named-backref", "~(?P<x>a)(?P=x)", "back-references"),
    ("too-long", "~" + "a" * 201, "the limit is 200"),
    ("invalid", "~(", "not a valid regular expression"),
    ("bad-escape", "~\\", "not a valid regular expression"),
]


@pytest.mark.parametrize(
    ("pattern", "words"), [(p, w) for _, p, w in REGEX_BAD], ids=[n for n, *_ in REGEX_BAD]
)
def test_dangerous_host_regexes_are_refused(pattern: str, words: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        compile_host_regex(pattern)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "pattern",
    [
        "~web\\d+",
        "~^(web|db)0[1-3]$",
        "~.*",
        "~[a-z]+-[0-9]{2}",
        "~(ab){2}",
        "~a{3}b?",
        "~" + "a" * 200,
        "~(?:x|y)z+",
    ],
)
def test_ordinary_host_regexes_compile(pattern: str) -> None:
    assert compile_host_regex(pattern).pattern == pattern[1:]
