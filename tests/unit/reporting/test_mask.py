"""Masking rules as tables: which pieces of a secret are masked, in which forms."""

from __future__ import annotations

import base64
import json
import shlex
import urllib.parse

import jinja2.filters
import pytest

from provision.errors import InputError, Location
from provision.reporting.mask import (
    MASK,
    MIN_SECRET_LENGTH,
    Masker,
    fragments,
    is_fragment,
    mask_error,
    secret_leaves,
)
from provision.reporting.terminal import escape_control

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDh0c2sF1qZzCq7mS9mB1xGfW3QeLxL7o3cM0Y8jwAAAJjw9T8E8PU/BAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)

LEAVES = [
    ("text", "abc", ["abc"]),
    ("number", 123456, ["123456"]),
    ("float", 1.5, ["1.5"]),
    ("bool and null skipped", [True, None, False], []),
    ("list", ["one1", "two2"], ["one1", "two2"]),
    ("dict values, not keys", {"user": "u-secret", "pw": "p-secret"}, ["u-secret", "p-secret"]),
    ("nested", {"a": [{"b": ["deep-1", 7777]}], "c": ("t-1",)}, ["deep-1", "7777", "t-1"]),
    ("bytes", b"raw-bytes", ["raw-bytes"]),
    ("set", {"only-one"}, ["only-one"]),
    ("empty", [], []),
]


@pytest.mark.parametrize(("case", "value", "leaves"), LEAVES, ids=[c[0] for c in LEAVES])
def test_secret_leaves(case: str, value: object, leaves: list[str]) -> None:
    assert secret_leaves(value) == leaves


FRAGMENTS = [
    ("one line", "Hunter2", ["Hunter2"]),
    ("too short", "ab", []),
    ("short after strip", "  ab  ", []),
    ("stars only", "*****", []),
    ("lf", "line-one\nline-two", ["line-one\nline-two", "line-one", "line-two"]),
    ("crlf", "aaa\r\nbbb", ["aaa\r\nbbb", "aaa", "bbb"]),
    ("cr", "aaa\rbbb", ["aaa\rbbb", "aaa", "bbb"]),
    ("vt ff", "aaa\vbbb\fccc", ["aaa\vbbb\fccc", "aaa", "bbb", "ccc"]),
    ("nel", "aaa\x85bbb", ["aaa\x85bbb", "aaa", "bbb"]),
    ("unicode separators", "aaa\u2028bbb\u2029ccc", ["aaa\u2028bbb\u2029ccc", "aaa", "bbb", "ccc"]),
    ("file separators", "aaa\x1cbbb\x1dccc\x1eddd", None),
    ("blank lines and short lines", "key\n\nab\n  indented  \n", None),
]


@pytest.mark.parametrize(("case", "text", "expected"), FRAGMENTS, ids=[c[0] for c in FRAGMENTS])
def test_fragments(case: str, text: str, expected: list[str] | None) -> None:
    found = fragments(text)
    if expected is not None:
        assert found == expected
    assert all(is_fragment(f) for f in found)
    for line in text.splitlines():
        if is_fragment(line):
            assert line.strip() in found


def test_pem_key_every_line_masked_in_a_diff() -> None:
    masker = Masker([PEM])
    diff = ["--- before: /k", "+++ after: /k", *("+" + line for line in PEM.splitlines())]
    masked = [masker(line) for line in diff]
    assert masked[2:] == ["+" + MASK] * 4
    for line in PEM.splitlines():
        assert line not in "\n".join(masked)


NASTY = 'pa\'ss "w\\0rd"\t$(x)\x1b[0m\u202e é'

FORMS = [
    ("raw", lambda s: f"x={s};"),
    ("shell word", lambda s: f"echo {shlex.quote(s)} > /dev/null"),
    ("inside a quoted word", lambda s: shlex.join([f"--password={s}"])),
    ("json ascii", lambda s: json.dumps({"k": s})),
    ("json unicode", lambda s: json.dumps({"k": s}, ensure_ascii=False)),
    ("repr", lambda s: f"found a string ({s!r})"),
    ("repr in a list", lambda s: repr([s, 'a"b'])),
    ("str of a dict", lambda s: str({"k": s})),
    ("terminal escaped", lambda s: escape_control(f"name {s}")),
    ("terminal escaped, tabs kept", lambda s: escape_control(f"+{s}", keep_tab=True)),
]


@pytest.mark.parametrize("secret", [NASTY, "plain-secret", "it's", 'say "hi"', "a\\b\\c"])
@pytest.mark.parametrize(("case", "render"), FORMS, ids=[c[0] for c in FORMS])
def test_every_form_is_masked(case: str, render, secret: str) -> None:
    masker = Masker([secret])
    shown = masker(render(secret))
    assert MASK in shown
    for piece in (secret, shlex.quote(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1]):
        assert piece not in shown, (case, shown)


