"""Every filter call is bounded: inputs past MAX_FILTER_INPUT_* are refused (cheap
filters excepted), and the clock is checked before each call. The reproductions of the
red-team review must end in an InputError (no timing asserted: the size checks refuse
them before any work)."""

from __future__ import annotations

from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.project import templating
from provision.project.templating import Variables, evaluate, render_string

WHERE = Location("roles/r/tasks/main.yml", 12)
BIG = "aaaaaaaaaa" * 1_190_000  # 11.9 million characters, under the 16 MiB output bound
V = Variables({"big": BIG, "many": list(range(200_000)), "s": "x" * 2_000_000})

REFUSED = [
    ("wordwrap-huge", "{{ ('aaaaaaaaaa'*1190000)|wordwrap(1)|length }}", "wordwrap"),
    ("list-sort-huge", "{{ ('aaaaaaaaaa'*1190000)|list|sort|length }}", "`list` filter"),
    ("pprint-huge", "{{ ('aaaaaaaaaa'*1190000)|pprint }}", "`pprint` filter"),
    ("wordwrap-1mib-width-1", "{{ ('a'*1048000)|wordwrap(1)|length }}", "wordwrap of"),
    ("upper-var", "{{ big|upper|length }}", "`upper` filter"),
    ("sort-many-items", "{{ many|sort|length }}", "200000 items"),
    ("unique-many-items", "{{ many|unique|list|length }}", "200000 items"),
    ("reverse-var", "{{ s|reverse|join }}", "`reverse` filter"),
    ("nested-weight", "{{ [s, s]|sort|length }}", "printing as more than"),
    ("tojson-huge", "{{ big|tojson|length }}", "`tojson` filter"),
    ("quote-huge", "{{ big|quote|length }}", "`quote` filter"),
]


@pytest.mark.parametrize(
    ("source", "words"), [(s, w) for _, s, w in REFUSED], ids=[n for n, *_ in REFUSED]
)
def test_filters_refuse_inputs_past_the_cap(source: str, words: str) -> None:
    with pytest.raises(InputError, match="cannot render") as caught:
        render_string(source, V, WHERE)
    assert words in str(caught.value)
    assert caught.value.location == WHERE


ALLOWED: list[tuple[str, str, Any]] = [
    ("length-of-huge", "{{ big|length }}", 11900000),
    ("count-of-huge", "{{ many|count }}", 200000),
    ("first-of-huge", "{{ big|first }}", "a"),
    ("last-of-many", "{{ many|last }}", 199999),
    ("default-of-huge", "{{ (big|default('x'))|length }}", 11900000),
    ("string-of-huge", "{{ (big|string)|length }}", 11900000),
    ("upper-small", "{{ 'abc'|upper }}", "ABC"),
    ("map-join", "{{ [1, 2, 3]|map('string')|join(',') }}", "1,2,3"),
    ("select-list", "{{ [1, 2, 3, 4]|select('odd')|list }}", [1, 3]),
    ("wordwrap-ordinary", "{{ 'aaa bbb'|wordwrap(3) }}", "aaa\nbbb"),
    ("sort-at-cap", "{{ range(100000)|list|sort|length }}", 100000),
    ("printed-huge", "{{ big }}", BIG),
]


@pytest.mark.parametrize(
    ("source", "expected"), [(s, e) for _, s, e in ALLOWED], ids=[n for n, *_ in ALLOWED]
)
def test_cheap_filters_and_small_inputs_still_work(source: str, expected: Any) -> None:
    assert render_string(source, V, WHERE) == expected


def test_the_clock_is_checked_before_each_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "MAX_RENDER_SECONDS", -1.0)
    with pytest.raises(InputError, match="longer than"):
        render_string("{{ 'a'|upper }}", V, WHERE)


def test_lazy_filter_results_count_as_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "MAX_RENDER_STEPS", 50)
    with pytest.raises(InputError, match="loop iterations"):
        render_string("{{ range(1000)|map('string')|list|length }}", V, WHERE)


def test_expressions_are_bounded_too() -> None:
    with pytest.raises(InputError, match="`sort` filter"):
        evaluate("many|sort|length > 0", V, WHERE, "when")


def test_the_wall_clock_bound_is_ten_seconds() -> None:
    assert templating.MAX_RENDER_SECONDS == 10.0
