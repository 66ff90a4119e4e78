"""Ansible's Jinja tests (`x is match('re')`, `v is version('2.0', '>=')`, `a is subset(b)`,
`x is truthy`), with Ansible's semantics and inside the bounded sandbox.

Regular expressions pass the same `regexsafe` check as the regex filters (a pattern that
could backtrack for ever is refused), and their input is bounded like a filter's. Version
comparison follows ansible-core's `version_compare`: `loose` (the default: numbers and
letter runs compared part by part), `strict` (`N.N[.N][aN|bN]`) and `semver`/`semantic`
(semver 2.0.0, with Ansible's loose parse of `1.2` as `1.2.0`). A version that cannot be
compared is an error naming both values, never a guess.

A test a template names that is not here (nor one of Jinja's) is an input error that names
it, with file:line, and the closest known test (see templating._wrap_errors).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from functools import total_ordering
from typing import Any

from provision.project.jinjafilters import FilterError, _regex

MAX_TEST_INPUT_CHARS = 1024 * 1024  # as templating.MAX_FILTER_INPUT_CHARS
MAX_VERSION_CHARS = 1024


def _text(value: Any, test: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="surrogateescape")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEST_INPUT_CHARS:
        raise FilterError(
            f"the {test!r} test takes at most {MAX_TEST_INPUT_CHARS} characters, found {len(text)}"
        )
    return text


# ------------------------------------------------------------------ regular expressions

MATCH_TYPES = ("search", "match", "fullmatch")


def regex(
    value: Any = "",
    pattern: Any = "",
    ignorecase: bool = False,
    multiline: bool = False,
    match_type: str = "search",
) -> bool:
    """Ansible's `regex` test: `re.search` (or `match_type` 'match'/'fullmatch')."""
    if match_type not in MATCH_TYPES:
        raise FilterError(
            f"the 'regex' test's match_type must be one of {', '.join(MATCH_TYPES)}, "
            f"found {match_type!r}"
        )
    compiled = _regex(pattern, bool(ignorecase), bool(multiline))
    return bool(getattr(compiled, match_type)(_text(value, "regex")))


def match(value: Any, pattern: Any = "", ignorecase: bool = False, multiline: bool = False) -> bool:
    """`re.match`: the pattern must match at the start of the value."""
    return regex(value, pattern, ignorecase, multiline, "match")


def search(
    value: Any, pattern: Any = "", ignorecase: bool = False, multiline: bool = False
) -> bool:
    """`re.search`: the pattern matches anywhere in the value."""
    return regex(value, pattern, ignorecase, multiline, "search")


# ------------------------------------------------------------------ versions

_LOOSE_PART = re.compile(r"(\d+|[a-z]+|\.)", re.VERBOSE)
_STRICT = re.compile(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$", re.ASCII)
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    re.ASCII,
)


class VersionError(FilterError):
    pass


def loose_version(text: str) -> list[int | str]:
    """distutils' LooseVersion: runs of digits become numbers, letter runs stay text."""
    parts: list[int | str] = []
    for part in _LOOSE_PART.split(text):
        if not part or part == ".":
            continue
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    return parts


def strict_version(text: str) -> tuple[tuple[int, int, int], tuple[str, int] | None]:
    """distutils' StrictVersion: `N.N[.N][aN|bN]`, a pre-release sorts before its release."""
    found = _STRICT.match(text)
    if not found:
        raise VersionError(f"invalid version number {text!r} (strict: N.N[.N][aN|bN])")
    major, minor, _, patch, pre, pre_number = found.groups()
    number = (int(major), int(minor), int(patch or 0))
    return number, ((pre[0], int(pre_number)) if pre else None)


@total_ordering
class _Strict:
    def __init__(self, text: str) -> None:
        self.number, self.pre = strict_version(text)

    def _key(self) -> tuple:
        # a release sorts after any of its pre-releases: (1, ) beats (0, 'a', n)
        return (self.number, (1, "", 0) if self.pre is None else (0, *self.pre))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Strict) and self._key() == other._key()

    def __lt__(self, other: _Strict) -> bool:
        return self._key() < other._key()


@total_ordering
class _Identifier:
    """A semver pre-release identifier: numbers sort numerically and before text."""

    def __init__(self, part: str) -> None:
        self.part = part

    def _key(self) -> tuple[int, int, str]:
        return (0, int(self.part), "") if self.part.isdigit() else (1, 0, self.part)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identifier) and self._key() == other._key()

    def __lt__(self, other: _Identifier) -> bool:
        return self._key() < other._key()


@total_ordering
class _Semantic:
    """Semantic Versioning 2.0.0 (`MAJOR.MINOR.PATCH[-pre][+build]`, all three numbers
    required, as Ansible's SemanticVersion); build metadata does not count."""

    def __init__(self, text: str) -> None:
        found = _SEMVER.match(text)
        if not found:
            raise VersionError(f"invalid semantic version {text!r} (MAJOR.MINOR.PATCH)")
        major, minor, patch, pre, _build = found.groups()
        self.number = (int(major), int(minor), int(patch))
        self.pre = tuple(_Identifier(p) for p in pre.split(".")) if pre else ()

    def _key(self) -> tuple:
        # no pre-release sorts after any pre-release of the same number
        return (self.number, 0 if self.pre else 1, self.pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Semantic) and self._key() == other._key()

    def __lt__(self, other: _Semantic) -> bool:
        return self._key() < other._key()