@pytest.mark.parametrize(
    "value",
    [
        ["elem-one", "elem-two"],
        {"db": {"user": "admin-user", "password": "pw-12345"}},
        [["a1b2c3", ["d4e5f6"]], {"k": "g7h8i9"}],
        {"key": PEM, "port": 4242424},
    ],
)
def test_structured_secret_masks_each_leaf(value: object) -> None:
    masker = Masker([value])
    for leaf in secret_leaves(value):
        for line in leaf.splitlines():
            if len(line.strip()) >= MIN_SECRET_LENGTH:
                assert line.strip() not in masker(f"one leaf alone: {line.strip()} !")
    assert "leaf alone" in masker("one leaf alone: x")


def test_short_values_and_common_text_are_left_alone() -> None:
    masker = Masker(["a", "ab", "**", "", "   ", None, True, "xyz\nq\n"])
    assert masker("a ab ** q xyz true True") == f"a ab ** q {MASK} true True"


def test_a_mask_never_rebuilds_a_secret() -> None:
    # after "abc" is masked, "**x" would appear; masking repeats until nothing is left
    masker = Masker(["abc", "*x*x"])
    shown = masker("abc" + "x*x")
    assert set(shown) == {"*"}, shown


def test_masker_is_false_without_secrets() -> None:
    assert not Masker([])
    assert not Masker(["a"])
    assert Masker(["abc"])


def test_deep_masks_values_and_optionally_keys() -> None:
    masker = Masker(["s3cret"])
    doc = {"s3cret-host": {"status": "s3cret!", "list": ["x s3cret", 1, None]}}
    assert masker.deep(doc) == {
        f"{MASK}-host": {"status": f"{MASK}!", "list": [f"x {MASK}", 1, None]}
    }
    assert list(masker.deep(doc, keys=False)) == ["s3cret-host"]


def test_mask_error_masks_message_and_hint_in_place() -> None:
    error = InputError("found a string ('Hunter2')", Location("f.yml", 3), hint="try Hunter2")
    same = mask_error(error, Masker(["Hunter2"]))
    assert same is error
    assert "Hunter2" not in str(error) and "f.yml:3" in str(error)
    assert MASK in error.message and MASK in error.hint
    untouched = InputError("Hunter2")
    assert mask_error(untouched, Masker([])).message == "Hunter2"


# ------------------------------------------------------------ transformed secrets

TRANSFORMED = [
    ("urlencode (safe /)", "http://u:{}@h/", urllib.parse.quote),
    ("quote, no safe char", "http://u:{}@h/", lambda s: urllib.parse.quote(s, safe="")),
    ("quote_plus", "q={}&x=1", urllib.parse.quote_plus),
    ("upper", "PW={}", str.upper),
    ("lower", "pw={}", str.lower),
    ("title", "[{}]", str.title),
    ("jinja title", "[{}]", jinja2.filters.do_title),
    ("capitalize", "<{}>", str.capitalize),
    ("reversed", "r={}", lambda s: s[::-1]),
    ("base64", "Basic {}", lambda s: base64.b64encode(s.encode()).decode()),
    ("base64 urlsafe", "t={}", lambda s: base64.urlsafe_b64encode(s.encode()).decode()),
    ("base64 unpadded", "t={}", lambda s: base64.b64encode(s.encode()).decode().rstrip("=")),
    ("upper, json", '{{"k": "{}"}}', lambda s: json.dumps(s.upper())[1:-1]),
    ("reversed, shell", "echo {}", lambda s: shlex.quote(s[::-1])),
]
TRANSFORMED_SECRETS = [
    "Pa ss/w+rd?&=",
    "it's-a Secret",
    "mIxEd-CaSe-9",
    "ünïcødé pässwörd",
    'a\\b"c',
]


@pytest.mark.parametrize("secret", TRANSFORMED_SECRETS)
@pytest.mark.parametrize(
    ("case", "template", "transform"), TRANSFORMED, ids=[c[0] for c in TRANSFORMED]
)
def test_transformed_forms_are_masked(case: str, template: str, transform, secret: str) -> None:
    """A secret as a filter prints it is masked whole: only the surrounding text is left."""
    shown = Masker([secret])(template.format(transform(secret)))
    assert shown == template.format(MASK), case


def test_transforms_of_short_fragments_are_left_alone() -> None:
    masker = Masker(["ab"])
    assert masker("AB ba YWI= ab") == "AB ba YWI= ab"
