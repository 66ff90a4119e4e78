"""The SSH connection without fabric: paramiko imported without invoke, and `Hop` giving
paramiko's `SSHClient.connect` the arguments fabric's Connection gave it."""

from __future__ import annotations

import getpass
import os
from typing import Any

import pytest
from tests.tools.freshpython import fresh

from provision.execution import ssh
from provision.execution.ssh import Hop


def test_paramiko_is_imported_without_invoke_and_invoke_still_imports_later() -> None:
    got = fresh(
        "import json, sys\n"
        "from provision.execution.paramikoimport import import_paramiko\n"
        "p = import_paramiko()\n"
        "import paramiko.config as c\n"
        "after = 'invoke' in sys.modules\n"
        "import invoke\n"
        "print(json.dumps({'same': p is sys.modules['paramiko'], 'invoke_after': after,"
        " 'config_invoke': c.invoke is None, 'later': invoke.__name__,"
        " 'client': hasattr(p, 'SSHClient')}))"
    )
    assert got == {
        "same": True,
        "invoke_after": False,
        "config_invoke": True,
        "later": "invoke",
        "client": True,
    }


def test_an_earlier_invoke_import_is_left_alone() -> None:
    got = fresh(
        "import json, sys, invoke\n"
        "from provision.execution.paramikoimport import import_paramiko\n"
        "import_paramiko()\n"
        "import paramiko.config as c\n"
        "print(json.dumps({'config_invoke': c.invoke is sys.modules['invoke']}))"
    )
    assert got == {"config_invoke": True}


def test_a_run_s_ssh_module_loads_neither_fabric_nor_invoke() -> None:
    got = fresh(
        "import json, sys\n"
        "from provision.execution import ssh\n"
        "ssh.Hop('127.0.0.1', 'root', 22, 10.0, {})\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('fabric', 'invoke', 'paramiko'))))"
    )
    assert "paramiko" in got
    assert not [m for m in got if m.split(".")[0] in ("fabric", "invoke")]


def test_threads_importing_at_once_all_get_the_whole_module() -> None:
    got = fresh(
        "import json, threading\n"
        "from provision.execution.paramikoimport import import_paramiko\n"
        "seen = []\n"
        "def go():\n"
        "    seen.append(hasattr(import_paramiko(), 'SSHClient'))\n"
        "ts = [threading.Thread(target=go) for _ in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(json.dumps(seen))"
    )
    assert got == [True] * 8


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.closed = 0
        self.transport: Any = None

    def connect(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        self.transport = FakeTransport()

    def get_transport(self) -> Any:
        return self.transport

    def close(self) -> None:
        self.closed += 1
        if self.transport is not None:
            self.transport.active = False


class FakeTransport:
    def __init__(self) -> None:
        self.active = True
        self.channels: list[tuple[Any, ...]] = []

    def open_channel(self, kind: str, dest_addr: Any, src_addr: Any) -> str:
        self.channels.append((kind, dest_addr, src_addr))
        return f"channel to {dest_addr[0]}:{dest_addr[1]}"


def hop(*args: Any, **kwargs: Any) -> Hop:
    made = Hop(*args, **kwargs)
    made.client = FakeClient()  # type: ignore[assignment]
    return made


# (timeout given, timeout paramiko gets): whole seconds, none at all below 1 s (as fabric)
TIMEOUTS = [(10.0, 10), (10.9, 10), (1.0, 1), (0.5, None), (600.0, 600)]


@pytest.mark.parametrize(("given", "passed"), TIMEOUTS)
def test_direct_connect_arguments(given: float, passed: int | None) -> None:
    sock = object()
    kwargs = {"banner_timeout": given, "look_for_keys": False, "key_filename": ["/k"]}
    target = hop("10.0.0.5", "rocky", 2222, given, kwargs)
    target.connect_kwargs["sock"] = sock
    target.open()
    expected = dict(kwargs, username="rocky", hostname="10.0.0.5", port=2222, sock=sock)
    if passed is not None:
        expected["timeout"] = passed
    assert target.client.calls == [expected]  # type: ignore[attr-defined]
    assert "sock" not in kwargs, "the caller's dict is not changed"
    target.open()  # open already: nothing more
    assert len(target.client.calls) == 1  # type: ignore[attr-defined]


def test_user_and_port_defaults_are_fabric_s() -> None:
    target = hop("h", "", 0, 10.0, {})
    target.open()
    call = target.client.calls[0]  # type: ignore[attr-defined]
    assert call["port"] == 22
    assert call["username"] == ssh.getpass.getuser()


def test_through_a_jump_host_the_socket_is_a_direct_tcpip_channel() -> None:
    jump = hop("jump.example", "ops", 22, 5.0, {})
    target = hop("10.1.2.3", "rocky", 2200, 5.0, {"look_for_keys": True}, jump)
    target.open()
    assert jump.client.calls[0]["hostname"] == "jump.example"  # type: ignore[attr-defined]
    assert jump.transport.channels == [("direct-tcpip", ("10.1.2.3", 2200), ("", 0))]
    assert target.client.calls[0]["sock"] == "channel to 10.1.2.3:2200"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("nc %h 22", "nc 10.1.2.3 22"),
        ("ssh -W %h:%p bastion", "ssh -W 10.1.2.3:22 bastion"),  # %p: 22, as fabric did
        ("nc 10.0.0.1 2222", "nc 10.0.0.1 2222"),
        ("sh -c 'exec nc \"$0\" 22' %h", "sh -c 'exec nc \"$0\" 22' 10.1.2.3"),
        ("x %r %u ~/y", f"x {getpass.getuser()} %u {os.path.expanduser('~')}/y"),
    ],
)
def test_a_proxy_command_is_expanded_as_fabric_did(
    command: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paramiko = ssh.import_paramiko()
    made: list[str] = []

    class FakeProxy:
        def __init__(self, line: str) -> None:
            made.append(line)

    monkeypatch.setattr(paramiko, "ProxyCommand", FakeProxy)
    target = hop("10.1.2.3", "rocky", 2200, 5.0, {}, command)
    target.open()
    assert made == [expected]
    assert isinstance(target.client.calls[0]["sock"], FakeProxy)  # type: ignore[attr-defined]


def test_close_only_an_open_connection() -> None:
    target = hop("h", "u", 22, 5.0, {})
    target.close()
    assert target.client.closed == 0  # type: ignore[attr-defined]
    target.open()
    target.close()
    target.close()
    assert target.client.closed == 1  # type: ignore[attr-defined]
