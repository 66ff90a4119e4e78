"""A TCP relay on the controller that adds round-trip time in front of each lab host's sshd.

`tc netem` would do this in the kernel, but these machines' kernels lack `sch_netem`
(`tc qdisc add dev lo root netem delay 10ms`, in a fresh network namespace, says "Error:
Specified qdisc kind is unknown."; there is no /proc/modules and no `modprobe`: the
kernel loads no modules), so the benchmark puts this relay between the tools and
the hosts instead: one listener per host on 127.0.0.1 (an ephemeral port), forwarding to
the host's address and port.

What it emulates (RTT = the configured round-trip time):
- the TCP handshake: the relay opens the connection to the host one RTT after it accepted
  the client's (a real connect costs one RTT before data flows);
- every byte, each direction: delivered RTT/2 after the relay read it, in order (a byte
  queue per direction with a deadline per chunk; no bandwidth limit, no loss);
- end of stream: a half-close is passed on after the same delay; the connection closes
  when both directions ended.

    relay = DelayRelay([("10.200.0.11", 22)], rtt=0.080)
    ports = relay.start()          # [local port per target], serving in a thread
    ...                            # ssh -p ports[0] rocky@127.0.0.1
    relay.stop()

`python bench/relay.py --rtt-ms 80 10.200.0.11:22` runs one in the foreground and prints
the local ports. Only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import threading
import time
from collections.abc import Sequence

LISTEN = "127.0.0.1"
CHUNK = 65536


class DelayRelay:
    """Relays 127.0.0.1:<port i> to targets[i], adding `rtt` seconds of round trip."""

    def __init__(self, targets: Sequence[tuple[str, int]], rtt: float) -> None:
        if rtt < 0:
            raise ValueError(f"rtt must be >= 0, got {rtt}")
        self.targets = list(targets)
        self.rtt = rtt
        self.ports: list[int] = []
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> list[int]:
        """Listen (one port per target), serve in a daemon thread; the local ports."""
        self._thread = threading.Thread(target=self._run, name="delay-relay", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"relay could not start: {self._error}") from self._error
        return list(self.ports)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> DelayRelay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            for target in self.targets:
                server = loop.run_until_complete(
                    asyncio.start_server(
                        lambda r, w, t=target: self._serve(r, w, t), LISTEN, 0, reuse_address=True
                    )
                )
                self._servers.append(server)
                self.ports.append(server.sockets[0].getsockname()[1])
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for server in self._servers:
                server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    # ---------------------------------------------------------------- one connection

    async def _serve(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        target: tuple[str, int],
    ) -> None:
        self.connections += 1
        _nodelay(client_writer)
        up_queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        one_way = self.rtt / 2
        # read from the client at once (its bytes get their deadlines as they arrive)
        reading = asyncio.ensure_future(_read_into(client_reader, up_queue, one_way))
        try:
            if self.rtt:
                await asyncio.sleep(self.rtt)  # the TCP handshake's round trip
            host_reader, host_writer = await asyncio.open_connection(*target)
        except (OSError, asyncio.CancelledError):
            reading.cancel()
            client_writer.close()
            return
        _nodelay(host_writer)
        down_queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        tasks = [
            reading,
            asyncio.ensure_future(_write_from(up_queue, host_writer)),
            asyncio.ensure_future(_read_into(host_reader, down_queue, one_way)),
            asyncio.ensure_future(_write_from(down_queue, client_writer)),
        ]
        try:
            await asyncio.gather(*tasks)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a reset, or the relay stopping
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_writer, host_writer):
                with contextlib.suppress(Exception):
                    writer.close()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _read_into(
    reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes | None]], delay: float
) -> None:
    """Each chunk read goes on the queue with the time it may be delivered; None = EOF."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            chunk = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, chunk or None))
            if not chunk:
                return
    except OSError:
        queue.put_nowait((loop.time() + delay, None))


async def _write_from(
    queue: asyncio.Queue[tuple[float, bytes | None]], writer: asyncio.StreamWriter
) -> None:
    """Deliver each chunk at its deadline, in order; at EOF pass the half-close on."""
    loop = asyncio.get_running_loop()
    while True:
        deadline, chunk = await queue.get()
        wait = deadline - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if chunk is None:
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
            return
        writer.write(chunk)
        await writer.drain()


# -------------------------------------------------------------------- measuring it


class EchoServer:
    """A TCP echo server on 127.0.0.1 in a thread (to measure the relay's round trip)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LISTEN, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := conn.recv(CHUNK):
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


def echo_round_trips(port: int, count: int = 5) -> tuple[float, list[float]]:
    """(seconds to connect and get the first echo, [seconds per later echo round trip])
    through 127.0.0.1:port, which must lead to an echo server."""
    started = time.perf_counter()
    with socket.create_connection((LISTEN, port), timeout=30) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"x")
        _recv_exactly(conn, 1)
        first = time.perf_counter() - started
        trips = []
        for _ in range(count):
            started = time.perf_counter()
            conn.sendall(b"ping")
            _recv_exactly(conn, 4)
            trips.append(time.perf_counter() - started)
    return first, trips


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the echo connection closed early")
        data += chunk
    return data


def self_check(rtt: float, count: int = 5) -> dict[str, float]:
    """The relay's added round trip measured on loopback: echo RTT through a relay set to
    `rtt` minus the echo RTT without it (medians, seconds)."""
    echo = EchoServer()
    try:
        _, direct = echo_round_trips(echo.port, count)
        with DelayRelay([(LISTEN, echo.port)], rtt) as relay:
            connect, relayed = echo_round_trips(relay.ports[0], count)
    finally:
        echo.close()
    return {
        "configured_rtt": rtt,
        "echo_rtt_direct": statistics.median(direct),
        "echo_rtt_relayed": statistics.median(relayed),
        "added_rtt": statistics.median(relayed) - statistics.median(direct),
        "connect_and_first_echo": connect,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("targets", nargs="+", help="HOST:PORT to relay to")
    args = parser.parse_args(argv)
    targets = []
    for text in args.targets:
        host, _, port = text.rpartition(":")
        targets.append((host, int(port)))
    relay = DelayRelay(targets, args.rtt_ms / 1000)
    for (host, port), local in zip(targets, relay.start(), strict=True):
        print(f"127.0.0.1:{local} -> {host}:{port} (+{args.rtt_ms:g} ms RTT)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
