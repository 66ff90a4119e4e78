"""The audit's outputs: score, the JSON document (`provision-audit/1`), JUnit XML (parsed
back, with hostile host names and values), text, and the exit codes."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from provision.audit.checks import CHECKS, Finding, Status
from provision.audit.run import (
    SCHEMA,
    HostAudit,
    clean,
    document,
    exit_code,
    judge,
    junit,
    text_lines,
    to_json,
)

from .helpers import docker_host

HOSTILE = [
    "plain",
    "a\nb",
    "a\rb",
    "a\r\nb",
    "a\vb",
    "a\fb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "a\x00b",
    "a\x1bb[31m",
    "a\x7fb",
    '<tag attr="x">&amp;</tag>',
    "]]>",
    "-leading",
    "../../etc/passwd",
    "'\"quotes\"'",
    "x" * 5000,
    "日本語",
]


def same(text: str) -> str:
    return text


def hostile_audit(value: str) -> HostAudit:
    audit = judge(value, docker_host(docker_group=[value]))
    audit.results.append((CHECKS[0], Finding(Status.FAIL, value)))
    return audit


def test_score_counts_scored_pass_and_fail_only() -> None:
    audit = HostAudit("h")
    by_id = {c.id: c for c in CHECKS}
    audit.results = [
        (by_id["2.2"], Finding(Status.PASS, "")),
        (by_id["2.3"], Finding(Status.FAIL, "")),
        (by_id["2.4"], Finding(Status.FAIL, "")),
        (by_id["2.7"], Finding(Status.NA, "")),
        (by_id["1.1.2"], Finding(Status.INFO, "")),
        (by_id["2.8"], Finding(Status.PASS, "")),  # manual: never counted
    ]
    assert (audit.passed, audit.failed, audit.score) == (1, 2, 33.3)
    assert audit.below(33.4) and not audit.below(33.3) and not audit.below(None)
    assert HostAudit("h").score is None
    assert HostAudit("h", error="boom").below(0)


def test_json_schema() -> None:
    audits = [judge("a", docker_host()), HostAudit("b", error="ssh: refused", unreachable=True)]
    doc = json.loads(to_json(document(audits, 80.0, same)))
    assert doc["schema"] == SCHEMA == "provision-audit/1"
    assert doc["min_score"] == 80.0
    assert sorted(doc["hosts"]) == ["a", "b"]
    a = doc["hosts"]["a"]
    assert set(a) == {
        "score",
        "passed",
        "failed",
        "info",
        "not_applicable",
        "below_min_score",
        "error",
        "unreachable",
        "skipped",
        "checks",
    }
    assert a["skipped"] == []
    assert (a["score"], a["passed"], a["failed"], a["below_min_score"]) == (53.1, 17, 15, True)
    assert a["info"] + a["not_applicable"] + a["passed"] + a["failed"] <= len(a["checks"]) == 60
    for check in a["checks"]:
        assert set(check) == {
            "id",
            "title",
            "level",
            "scored",
            "status",
            "detail",
            "remedy",
            "variable",
        }
        assert check["status"] in ("pass", "fail", "info", "n/a")
        assert check["level"] in (1, 2)
        assert isinstance(check["scored"], bool)
    assert [c["id"] for c in a["checks"]] == [c.id for c in CHECKS]
    b = doc["hosts"]["b"]
    assert (b["score"], b["error"], b["unreachable"], b["checks"]) == (
        None,
        "ssh: refused",
        True,
        [],
    )
    assert b["below_min_score"] is True
    assert json.loads(to_json(document(audits, None, same)))["min_score"] is None


def test_json_masks_secrets() -> None:
    audit = judge("a", docker_host(daemon_json={"insecure-registries": ["hunter2.example"]}))
    text = to_json(document([audit], None, lambda t: t.replace("hunter2", "***")))
    assert "hunter2" not in text and "***.example" in text


@pytest.mark.parametrize("value", HOSTILE)
def test_junit_is_well_formed(value: str) -> None:
    audits = [hostile_audit(value), HostAudit(value + "-down", error=value)]
    data = junit(audits, same)
    root = ElementTree.fromstring(data)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 2
    first = suites[0]
    cases = first.findall("testcase")
    assert len(cases) == int(first.get("tests", "")) == 61
    assert int(first.get("failures", "")) == len(first.findall("testcase/failure")) == 16
    assert int(first.get("skipped", "")) == len(first.findall("testcase/skipped"))
    assert suites[1].get("errors") == "1"
    assert len(suites[1].findall("testcase/error")) == 1
    for element in root.iter():
        for text in [element.text or "", *element.attrib.values()]:
            assert not any(ch in text for ch in "\x00\x1b\x7f\x85\u2028\u2029\v\f")
            if element.tag not in ("testsuite", "testcase"):
                assert "\n" not in text and "\r" not in text


def test_junit_failure_carries_remedy() -> None:
    root = ElementTree.fromstring(junit([judge("h", docker_host())], same))
    failure = root.find(
        "testsuite/testcase[@name='2.14 Containers are restricted from acquiring new"
        " privileges']/failure"
    )
    assert failure is not None
    assert "no-new-privileges" in failure.get("message", "")
    assert "docker_no_new_privileges" in (failure.text or "")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("a\nb", "a b"),
        ("a\r\nb", "a b"),
        ("a\x00b", "a\\x00b"),
        ("a\x1b[1m", "a\\x1b[1m"),
        ("a\u2028b", "a\\x2028b"),
        ("tab\tok", "tab\tok"),
    ],
)
def test_clean(text: str, want: str) -> None:
    assert clean(text) == want


@pytest.mark.parametrize("value", HOSTILE)
def test_text_is_one_line_per_item(value: str) -> None:
    lines = text_lines([hostile_audit(value)], 90.0, same)
    assert all("\x00" not in ln and "\x1b" not in ln for ln in lines)
    assert lines[-1].endswith("below --min-score")
    assert lines[-2].startswith("HOST")


@pytest.mark.parametrize(
    ("audits", "min_score", "code"),
    [
        ([judge("a", docker_host())], None, 0),
        ([judge("a", docker_host())], 53.1, 0),
        ([judge("a", docker_host())], 53.2, 1),
        ([judge("a", docker_host())], 0, 0),
        ([HostAudit("b", error="down", unreachable=True)], None, 3),
        ([HostAudit("b", error="down", unreachable=True)], 10, 1),
        ([HostAudit("b", error="internal")], None, 1),
        ([judge("a", docker_host()), HostAudit("b", error="down", unreachable=True)], None, 3),
        ([HostAudit("n")], 50, 1),  # nothing applicable: no score, below any threshold
    ],
)
def test_exit_code(audits: list[HostAudit], min_score: float | None, code: int) -> None:
    assert exit_code(audits, min_score) == code
