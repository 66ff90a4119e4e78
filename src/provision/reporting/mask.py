"""Secret masking applied to every string this tool prints or writes.

What is masked, for every secret value (a variable named under `secrets:`, a connection
password, an argument of a `secret: true` task):

- structured values recursively: every leaf of a list or mapping (mapping keys are
  names, not secrets); numbers as their text; `true`/`false`/null are not secrets;
- of every text leaf: the whole text, each of its lines (split at every line break
  Python knows: \\n, \\r\\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029) and each
  line without its surrounding blanks;
- each of those fragments also as the common template filters transform it: URL-quoted
  (`urlencode`, quote with no safe character, quote_plus), upper, lower, title and
  capitalized case, reversed, and base64 (standard and URL-safe alphabet);
- each of all those also in the forms it takes when quoted for a shell, escaped for JSON
  (ASCII or not), inside a Python repr, or escaped for the terminal;
- a fragment shorter than MIN_SECRET_LENGTH characters (blanks around it not counted),
  or made only of `*`, is not masked: masking `a` or `}` everywhere would garble every
  line while hiding nothing.

Other transformations are NOT masked: a slice of a secret, a secret wrapped or padded,
base64 of a text that merely contains it, custom filters. Mark such values `secret: true`
(the task) or do not print them.

Every value read from an ansible-vault (`add_vault_value`), and another host's connection
password read through `hostvars` (`add_run_secret`), is a secret of every Masker made in
this process, whoever makes it: such a value needs no `secrets:` entry.

Masking repeats until no fragment is left, so one replacement cannot join the pieces of
another. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from provision.reporting.terminal import escape_control

MASK = "********"
MIN_SECRET_LENGTH = 3
E = TypeVar("E", bound=BaseException)
LINE_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def secret_leaves(value: Any) -> list[str]:
    """The text leaves of a secret value, depth first: strings as they are, numbers as
    their text; lists, tuples, sets and mapping values walked; booleans and null skipped."""
    leaves: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            leaves.append(item)
        elif isinstance(item, bytes | bytearray):
            leaves.append(bytes(item).decode("utf-8", errors="replace"))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(reversed(list(item)))
        else:
            leaves.append(str(item))
    return leaves


def is_fragment(text: str) -> bool:
    """Long enough to be masked: MIN_SECRET_LENGTH characters besides blanks, not all `*`."""
    core = text.strip()
    return len(core) >= MIN_SECRET_LENGTH and core.strip("*") != ""


def fragments(text: str) -> list[str]:
    """The pieces of one secret text masked wherever they appear: the whole text, each
    line, each line stripped of blanks (those long enough, see `is_fragment`)."""
    pieces = [text, text.strip()]
    for line in LINE_BREAKS.split(text):
        pieces += [line, line.strip()]
    return [p for p in dict.fromkeys(pieces) if is_fragment(p)]


_WORD_BEGINNING = re.compile(r"([-\s({\[<]+)")


def transforms(fragment: str) -> list[str]:
    """A fragment as the common filters turn it: itself, URL-quoted three ways, in four
    letter cases (Jinja's `title` and Python's differ), reversed, and base64 (standard and
    URL-safe, with and without padding)."""
    encoded = fragment.encode("utf-8", errors="surrogatepass")
    jinja_title = "".join(
        part[0].upper() + part[1:].lower() for part in _WORD_BEGINNING.split(fragment) if part
    )
    standard = base64.b64encode(encoded).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(encoded).decode("ascii")
    candidates = [
        fragment,
        quote(fragment, safe="", errors="surrogatepass"),
        quote(fragment, errors="surrogatepass"),
        quote_plus(fragment, errors="surrogatepass"),
        fragment.upper(),
        fragment.lower(),
        fragment.title(),
        jinja_title,
        fragment.capitalize(),
        fragment[::-1],
        standard,
        standard.rstrip("="),
        urlsafe,
        urlsafe.rstrip("="),
    ]
    return list(dict.fromkeys(candidates))


def forms(fragment: str) -> list[str]:
    """A fragment and each of its `transforms` as it appears raw, shell-quoted (alone, or
    inside a quoted word), JSON-escaped, inside a repr, or escaped for the terminal."""
    found: list[str] = []
    for text in transforms(fragment):
        found += _escaped_forms(text)
    found += [f for f in _yaml_forms(fragment) if is_fragment(f)]
    return list(dict.fromkeys(found))


def _folded_pattern(text: str) -> re.Pattern[str]:
    """`text` as YAML may fold it at any of its spaces: the space turned into a line break
    and the next line's indent (plain and quoted scalars), or a `\\` line end (double
    quotes)."""
    fold = r"(?:[ ]|\n[ \t]*|\\\n[ \t]*\\?)"
    return re.compile(fold.join(re.escape(word) for word in text.split(" ")))


def _yaml_forms(fragment: str) -> list[str]:
    """A text inside a YAML single-quoted (`'` doubled) or double-quoted scalar (YAML's
    own escapes: `\\e`, `\\_`, `\\N`...), as `to_yaml` writes it."""
    import yaml

    found = []
    for style in ("'", '"'):
        for unicode in (True, False):
            text = yaml.safe_dump(
                fragment, default_style=style, allow_unicode=unicode, width=float("inf")
            )
            found.append(text.removesuffix("\n").removesuffix("\n...").strip()[1:-1])
    return found


def _escaped_forms(fragment: str) -> list[str]:
    """A text as it appears raw, shell-quoted (alone, or inside a quoted word),
    JSON-escaped, inside a repr, or escaped for the terminal."""
    candidates = [
        fragment,
        shlex.quote(fragment),
        fragment.replace("'", "'\"'\"'"),
        json.dumps(fragment)[1:-1],
        json.dumps(fragment, ensure_ascii=False)[1:-1],
        _repr_inner(fragment, "'"),
        _repr_inner(fragment, '"'),
        escape_control(fragment),
        escape_control(fragment, keep_tab=True),
    ]
    return [c for c in dict.fromkeys(candidates) if is_fragment(c)]


def _repr_inner(text: str, quote: str) -> str:
    """`text` as it appears inside a Python repr delimited by `quote` (a repr of a longer
    text, say a list, picks its quote from the whole, so both kinds are masked)."""
    out = []
    for char in text:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable() or char in "'\"":
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


_VAULT_VALUES: list[Any] = []


def add_vault_value(value: Any) -> None:
    """A value decrypted from an ansible-vault: masked by every Masker made from now on."""
    if secret_leaves(value):
        _VAULT_VALUES.append(value)


def add_run_secret(value: Any) -> None:
    """A secret found while compiling (another host's password read through `hostvars`):
    masked by every Masker made from now on, as vault values are."""
    add_vault_value(value)


def vault_values() -> list[Any]:
    return list(_VAULT_VALUES)


def forget_vault_values() -> None:
    """For tests: a fresh process's state."""
    _VAULT_VALUES.clear()


class Masker:
    """Replaces every form of every secret fragment (and of every vault value) with MASK."""

    def __init__(self, secrets: Iterable[Any] | None = None) -> None:
        self._secrets: list[str] = []
        self._known: set[str] = set()
        self._folded: dict[str, re.Pattern[str]] = {}
        for value in [*_VAULT_VALUES, *(secrets or [])]:
            self.add(value)

    def add(self, value: Any) -> None:
        """A secret: a text, a number or a structure of them (see the module text)."""
        new = [
            form
            for leaf in secret_leaves(value)
            for fragment in fragments(leaf)
            for form in forms(fragment)
            if form not in self._known
        ]
        if new:
            self._known.update(new)
            self._secrets = sorted(self._known, key=lambda s: (-len(s), s))
        for leaf in secret_leaves(value):
            for fragment in fragments(leaf):
                for text in {fragment, *_yaml_forms(fragment)}:
                    if " " in text.strip() and text not in self._folded and is_fragment(text):
                        self._folded[text] = _folded_pattern(text)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        # Every replacement removes at least one character other than `*` (a fragment is
        # never all `*`), so this ends; the usual case is one pass.
        changed = True
        while changed:
            changed = False
            for secret in self._secrets:
                if secret in text:
                    text = text.replace(secret, MASK)
                    changed = True
        if "\n" in text:  # a secret folded over lines by YAML (to_yaml, to_nice_yaml)
            for pattern in self._folded.values():
                text = pattern.sub(MASK, text)
        return text

    def deep(self, value: Any, keys: bool = True) -> Any:
        """Mask every string inside a JSON-like value (mapping keys too, unless keys=False)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {(self(str(k)) if keys else k): self.deep(v, keys) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v, keys) for v in value]
        return value


def mask_error(error: E, masker: Masker) -> E:
    """An input error with its message and hint masked (the same object, for its type
    and location)."""
    if masker:
        for attr in ("message", "hint"):
            text = getattr(error, attr, None)
            if isinstance(text, str):
                setattr(error, attr, masker(text))
        error.args = tuple(masker(a) if isinstance(a, str) else a for a in error.args)
    return error
