"""A host's fingerprint: keyed digests of exactly the facts its plan read, one per fact,
and one over all of them. Values are encoded canonically (sorted, typed), so the same
host state always gives the same digest on any controller run."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable
from typing import Any

from provision.changecontrol.keys import PlanKey


def canonical(value: Any) -> Any:
    """A JSON-able form of a fact value (or a fact key) that is stable across runs."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, bytes | bytearray):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, enum.Enum):
        return {"enum": type(value).__name__, "value": canonical(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__qualname__, "fields": fields}
    if isinstance(value, dict):
        items = [[canonical(k), canonical(v)] for k, v in value.items()]
        return {"map": sorted(items, key=_sort_key)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"set": sorted((canonical(v) for v in value), key=_sort_key)}
    return {"repr": type(value).__qualname__, "text": str(value)}


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def encode(value: Any) -> bytes:
    return json.dumps(
        canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()


def fact_digests(key: PlanKey, values: Iterable[tuple[Any, Any]]) -> dict[str, dict[str, str]]:
    """{fact id: {"fact": description, "digest": keyed digest of its value}}. The id is a
    keyed digest of the fact itself (its command may hold a secret), the description is
    what a drift message names."""
    out: dict[str, dict[str, str]] = {}
    for fact, value in values:
        fact_id = key.digest(b"fact\0" + encode(fact))[len("hmac-sha256:") :][:32]
        out[fact_id] = {
            "fact": fact.describe(),
            "digest": key.digest(b"value\0" + encode(value)),
        }
    return out


def fingerprint(key: PlanKey, facts: dict[str, dict[str, str]]) -> str:
    return key.digest(encode(sorted((k, v["digest"]) for k, v in facts.items())))


def drift(planned: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    """What moved between the plan's facts and the facts probed now, one line each."""
    lines = []
    for fact_id, entry in planned.items():
        current = now.get(fact_id)
        if current is None:
            lines.append(f"{entry['fact']}: no longer read by the plan")
        elif current["digest"] != entry["digest"]:
            lines.append(f"{entry['fact']}: changed")
    lines += [f"{e['fact']}: now read, not in the plan" for k, e in now.items() if k not in planned]
    return lines
