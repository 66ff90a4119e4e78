"""Commands given as a list of words (argv form): each word becomes exactly one quoted word.

`command: {argv: [...]}`, `unless: [...]`, `only_if: [...]` and `assert: {command: [...]}`
take a YAML list instead of a shell string. Each element is rendered as plain text (no
shell syntax applies to it) and joined with `shlex.join`, so no element can add a word,
an option separator or a command, whatever its value.
"""

from __future__ import annotations

import shlex
from typing import Any

from provision.project.shellsafe import unfit_for_argument
from provision.project.yamlfile import type_name


def argv_words(value: Any, what: str) -> list[str]:
    """The words of an argv list; a message (ValueError) for anything but a list of
    single values."""
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of words, found {type_name(value)}")
    if not value:
        raise ValueError(f"{what} is an empty list; give at least the program to run")
    words = []
    for number, element in enumerate(value, 1):
        if isinstance(element, bool) or not isinstance(element, str | int | float):
            raise ValueError(
                f"{what}: word {number} must be a single value (text or a number), found "
                f"{type_name(element)}; a list does not spread into several words"
            )
        word = str(element)
        problem = unfit_for_argument(word)
        if problem:
            raise ValueError(f"{what}: word {number} holds {problem}")
        words.append(word)
    if not words[0]:
        raise ValueError(f"{what}: the program (word 1) is empty")
    return words


def script_of(value: Any, what: str) -> str:
    """A shell string as given (already checked by the template engine), or the words of an
    argv list joined, each quoted."""
    if isinstance(value, str):
        return value
    return shlex.join(argv_words(value, what))
