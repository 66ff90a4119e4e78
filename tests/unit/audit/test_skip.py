"""Skipping checks: `--skip` and the inventory variable `audit_skip`. Good lists become
N/A findings that say who skipped them; anything else is an InputError that says where
(file:line or --skip) and what was expected, exit 2, before any host is touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provision.audit import run as audit_run
from provision.audit.checks import CHECKS, Status
from provision.audit.run import HostAudit, judge
from provision.audit.skip import HINT, _ranges, option_ids, parse_ids
from provision.cli import main
from provision.errors import InputError, Location

from .helpers import docker_host

GOOD = [
    (None, set()),
    ([], set()),
    ("", set()),
    (["1.1.1"], {"1.1.1"}),
    (["1.1.1", "2.9", "2.P1"], {"1.1.1", "2.9", "2.P1"}),
    (("3.24",), {"3.24"}),
    (["2.10", "2.10"], {"2.10"}),
    ("1.1.1,2.9", {"1.1.1", "2.9"}),
    ("1.1.1, 2.9 ,\t3.1", {"1.1.1", "2.9", "3.1"}),
    ("1.1.1,", {"1.1.1"}),
    (" 2.18 ", {"2.18"}),
    (["\t2.2"], {"2.2"}),
]


@pytest.mark.parametrize(("value", "ids"), GOOD)
def test_good_lists(value: object, ids: set[str]) -> None:
    assert parse_ids(value, "audit_skip") == ids


BAD = [
    # (value, words the message must hold)
    (["9.9"], "unknown check id '9.9'"),
    (["2.1"], "unknown check id '2.1'"),
    (["2.p1"], "unknown check id '2.p1'"),
    (["1.1"], "unknown check id '1.1'"),
    ([""], "unknown check id ''"),
    ("2.9,2.99", "unknown check id '2.99'"),
    (["-2.9"], "unknown check id '-2.9'"),
    (["--skip"], "unknown check id '--skip'"),
    (["../2.9"], "unknown check id '../2.9'"),
    (["2.9/../2.10"], "unknown check id"),
    (["2.9 2.10"], "unknown check id '2.9 2.10'"),
    (["'2.9'"], "unknown check id"),
    (['"2.9"'], "unknown check id"),
    (["2.9\n"], r"'2.9\n'"),
    (["2.9\r"], r"'2.9\r'"),
    (["2.9\r\n"], r"'2.9\r\n'"),
    (["2.9\v"], r"'2.9\x0b'"),
    (["2.9\f"], r"'2.9\x0c'"),
    (["2.9\x85"], r"'2.9\x85'"),
    (["2.9\u2028"], r"'2.9\u2028'"),
    (["2.9\u2029"], r"'2.9\u2029'"),
    (["2.9\x00"], r"'2.9\x00'"),
    (["\x1b[31m2.9"], r"'\x1b[31m2.9'"),
    ("1.1.1,\n", r"'\n'"),
    (["9" * 10000], "unknown check id"),
    ([2.10], "2.1 is a number"),
    ([2.9], "2.9 is a number"),
    ([3], "3 is a number"),
    ([True], "True is a number"),
    ([None], "got NoneType"),
    ([["2.9"]], "got list"),
    ([{"id": "2.9"}], "got dict"),
    (2.9, "expected a list of check ids, got float"),
    ({"2.9": True}, "expected a list of check ids, got dict"),
    (True, "expected a list of check ids, got bool"),
    (7, "expected a list of check ids, got int"),
]


@pytest.mark.parametrize(("value", "words"), BAD)
def test_bad_lists_say_where_and_what(value: object, words: str) -> None:
    where = Location("inventory.yml", 7)
    with pytest.raises(InputError) as caught:
        parse_ids(value, "audit_skip", where)
    text = str(caught.value)
    assert text.startswith("inventory.yml:7: audit_skip: "), text
    assert words in text, text
    assert "check ids: 1.1.1-1.1.18" in text  # what is expected


def test_numbers_get_the_quote_hint() -> None:
    with pytest.raises(InputError) as caught:
        parse_ids([2.10], "audit_skip")
    assert "quote it" in caught.value.hint


def test_the_hint_lists_every_check_as_ranges() -> None:
    assert HINT == "check ids: 1.1.1-1.1.18, 2.2-2.18, 2.P1, 3.1-3.24 (docs/audit.md)"
    assert _ranges(("1.1", "1.2", "1.4", "2.P1", "2.5", "2.6")) == "1.1-1.2, 1.4, 2.P1, 2.5-2.6"
    assert _ranges(()) == ""


def test_option_is_repeatable_and_comma_separated() -> None:
    assert option_ids(["1.1.1", "2.9,2.12"]) == {"1.1.1", "2.9", "2.12"}
    assert option_ids([]) == frozenset()
    with pytest.raises(InputError, match="--skip: unknown check id 'x'"):
        option_ids(["2.9", "x"])


def test_a_skipped_check_is_na_and_leaves_the_score() -> None:
    audit = judge("web1", docker_host())
    before = {c.id: f for c, f in audit.results}
    failed = [c.id for c, f in audit.results if c.scored and f.status is Status.FAIL]
    passed = [c.id for c, f in audit.results if c.scored and f.status is Status.PASS]
    audit.skip({failed[0]: "--skip", passed[0]: "audit_skip at inv.yml:3"})
    after = {c.id: f for c, f in audit.results}
    assert after[failed[0]].status is Status.NA
    assert after[failed[0]].detail == "skipped (--skip)"
    assert after[passed[0]].detail == "skipped (audit_skip at inv.yml:3)"
    assert audit.failed == len(failed) - 1 and audit.passed == len(passed) - 1
    assert [c.id for c, _ in audit.results] == [c.id for c in CHECKS]  # order kept
    untouched = set(before) - {failed[0], passed[0]}
    assert all(after[i] == before[i] for i in untouched)
    order = [c.id for c in CHECKS]
    assert audit.skipped == sorted([failed[0], passed[0]], key=order.index)


# ------------------------------------------------------------------ the command line


@pytest.fixture
def audited(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def fake(settings: Any, options: Any) -> HostAudit:
        seen.append(settings.config.name)
        return judge(settings.config.name, docker_host())

    monkeypatch.setattr(audit_run, "audit_over_ssh", fake)
    return seen


def write(tmp_path: Path, skip_yaml: str) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n  hosts:\n    web1:\n      ansible_connection: local\n"
        f"      audit_skip: {skip_yaml}\n"
        "    web2:\n      ansible_connection: local\n"
    )
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout + result.stderr


def test_inventory_and_option_skips_in_the_json(audited: list[str], tmp_path: Path) -> None:
    inventory = write(tmp_path, "['1.1.1', '2.9']")
    code, out = run(str(inventory), "--format", "json", "--skip", "2.12")
    assert code == 0, out
    hosts = json.loads(out)["hosts"]
    assert hosts["web1"]["skipped"] == ["1.1.1", "2.9", "2.12"]
    assert hosts["web2"]["skipped"] == ["2.12"]
    web1 = {c["id"]: c for c in hosts["web1"]["checks"]}
    assert web1["1.1.1"]["status"] == "n/a"
    assert web1["1.1.1"]["detail"] == f"skipped (audit_skip at {inventory}:5)"
    assert web1["2.12"]["detail"] == "skipped (--skip)"
    assert hosts["web1"]["failed"] < hosts["web2"]["failed"]


def test_extra_vars_skip_is_named_as_such(audited: list[str], tmp_path: Path) -> None:
    inventory = write(tmp_path, "[]")
    code, out = run(str(inventory), "--format", "json", "-e", "audit_skip=2.9,2.12")
    assert code == 0, out
    web2 = {c["id"]: c for c in json.loads(out)["hosts"]["web2"]["checks"]}
    assert web2["2.9"]["detail"] == "skipped (--extra-vars audit_skip)"


@pytest.mark.parametrize(
    ("args", "skip_yaml", "words"),
    [
        (["--skip", "9.9"], "[]", "error: --skip: unknown check id '9.9'"),
        (["--skip", "2.9,,nope"], "[]", "--skip: unknown check id 'nope'"),
        (["--skip", "2.9\u2028"], "[]", r"'2.9\u2028'"),
        ([], "['2.9', '7.7']", "inventory.yml:5: audit_skip: unknown check id '7.7'"),
        ([], "[2.10]", "inventory.yml:5: audit_skip: 2.1 is a number"),
        ([], "{a: 1}", "inventory.yml:5: audit_skip: expected a list of check ids, got dict"),
        ([], '"\\e[31m"', r"'\x1b[31m'"),
        (["-e", "audit_skip=x"], "[]", "--extra-vars audit_skip: unknown check id 'x'"),
        (["--min-score", "nan"], "[]", "expected a number from 0 to 100 (percent), got 'nan'"),
        (["--min-score", "inf"], "[]", "got 'inf'"),
        (["--min-score", "-0.1"], "[]", "got '-0.1'"),
        (["--min-score", "100.01"], "[]", "got '100.01'"),
        (["--min-score", "1e3"], "[]", "got '1e3'"),
        (["--min-score", ""], "[]", "got ''"),
        (["--min-score", "50%"], "[]", "got '50%'"),
        (["--format", "junit"], "[]", "'junit' is not one of 'text', 'json'"),
        (["--format", "JSON\n"], "[]", "--format"),
    ],
)
def test_bad_input_exits_2_without_touching_a_host(
    audited: list[str], tmp_path: Path, args: list[str], skip_yaml: str, words: str
) -> None:
    inventory = write(tmp_path, skip_yaml)
    code, out = run(str(inventory), *args)
    assert code == 2, out
    assert words.replace("inventory.yml", str(inventory)) in out, out
    assert "Traceback" not in out
    assert audited == []


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("100", 100.0), (" 80.5 ", 80.5)])
def test_min_score_edges_accepted(
    audited: list[str], tmp_path: Path, value: str, expected: float
) -> None:
    code, out = run(str(write(tmp_path, "[]")), "--format", "json", "--min-score", value)
    assert code in (0, 1), out
    assert json.loads(out)["min_score"] == expected
