"""Fingerprints: canonical encoding, drift per class, the gate's comparison."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from provision.changecontrol.fingerprint import canonical, drift, encode, fact_digests, fingerprint
from provision.changecontrol.gate import Gate
from provision.changecontrol.keys import PlanKey

KEY = PlanKey(b"k" * 32)


@dataclass(frozen=True)
class F:
    path: str

    def describe(self) -> str:
        return f"file {self.path}"


@dataclass(frozen=True)
class V:
    mode: int
    content: bytes


def test_encoding_ignores_order_of_maps_and_sets() -> None:
    assert encode({"a": 1, "b": {2, 3}}) == encode({"b": {3, 2}, "a": 1})
    assert encode(frozenset({"x", "y"})) == encode(frozenset({"y", "x"}))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, "1"),
        (0, False),
        (None, ""),
        (b"a", "a"),
        ([1, 2], [2, 1]),
        (V(0o644, b"x"), V(0o600, b"x")),
        (V(0o644, b"x"), V(0o644, b"x\n")),
        (1.0, 1),
        ({"a": None}, {}),
    ],
)
def test_different_values_encode_differently(a: object, b: object) -> None:
    assert encode(a) != encode(b)


def test_canonical_dataclass_names_its_type() -> None:
    assert canonical(V(1, b"\x00"))["type"].endswith("V")


def facts(**values: object) -> dict[str, dict[str, str]]:
    return fact_digests(KEY, [(F(k), v) for k, v in values.items()])


def test_fingerprint_moves_with_any_fact() -> None:
    base = facts(a=V(0o644, b"x"), b=None)
    assert fingerprint(KEY, base) == fingerprint(KEY, facts(b=None, a=V(0o644, b"x")))
    assert fingerprint(KEY, base) != fingerprint(KEY, facts(a=V(0o644, b"y"), b=None))
    assert fingerprint(KEY, base) != fingerprint(PlanKey(b"j" * 32), base)


@pytest.mark.parametrize(
    ("before", "after", "lines"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, ["file a: changed"]),
        ({"a": b"x"}, {"a": b"x\r\n"}, ["file a: changed"]),
        ({"a": None}, {"a": V(0, b"")}, ["file a: changed"]),
        ({"a": 1, "b": 1}, {"a": 1}, ["file b: no longer read by the plan"]),
        ({"a": 1}, {"a": 1, "c": 1}, ["file c: now read, not in the plan"]),
        ({"a": 1, "b": 2}, {"a": 0, "b": 0}, ["file a: changed", "file b: changed"]),
    ],
    ids=["same", "value", "line-break", "created", "gone", "new", "two"],
)
def test_drift_per_class(before: dict, after: dict, lines: list[str]) -> None:
    assert drift(facts(**before), facts(**after)) == lines


def test_digests_do_not_hold_the_values() -> None:
    secret = "s3cr3t-value-123"
    text = str(facts(a=secret, b=secret.encode()))
    assert secret not in text and secret.encode().hex() not in text


def entry(fp: str, changes: str) -> dict:
    return {"fingerprint": fp, "changes_digest": changes, "facts": facts(a=1)}


def test_gate_compare_classes() -> None:
    assert Gate.compare(entry("f", "c"), entry("f", "c")) == []
    assert "not in the plan" in Gate.compare(None, entry("f", "c"))[0]
    assert "differ" in Gate.compare(entry("f", "c"), entry("f", "d"))[0]
    drifted = Gate.compare(entry("f", "c"), {**entry("g", "c"), "facts": facts(a=2)})
    assert drifted == ["the host drifted since the plan:", "  file a: changed"]
