"""The probe: one script for all facts, run for real with `sh`, split back per fact."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from provision.facts.base import FactError
from provision.facts.kinds import (
    CommandFact,
    CommandResult,
    FileFact,
    GroupFact,
    SysctlFact,
    UserFact,
)
from provision.facts.probe import parse_probe, probe_script


def run_sh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, timeout=10)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.conf").write_bytes(b"line one\nline two\n")
    (tmp_path / "a.conf").chmod(0o640)
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "binary").write_bytes(bytes(range(256)))
    (tmp_path / "dir").mkdir()
    (tmp_path / "it's quoted $(x)").write_text("q\n")
    return tmp_path


def test_probe_round_trip_on_this_machine(tree: Path):
    facts = [
        FileFact(str(tree / "a.conf")),
        FileFact(str(tree / "missing")),
        FileFact(str(tree / "empty")),
        FileFact(str(tree / "binary")),
        FileFact(str(tree / "dir")),
        FileFact(str(tree / "it's quoted $(x)")),
        SysctlFact("kernel.ostype"),
        SysctlFact("no.such.key"),
        CommandFact("echo out; echo err >&2; exit 3"),
        CommandFact("printf 'no newline'"),
        UserFact("root"),
        UserFact("no-such-user-xyz"),
        GroupFact("root"),
    ]
    script, marker = probe_script(facts)
    result = run_sh(script)
    assert result.returncode == 0, result.stderr
    values = parse_probe(facts, marker, result.stdout)
    assert list(values) == facts
    a = values[facts[0]]
    assert (a.exists, a.kind, a.mode, a.content) == (
        True,
        "regular file",
        0o640,
        b"line one\nline two\n",
    )
    assert values[facts[1]].exists is False
    assert values[facts[2]].content == b""
    assert values[facts[3]].content == bytes(range(256))
    assert values[facts[4]].kind == "directory" and values[facts[4]].content is None
    assert values[facts[5]].content == b"q\n"
    assert values[facts[6]] == "Linux"
    assert values[facts[7]] is None
    assert values[facts[8]] == CommandResult(3, "out", "err")
    assert values[facts[9]] == CommandResult(0, "no newline", "")
    root = values[facts[10]]
    assert (root.name, root.uid, root.home) == ("root", 0, "/root")
    assert values[facts[11]] is None
    assert values[facts[12]].gid == 0


def test_probe_script_is_one_script_with_a_fresh_marker():
    facts = [FileFact("/etc/hostname"), CommandFact("true")]
    script1, marker1 = probe_script(facts)
    script2, marker2 = probe_script(facts)
    assert marker1 != marker2
    assert marker1 in script1 and script1.count("wait") == 1


def test_slow_and_quick_facts_run_concurrently():
    # two slow facts of 0.5 s each finish in well under 1 s when run in parallel
    facts = [CommandFact("sleep 0.5; echo a"), CommandFact("sleep 0.5; echo b")]
    script, marker = probe_script(facts)

    started = time.monotonic()
    result = run_sh(script)
    elapsed = time.monotonic() - started
    values = parse_probe(facts, marker, result.stdout)
    assert [v.stdout for v in values.values()] == ["a", "b"]
    assert elapsed < 0.95


def _answer(marker: str, parts: list[tuple[int, bytes, bytes]]) -> bytes:
    out = b""
    for index, (rc, stdout, stderr) in enumerate(parts):
        out += f"{marker} {index} {rc} {len(stdout)} {len(stderr)}\n".encode() + stdout + stderr
    return out


def test_output_with_marker_like_text_inside_a_fact():
    facts = [CommandFact("a"), CommandFact("b")]
    marker = "@@provision-0011223344556677"
    tricky = f"{marker} 1 0 0 0\n".encode()  # looks like a header, but is counted content
    output = _answer(marker, [(0, tricky, b""), (0, b"b\n", b"")])
    values = parse_probe(facts, marker, output)
    assert values[facts[1]].stdout == "b"


GARBLED = {
    "wrong marker": lambda m, ok: ok.replace(m.encode(), b"@@provision-ffffffffffffffff", 1),
    "empty": lambda m, ok: b"",
    "shell noise first": lambda m, ok: b"Last login: today\n" + ok,
    "wrong index": lambda m, ok: ok.replace(f"{m} 1 ".encode(), f"{m} 7 ".encode()),
    "missing fact": lambda m, ok: ok[: ok.index(f"{m} 1 ".encode())],
}


@pytest.mark.parametrize("garble", GARBLED.values(), ids=list(GARBLED))
def test_garbled_output_raises_fact_error(garble):
    facts = [CommandFact("a"), CommandFact("b")]
    marker = "@@provision-0011223344556677"
    ok = _answer(marker, [(0, b"a\n", b""), (0, b"b\n", b"")])
    assert len(parse_probe(facts, marker, ok)) == 2
    with pytest.raises(FactError, match="garbled"):
        parse_probe(facts, marker, garble(marker, ok))


def test_truncated_header_raises_fact_error():
    facts = [CommandFact("a")]
    marker = "@@provision-0011223344556677"
    with pytest.raises(FactError):
        parse_probe(facts, marker, f"{marker} 0 0".encode())


def test_truncated_body_raises_fact_error():
    facts = [CommandFact("a")]
    marker = "@@provision-0011223344556677"
    output = f"{marker} 0 0 100 0\n".encode() + b"only a few bytes"
    with pytest.raises(FactError):
        parse_probe(facts, marker, output)
