"""Checks a site leaves out on purpose: `--skip ID[,ID...]` on the command line and the
inventory variable `audit_skip` (a list of check ids, per host or group).

Validated before any host is touched: an id the table does not have is an `InputError`
with where it was written (`inventory.yml:7` for the variable, `--skip` for the option)
and the ids that exist. A skipped check is reported N/A with who skipped it, so it counts
neither for nor against the score and the reader still sees it in the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provision.audit.checks import CHECKS, Finding, Status
from provision.errors import InputError, Location

VARIABLE = "audit_skip"
KNOWN = tuple(check.id for check in CHECKS)


def _ranges(ids: tuple[str, ...]) -> str:
    """`1.1.1, 1.1.2, 1.1.3, 2.P1` -> `1.1.1-1.1.3, 2.P1` (runs of consecutive numbers)."""
    parts: list[list[str]] = []
    for check_id in ids:
        prefix, _, last = check_id.rpartition(".")
        run = parts[-1] if parts else None
        if run is not None and last.isdigit():
            prev_prefix, _, prev_last = run[-1].rpartition(".")
            if prev_prefix == prefix and prev_last.isdigit() and int(prev_last) + 1 == int(last):
                run.append(check_id)
                continue
        parts.append([check_id])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in parts)


HINT = f"check ids: {_ranges(KNOWN)} (docs/audit.md)"


def _one(item: object, where: str, location: Location | None) -> str:
    if isinstance(item, bool) or isinstance(item, (int, float)):
        raise InputError(
            f"{where}: {item!r} is a number, expected a check id as a string",
            location,
            hint="quote it: YAML reads 2.10 as the number 2.1 ('2.10' is the check). " + HINT,
        )
    if not isinstance(item, str):
        raise InputError(
            f"{where}: expected a check id (a string such as '2.9'), got {type(item).__name__}",
            location,
            hint=HINT,
        )
    text = item.strip(" \t")
    if text not in KNOWN:
        raise InputError(f"{where}: unknown check id {item!r}", location, hint=HINT)
    return text


def parse_ids(value: object, where: str, location: Location | None = None) -> frozenset[str]:
    """A list of ids, or one string of ids separated by commas (`1.1.1, 2.9`)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        items: list[object] = [part for part in value.split(",") if part.strip(" \t")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InputError(
            f"{where}: expected a list of check ids, got {type(value).__name__}",
            location,
            hint="e.g. audit_skip: ['1.1.1', '2.9']. " + HINT,
        )
    return frozenset(_one(item, where, location) for item in items)


def option_ids(values: Iterable[str]) -> frozenset[str]:
    """`--skip` given any number of times, each a comma-separated list."""
    found: set[str] = set()
    for value in values:
        found |= parse_ids(value, "--skip")
    return frozenset(found)


def host_ids(variables: Any, extra_vars: Mapping[str, Any]) -> tuple[frozenset[str], str]:
    """The host's `audit_skip` (rendered like any variable) and where it was set, as the
    finding of a skipped check names it (`audit_skip at inventory.yml:7`)."""
    if VARIABLE not in variables:
        return frozenset(), ""
    if VARIABLE in extra_vars:
        where, location = f"--extra-vars {VARIABLE}", None
    else:
        where, location = VARIABLE, variables.origin(VARIABLE)
    label = f"{where} at {location}" if location else where
    return parse_ids(variables[VARIABLE], where, location), label


def skipped(by: str) -> Finding:
    return Finding(Status.NA, f"skipped ({by})")