VERSION_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "eq": operator.eq,
    "<": operator.lt,
    "lt": operator.lt,
    "<=": operator.le,
    "le": operator.le,
    ">": operator.gt,
    "gt": operator.gt,
    ">=": operator.ge,
    "ge": operator.ge,
    "!=": operator.ne,
    "<>": operator.ne,
    "ne": operator.ne,
}
VERSION_TYPES: dict[str, Callable[[str], Any]] = {
    "loose": loose_version,
    "strict": _Strict,
    "semver": _Semantic,
    "semantic": _Semantic,
}


def _version_text(value: Any, what: str) -> str:
    if not value:  # as Ansible: '', None, 0, False
        raise VersionError(f"{what} cannot be empty")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VERSION_CHARS:
        raise VersionError(f"{what} is longer than {MAX_VERSION_CHARS} characters")
    return text


def version_compare(
    value: Any,
    version: Any = None,
    operator: str = "eq",
    strict: Any = None,
    version_type: str | None = None,
) -> bool:
    """Ansible's `version` / `version_compare` test."""
    if strict is not None and version_type is not None:
        raise VersionError("give either 'strict' or 'version_type', not both")
    left = _version_text(value, "the version to test")
    right = _version_text(version, "the version to compare with")
    kind = "strict" if strict else (version_type or "loose")
    if kind == "pep440":
        raise VersionError(
            "version_type 'pep440' is not supported here; use 'loose', 'strict' or 'semver'"
        )
    if kind not in VERSION_TYPES:
        raise VersionError(
            f"invalid version type {kind!r}; must be one of {', '.join(map(repr, VERSION_TYPES))}"
        )
    if not isinstance(operator, str) or operator not in VERSION_OPERATORS:
        raise VersionError(
            f"invalid operator {operator!r}; must be one of "
            + ", ".join(map(repr, VERSION_OPERATORS))
        )
    make = VERSION_TYPES[kind]
    try:
        return bool(VERSION_OPERATORS[operator](make(left), make(right)))
    except TypeError:
        # loose: a number against a letter run at the same place (`1.a` vs `1.1`)
        raise VersionError(
            f"version comparison failed: {left!r} and {right!r} cannot be compared as "
            f"{kind} versions (a number and letters at the same place)"
        ) from None


# ------------------------------------------------------------------ sets, truthiness


def _items(value: Any, test: str) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        if isinstance(value, str | bytes):
            return list(value)  # as Python's set('abc'), as Ansible
        raise FilterError(f"the {test!r} test expects a list, found {type(value).__name__}")
    items = list(value)
    if len(items) > 100_000:
        raise FilterError(f"the {test!r} test takes at most 100000 entries")
    return items


def _as_set(value: Any, test: str) -> set[Any]:
    try:
        return set(_items(value, test))
    except TypeError as exc:  # unhashable entries (mappings, lists)
        raise FilterError(f"the {test!r} test cannot compare these entries: {exc}") from None


def issubset(a: Any, b: Any) -> bool:
    return _as_set(a, "subset") <= _as_set(b, "subset")


def issuperset(a: Any, b: Any) -> bool:
    return _as_set(a, "superset") >= _as_set(b, "superset")


def contains(seq: Any, value: Any) -> bool:
    """The `in` test turned around: `list is contains(x)` (for `select('contains', x)`)."""
    try:
        return value in seq
    except TypeError as exc:
        raise FilterError(f"the 'contains' test: {exc}") from None


def isnan(value: Any) -> bool:
    try:
        return math.isnan(value)
    except TypeError:
        return False


_TRUE_WORDS = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE_WORDS = frozenset({"n", "no", "off", "0", "false", "f"})


def truthy(value: Any, convert_bool: bool = False) -> bool:
    """Python truth; with convert_bool, Ansible's boolean words first (`'no'` is false);
    a value that is no boolean word keeps its Python truth, as in Ansible."""
    if convert_bool:
        word = value.lower().strip() if isinstance(value, str) else value
        if isinstance(word, str | int | float | bool):
            if word in _TRUE_WORDS or (not isinstance(word, str) and word == 1):
                return True
            if word in _FALSE_WORDS or (not isinstance(word, str) and word == 0):
                return False
    return bool(value)


def falsy(value: Any, convert_bool: bool = False) -> bool:
    return not truthy(value, convert_bool)


def _any(value: Any) -> bool:
    return any(_items(value, "any"))


def _all(value: Any) -> bool:
    return all(_items(value, "all"))


TESTS: dict[str, Callable[..., bool]] = {
    "match": match,
    "search": search,
    "regex": regex,
    "version": version_compare,
    "version_compare": version_compare,
    "subset": issubset,
    "issubset": issubset,
    "superset": issuperset,
    "issuperset": issuperset,
    "contains": contains,
    "nan": isnan,
    "isnan": isnan,
    "truthy": truthy,
    "falsy": falsy,
    "any": _any,
    "all": _all,
}
