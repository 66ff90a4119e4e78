"""A static check that refuses regular expressions which could backtrack for ever.

Python's `re` has no time limit, so a pattern from a project matched against text from a
host (or a host name) could hang the controller. The shapes known to backtrack
exponentially are refused before any matching: a repetition inside a repetition
(`(a+)+`, `(\\w+\\s?)*`), an alternation under a repetition (`(a|ab)*`) and
back-references. Conservative: some harmless patterns are refused too; a character
class (`[ab]+`) or an anchored, unnested pattern says the same thing safely.
"""

from __future__ import annotations

from typing import Any


def backtracking_risk(source: str) -> str:
    """Why a regex may backtrack catastrophically, or "" (a conservative static check).
    `source` must already compile."""
    try:
        import re._parser as sre_parse  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        import sre_parse  # type: ignore[no-redef]
    constants = sre_parse  # the opcode names live beside the parser
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT}
    possessive = getattr(constants, "POSSESSIVE_REPEAT", None)
    if possessive is not None:
        repeats.add(possessive)

    def walk(items: Any, under_repeat: bool) -> str:
        for op, arg in items:
            if op in (constants.GROUPREF, getattr(constants, "GROUPREF_EXISTS", None)):
                return "back-references are not supported"
            if op in repeats:
                low, high, body = arg
                if under_repeat and high != low:
                    return "a repetition inside a repetition"
                found = walk(body, under_repeat or high > 1)
                if found:
                    return found
            elif op == constants.BRANCH:
                if under_repeat:
                    return "an alternation (|) inside a repetition"
                for branch in arg[1]:
                    found = walk(branch, under_repeat)
                    if found:
                        return found
            elif op == constants.SUBPATTERN:
                found = walk(arg[-1], under_repeat)
                if found:
                    return found
            elif op in (constants.ASSERT, constants.ASSERT_NOT):
                found = walk(arg[1], under_repeat)
                if found:
                    return found
            elif op == getattr(constants, "ATOMIC_GROUP", None):
                found = walk(arg, under_repeat)
                if found:
                    return found
        return ""

    return walk(sre_parse.parse(source), False)


SAFE_HINT = (
    "use a character class ([ab]+) instead of nested or alternated repetitions,"
    " and no back-references"
)
