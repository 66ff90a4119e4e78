"""ssh_config ProxyJump chains defined hop by hop, as OpenSSH follows them: the first hop of
a ProxyJump list is reached through its own ProxyJump (recursively), later hops are not;
each hop's HostName, User, Port, IdentityFile apply; loops and absurd depth are input
errors naming the ssh_config file:line; bad values in a hop's block name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.execution.sshconfig import load_ssh_config, resolve_jumps
from provision.project.ansiblecfg import AnsibleConfig
from provision.project.connvalues import MAX_JUMP_HOPS, parse_jump
from provision.project.hostconfig import ControllerSettings, HostConfig, host_config
from provision.project.templating import Variables


def target(tmp_path: Path, text: str, name: str = "target", **variables: object) -> HostConfig:
    path = tmp_path / "config"
    path.write_text(text)
    loaded = load_ssh_config(path, required=True)
    settings = ControllerSettings(config=AnsibleConfig(), ssh_config=loaded)
    return host_config(
        name, Variables(dict(variables)), Path("/inv"), False, None, settings=settings
    )


def hops(found: HostConfig) -> list[tuple[str | None, str, int, str | None]]:
    return [(h.name, h.host, h.port, h.user) for h in found.jump_hosts]


B1 = "Host b1\n  HostName 192.0.2.1\n  User u1\n  Port 2201\n  IdentityFile /k/b1\n"
B2 = "Host b2\n  HostName 192.0.2.2\n  User u2\n  Port 2202\n  ProxyJump b1\n"
B3 = "Host b3\n  HostName 192.0.2.3\n  ProxyJump b2\n"
T = "Host target\n  HostName 192.0.2.9\n  ProxyJump {}\n"

CHAINS = [
    # (config, expected hops as (alias, address, port, user)), first to last
    (
        T.format("b2") + B2 + B1,
        [("b1", "192.0.2.1", 2201, "u1"), ("b2", "192.0.2.2", 2202, "u2")],
    ),
    (
        T.format("b3") + B3 + B2 + B1,
        [
            ("b1", "192.0.2.1", 2201, "u1"),
            ("b2", "192.0.2.2", 2202, "u2"),
            ("b3", "192.0.2.3", 22, None),
        ],
    ),
    # a later hop of a list is reached by the one before it: its own ProxyJump is not used
    (
        T.format("b1,b2") + B2 + B1,
        [("b1", "192.0.2.1", 2201, "u1"), ("b2", "192.0.2.2", 2202, "u2")],
    ),
    # the first hop of a list is reached through its own ProxyJump
    (
        T.format("b2,b3") + B3 + B2 + B1,
        [
            ("b1", "192.0.2.1", 2201, "u1"),
            ("b2", "192.0.2.2", 2202, "u2"),
            ("b3", "192.0.2.3", 22, None),
        ],
    ),
    # what the jump spec says wins over the hop's own block
    (
        T.format("admin@b2:22") + B2 + B1,
        [("b1", "192.0.2.1", 2201, "u1"), ("b2", "192.0.2.2", 22, "admin")],
    ),
    # first obtained value wins: `ProxyJump none` in the bastion's own block ends the chain
    (
        "Host target\n  ProxyJump bastion\nHost bastion\n  ProxyJump none\n"
        "Host *\n  ProxyJump bastion\n",
        [(None, "bastion", 22, None)],
    ),
    # a catch-all block that leaves the bastion out
    (
        "Host * !bastion\n  ProxyJump bastion\n",
        [(None, "bastion", 22, None)],
    ),
    # a hop named by its address (no block of its own)
    (T.format("192.0.2.7:2222"), [(None, "192.0.2.7", 2222, None)]),
    # a hop's values from a `Match host` block
    (
        T.format("b2") + B2 + "Match host b1\n  User m1\n  Port 2299\n",
        [(None, "b1", 2299, "m1"), ("b2", "192.0.2.2", 2202, "u2")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CHAINS)
def test_chains_defined_hop_by_hop(tmp_path: Path, text: str, expected: list) -> None:
    assert hops(target(tmp_path, text)) == expected


def test_each_hop_keeps_its_own_identity_file(tmp_path: Path) -> None:
    found = target(tmp_path, T.format("b2") + B2 + B1)
    assert [h.identity_files for h in found.jump_hosts] == [("/k/b1",), ()]


def test_first_hop_own_proxycommand(tmp_path: Path) -> None:
    text = T.format("b2") + B2.replace("ProxyJump b1", "ProxyCommand nc -x proxy %h %p")
    (first,) = target(tmp_path, text).jump_hosts
    assert first.proxy_command == "nc -x proxy 192.0.2.2 2202"


def test_command_line_hops_follow_the_first_hops_own_proxyjump(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(B2 + B1)
    loaded = load_ssh_config(path, required=True)
    found = resolve_jumps(parse_jump("b2"), loaded)
    assert [h.name for h in found] == ["b1", "b2"]
    # without ssh_config: the hops as written
    assert resolve_jumps(parse_jump("b2"), None) == parse_jump("b2")


def test_target_named_by_a_later_hop_is_no_loop(tmp_path: Path) -> None:
    """`target` ProxyJump b1,target is odd but finite: the last hop's own ProxyJump is
    not used."""
    found = target(tmp_path, "Host target\n  ProxyJump b1,target\n")
    assert [h.host for h in found.jump_hosts] == ["b1", "target"]


LOOPS = [
    # (config, the loop as shown, line of the ProxyJump that closes it)
    (
        "Host target\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n",
        "a -> b -> a",
        6,
    ),
    ("Host target\n  ProxyJump a\nHost a\n  ProxyJump target\n", "target -> a -> target", 4),
    ("Host target\n  ProxyJump a\nHost a\n  ProxyJump a\n", "a -> a", 4),
    ("Host *\n  ProxyJump bastion\n", "bastion -> bastion", 2),
    (
        "Host target\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump c\n"
        "Host c\n  ProxyJump a\n",
        "a -> b -> c -> a",
        8,
    ),
    (
        "Host target\n  ProxyJump a\nHost a\n  ProxyJump b,c\nHost b\n  ProxyJump c\n"
        "Host c\n  ProxyJump b\n",
        "b -> c -> b",
        8,
    ),
]


@pytest.mark.parametrize(("text", "loop", "line"), LOOPS)
def test_loops_are_input_errors_at_file_line(
    tmp_path: Path, text: str, loop: str, line: int
) -> None:
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    assert f"ProxyJump loop in ssh config: {loop}" in str(caught.value)
    assert caught.value.location is not None
    assert (caught.value.location.file, caught.value.location.line) == (
        str(tmp_path / "config"),
        line,
    )


def chain_of(length: int) -> str:
    """target -> h1 -> h2 ... -> h<length>: `length` jump hosts."""
    text = "Host target\n  ProxyJump h1\n"
    for index in range(1, length):
        text += f"Host h{index}\n  ProxyJump h{index + 1}\n"
    return text


def test_longest_chain_allowed(tmp_path: Path) -> None:
    found = target(tmp_path, chain_of(MAX_JUMP_HOPS))
    assert [h.host for h in found.jump_hosts] == [f"h{n}" for n in range(MAX_JUMP_HOPS, 0, -1)]


@pytest.mark.parametrize("length", [MAX_JUMP_HOPS + 1, MAX_JUMP_HOPS * 4, 5000])
def test_absurd_depth_is_an_input_error(tmp_path: Path, length: int) -> None:
    with pytest.raises(InputError) as caught:
        target(tmp_path, chain_of(length))
    assert f"more than {MAX_JUMP_HOPS} jump hosts" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line is not None


def test_long_list_in_a_hops_own_proxyjump_counts_too(tmp_path: Path) -> None:
    many = ",".join(f"x{n}" for n in range(10))
    text = f"Host target\n  ProxyJump a,{many}\nHost a\n  ProxyJump {many}\n"
    with pytest.raises(InputError, match="more than 16 jump hosts long"):
        target(tmp_path, text)


# Values of a hop's own block are attacker-controlled text: each bad one is an input error
# naming the hop, the keyword and the line it was written at.
BAD_HOP_VALUES = {
    "HostName": [
        "-oProxyCommand=touch_x",
        "-x",
        '"a b"',
        "a;b",
        "$(id)",
        "`id`",
        "a|b",
        "../etc",
        "a/../b",
        "..",
        "a..b",
        "'quoted'",
        "a" * 300,
        ("a" * 64) + ".example",
        "192.0.2.300",
        "01.2.3.4",
        "host:22",
        "user@host",
        "[::1]:22",
        "ex\u00e4mple.org",
    ],
    "User": ["-oProxyCommand=x", "-l", '"a b"', "a:b", "u" * 300],
    "Port": ["0", "65536", "-22", "22x", "1e3", "0x16", "2 2", '"22 "', "9" * 30],
    "ProxyJump": ["-oProxyCommand=x", "a,,b", "u@h:0", "a,-b", "h:", '"a b"', "[::1"],
}
CASES = [(key, value) for key, values in BAD_HOP_VALUES.items() for value in values]


@pytest.mark.parametrize(("key", "value"), CASES)
def test_bad_value_in_a_hops_block_names_its_line(tmp_path: Path, key: str, value: str) -> None:
    # the hop is reached through its own ProxyJump: its block's values are used
    text = f"Host target\n  ProxyJump b2\nHost b2\n  ProxyJump b1\nHost b1\n  {key} {value}\n"
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    message = str(caught.value)
    assert f"{key} of 'b1' in ssh config" in message, message
    assert caught.value.location is not None
    assert caught.value.location.line == 6, (message, caught.value.location)
    assert "Traceback" not in message


LINE_BREAKS = ["\r", "\v", "\f", "\x85", "\u2028", "\u2029", "\x00", "\x1b", "\x7f", "\x08"]


@pytest.mark.parametrize("char", LINE_BREAKS)
@pytest.mark.parametrize("key", ["HostName", "User", "Port", "ProxyJump"])
def test_control_character_in_a_hops_block(tmp_path: Path, key: str, char: str) -> None:
    text = f"Host target\n  ProxyJump b1\nHost b1\n  {key} a{char}b\n"
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    assert "control character" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 4


def test_target_values_name_their_line_too(tmp_path: Path) -> None:
    text = "Host *\n  User ok\nHost target\n  Port 70000\n"
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    assert caught.value.location is not None and caught.value.location.line == 4


def test_line_through_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "hops").write_text("Host b1\n  User ok\n\n  HostName -oBad=x\n")
    text = "Include hops\nHost target\n  ProxyJump b1\n"
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    where = caught.value.location
    assert where is not None
    assert (where.file, where.line) == (str(tmp_path / ".ssh" / "hops"), 4)


TARGET_CASES = CASES + [("HostName", "h" * 100_000), ("User", "u" * 100_000)]


@pytest.mark.parametrize(("key", "value"), TARGET_CASES)
def test_bad_value_in_the_targets_block_names_its_line(
    tmp_path: Path, key: str, value: str
) -> None:
    text = f"Host other\n  {key} fine\nHost target\n  Compression yes\n  {key} {value}\n"
    with pytest.raises(InputError) as caught:
        target(tmp_path, text)
    message = str(caught.value)
    assert f"{key} of 'target' in ssh config" in message, message
    assert caught.value.location is not None and caught.value.location.line == 5, message
    assert len(message) < 2000  # a huge value is cut in the message
