"""Play keys `serial` and `max_fail_percentage`: the forms Ansible accepts, and every other
value an InputError naming the playbook's line (no traceback, no host touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.playbook import Rolling, load_playbook


def load(tmp_path: Path, keys: str) -> Rolling:
    path = tmp_path / "site.yml"
    path.write_text(f"- hosts: all\n{keys}  tasks: []\n")
    return load_playbook(path)[0].rolling


@pytest.mark.parametrize(
    ("keys", "serial", "limit"),
    [
        ("", (), None),
        ("  serial: 2\n", (2,), None),
        ("  serial: '2'\n", (2,), None),
        ("  serial: 0\n", (0,), None),
        ("  serial: '30%'\n", ("30%",), None),
        ("  serial: ' 30% '\n", ("30%",), None),
        ("  serial: '12.5%'\n", ("12.5%",), None),
        ("  serial: '100%'\n", ("100%",), None),
        ("  serial: [1, '50%']\n", (1, "50%"), None),
        ("  serial: [1, 5, '10%', '50%']\n", (1, 5, "10%", "50%"), None),
        ("  max_fail_percentage: 0\n", (), 0.0),
        ("  max_fail_percentage: 30\n", (), 30.0),
        ("  max_fail_percentage: 12.5\n", (), 12.5),
        ("  max_fail_percentage: '30%'\n", (), 30.0),
        ("  max_fail_percentage: '30'\n", (), 30.0),
        ("  max_fail_percentage: 100\n", (), 100.0),
        ("  serial: 1\n  max_fail_percentage: 49\n", (1,), 49.0),
    ],
)
def test_accepted_forms(tmp_path: Path, keys: str, serial: tuple, limit: float | None) -> None:
    assert load(tmp_path, keys) == Rolling(serial, limit)


BAD = [
    ("  serial: -1\n", "0 or more"),
    ("  serial: true\n", "a host count, a percentage or a list"),
    ("  serial: null\n", "a host count, a percentage or a list"),
    ("  serial: 1.5\n", "a host count, a percentage or a list"),
    ("  serial: abc\n", "'abc'"),
    ("  serial: '-2'\n", "'-2'"),
    ("  serial: '--limit'\n", "'--limit'"),
    ("  serial: '../1'\n", "'../1'"),
    ("  serial: '0%'\n", "more than 0%"),
    ("  serial: '150%'\n", "at most 100%"),
    ("  serial: '5%%'\n", "'5%%'"),
    ("  serial: '1e3%'\n", "'1e3%'"),
    ("  serial: '1.2.3%'\n", "'1.2.3%'"),
    ("  serial: '%'\n", "'%'"),
    ("  serial: []\n", "empty list"),
    ("  serial: {a: 1}\n", "found a mapping"),
    ("  serial: [1, [2]]\n", "found a list"),
    ("  serial: '9999999999'\n", "'9999999999'"),
    ("  serial: '1\\n2'\n", "'1\\n2'"),
    ("  serial: '1\\r'\n", "'1\\r'"),
    ("  serial: '1\\v'\n", "'1\\x0b'"),
    ("  serial: '1\\f'\n", "'1\\x0c'"),
    ("  serial: '1\\x85'\n", "'1\\x85'"),
    ("  serial: '1\\u2028'\n", "'1\\u2028'"),
    ("  serial: '1\\u2029'\n", "'1\\u2029'"),
    ("  serial: '\\x1b[31m1'\n", "'\\x1b[31m1'"),
    ("  serial: '" + "9" * 500 + "%'\n", "a host count, a percentage"),
    ("  serial: '\u00b2'\n", "'²'"),  # a digit to str.isdigit, not to int()
    ("  serial: '\u0661'\n", "'١'"),
    ("  serial: '\u0661%'\n", "'١%'"),
    ("  max_fail_percentage: '\u00b2'\n", "found '²'"),
    ("  max_fail_percentage: -1\n", "from 0 to 100, found -1"),
    ("  max_fail_percentage: 101\n", "from 0 to 100, found 101"),
    ("  max_fail_percentage: .nan\n", "found nan"),
    ("  max_fail_percentage: .inf\n", "found inf"),
    ("  max_fail_percentage: true\n", "found true"),
    ("  max_fail_percentage: many\n", "found 'many'"),
    ("  max_fail_percentage: [10]\n", "found a list"),
    ("  max_fail_percentage: '150%'\n", "found '150%'"),
    ("  max_fail_percentage: '10\\n'\n", "found '10\\n'"),
]


@pytest.mark.parametrize(("keys", "words"), BAD)
def test_bad_values_name_the_line(tmp_path: Path, keys: str, words: str) -> None:
    yaml_keys = keys.replace("'", '"') if "\\" in keys else keys
    with pytest.raises(InputError) as caught:
        load(tmp_path, yaml_keys)
    assert caught.value.location.line == 2, caught.value
    assert words in str(caught.value), str(caught.value)
    assert str(caught.value.location.file).endswith("site.yml")
