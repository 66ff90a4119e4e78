"""Fuzzing the connection-value checks: random text and bytes give a value provision can
use safely, or ConnValueError / InputError, never another exception."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from provision.errors import InputError
from provision.project.connvalues import (
    ConnValueError,
    check_host,
    check_port,
    check_user,
    parse_jump,
    parse_known_hosts,
)

FUZZ = settings(max_examples=200, deadline=None)
# text near the grammar (so that many values pass) as well as anything at all
NEAR = st.text(alphabet=string.ascii_letters + string.digits + "-._:@[],%/ \t\n", max_size=80)
ANY = st.one_of(NEAR, st.text(max_size=80))


def _safe(value: str) -> None:
    assert value and not value.startswith("-")
    assert not any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in value)
    assert value.isascii()


@FUZZ
@given(ANY)
def test_hosts(value: str) -> None:
    try:
        host = check_host(value)
    except ConnValueError:
        return
    _safe(host)
    assert "@" not in host and not host.startswith("[")
    assert check_host(host) == host


@FUZZ
@given(st.one_of(ANY, st.integers(), st.floats(), st.booleans(), st.none()))
def test_ports(value: object) -> None:
    try:
        port = check_port(value)
    except ConnValueError:
        return
    assert type(port) is int and 1 <= port <= 65535


@FUZZ
@given(ANY)
def test_users(value: str) -> None:
    try:
        _safe(check_user(value).encode("ascii", "replace").decode())
    except ConnValueError:
        return


@FUZZ
@given(ANY)
def test_jumps(value: str) -> None:
    try:
        hops = parse_jump(value)
    except ConnValueError:
        return
    for hop in hops:
        _safe(hop.host)
        assert 1 <= hop.port <= 65535
        assert parse_jump(hop.spec()) == (hop,)


@FUZZ
@given(st.one_of(st.binary(max_size=300), NEAR.map(str.encode)))
def test_known_hosts(data: bytes) -> None:
    try:
        parse_known_hosts(data, "kh")
    except InputError as exc:
        assert exc.location is not None and exc.location.line is not None
