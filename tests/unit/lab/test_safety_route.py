"""The lab range stays unreachable from the machine after `lab down`: a plan of the lab
inventory while the lab is down must fail on the machine, not send packets out."""

from __future__ import annotations

import pytest

from provision.lab import config, core, net


@pytest.fixture
def ip_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(net, "run", lambda argv, **kw: calls.append(list(argv)))
    monkeypatch.setattr(net, "link_exists", lambda name: True)
    monkeypatch.setattr(
        net, "_ip_json", lambda *args: [{"dst": config.SAFETY_ROUTE}] if "route" in args else []
    )
    return calls


def _routes(calls: list[list[str]]) -> list[list[str]]:
    return [c for c in calls if c[:2] == ["ip", "route"]]


def test_removing_the_bridge_keeps_the_safety_route(ip_calls: list[list[str]]) -> None:
    assert net.remove_bridge() is True
    assert ["ip", "link", "del", config.BRIDGE] in ip_calls
    assert _routes(ip_calls) == []


def test_lab_down_leaves_the_range_unreachable(
    ip_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setattr(config, "STATE_ROOT", tmp_path / "state")
    monkeypatch.setattr(core, "check_prerequisites", lambda build: None)
    monkeypatch.setattr(core, "lab_lock", _no_lock)
    monkeypatch.setattr(core, "running_hosts", list)
    monkeypatch.setattr(core, "_known_host_names", set)
    monkeypatch.setattr(core, "_stop_server", lambda: False)
    monkeypatch.setattr(core, "echo", lambda msg: None)
    core.lab_down(inventory_path=tmp_path / "inventories" / "lab.yml")
    assert _routes(ip_calls) == [["ip", "route", "replace", "unreachable", config.SAFETY_ROUTE]]


def test_only_removing_the_route_on_purpose_deletes_it(ip_calls: list[list[str]]) -> None:
    assert net.remove_safety_route() is True
    assert _routes(ip_calls) == [["ip", "route", "del", "unreachable", config.SAFETY_ROUTE]]


class _no_lock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
