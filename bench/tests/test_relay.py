"""The latency relay (bench/relay.py), on loopback with a small echo server: bytes pass
intact and in order, both ways, half-close included; a round trip through it takes at least
the configured RTT (a correctness check of the relay's delay: it must never deliver early),
the first exchange pays the emulated TCP handshake too; it listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import relay  # noqa: E402


@pytest.fixture
def echo() -> Iterator[relay.EchoServer]:
    server = relay.EchoServer()
    yield server
    server.close()


RTTS = [0.0, 0.004, 0.02, 0.05]


@pytest.mark.parametrize("rtt", RTTS)
def test_every_round_trip_takes_at_least_the_configured_rtt(
    echo: relay.EchoServer, rtt: float
) -> None:
    with relay.DelayRelay([("127.0.0.1", echo.port)], rtt) as r:
        first, trips = relay.echo_round_trips(r.ports[0], count=4)
    assert len(trips) == 4
    assert min(trips) >= rtt, (rtt, trips)
    # connect (one RTT: the emulated handshake) and the first echo (one more RTT, of which
    # the client's byte already waited half while the handshake ran)
    assert first >= 1.5 * rtt, (rtt, first)


@pytest.mark.parametrize("rtt", [0.02, 0.05])
def test_self_check_reports_the_added_rtt(rtt: float) -> None:
    found = relay.self_check(rtt, count=3)
    assert found["configured_rtt"] == rtt
    assert found["echo_rtt_relayed"] >= rtt
    assert found["added_rtt"] >= rtt - found["echo_rtt_direct"]
    assert found["connect_and_first_echo"] >= 1.5 * rtt


PAYLOADS = [
    b"\x00",
    b"SSH-2.0-OpenSSH_9.2\r\n",
    bytes(range(256)) * 3,
    b"\n\r\v\f\x85" + "\u2028\u2029".encode() + b"\x1b[31m",
    os.urandom(1 << 20),  # 1 MiB: many chunks, order kept
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["nul", "banner", "all-bytes", "breaks", "1MiB"])
@pytest.mark.parametrize("rtt", [0.0, 0.01])
def test_bytes_arrive_intact_and_in_order(
    echo: relay.EchoServer, payload: bytes, rtt: float
) -> None:
    with relay.DelayRelay([("127.0.0.1", echo.port)], rtt) as r:
        with socket.create_connection(("127.0.0.1", r.ports[0]), timeout=20) as conn:
            sender = threading.Thread(target=conn.sendall, args=(payload,))
            sender.start()
            got = relay._recv_exactly(conn, len(payload))
            sender.join()
    assert got == payload


def test_half_close_is_passed_on(echo: relay.EchoServer) -> None:
    with relay.DelayRelay([("127.0.0.1", echo.port)], 0.01) as r:
        with socket.create_connection(("127.0.0.1", r.ports[0]), timeout=20) as conn:
            conn.sendall(b"last words")
            conn.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := conn.recv(100):
                data += chunk
    assert data == b"last words"  # then EOF: the echo server saw ours and closed


def test_one_port_per_target_each_to_its_own(echo: relay.EchoServer) -> None:
    other = relay.EchoServer()
    try:
        with relay.DelayRelay([("127.0.0.1", echo.port), ("127.0.0.1", other.port)], 0) as r:
            assert len(set(r.ports)) == 2
            for port in r.ports:
                relay.echo_round_trips(port, 1)
            assert r.connections == 2
    finally:
        other.close()


def test_listens_on_loopback_only(echo: relay.EchoServer) -> None:
    with relay.DelayRelay([("127.0.0.1", echo.port)], 0) as r:
        for sock in r._servers[0].sockets:
            assert sock.getsockname()[0] == "127.0.0.1"


def test_unreachable_target_closes_the_client() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    with relay.DelayRelay([("127.0.0.1", port)], 0) as r:
        with socket.create_connection(("127.0.0.1", r.ports[0]), timeout=5) as conn:
            started = time.monotonic()
            assert conn.recv(10) == b""
            assert time.monotonic() - started < 5


@pytest.mark.parametrize("rtt", [-0.001, -1.0])
def test_negative_rtt_is_refused(rtt: float) -> None:
    with pytest.raises(ValueError, match="rtt"):
        relay.DelayRelay([("127.0.0.1", 22)], rtt)


def test_stop_twice_and_stop_unstarted_are_harmless(echo: relay.EchoServer) -> None:
    r = relay.DelayRelay([("127.0.0.1", echo.port)], 0)
    r.stop()
    r.start()
    r.stop()
    r.stop()
