"""The probe's answer phase (one `wc -c` for all lengths, `read` for the exit codes, one
`cat` per fact), run for real with every shell here: the answers parse back byte for byte,
and a length it cannot give makes the answer garbled, never shifted to another fact."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from provision.facts.base import FactError
from provision.facts.kinds import CommandFact, CommandResult
from provision.facts.probe import parse_probe, probe_script

SHELLS = [s for s in ("sh", "dash", "bash") if shutil.which(s)]

# (name, printf argument producing the fact's stdout, its exit code)
OUTPUTS = [
    ("empty", "''", 0),
    ("newline", "'\\n'", 0),
    ("no newline", "'abc'", 0),
    ("cr", "'a\\rb\\r\\n'", 0),
    ("vt ff", "'a\\vb\\fc\\n'", 0),
    ("nel", "'a\\302\\205b\\n'", 0),
    ("ls ps", "'a\\342\\200\\250b\\342\\200\\251c\\n'", 0),
    ("control", "'\\001\\002\\033[0m\\177\\n'", 0),
    ("nul", "'a\\000b\\000\\n'", 0),
    ("leading dash", "'%s\\n' '-n -e --'", 0),
    ("quotes", '\'%s\\n\' "it\'s \\"q\\" \\$(x) \\`y\\`"', 0),
    ("dot dot", "'../../etc/passwd\\n'", 0),
    ("fake header", "'@@provision-0011223344556677 0 0 0 0\\n'", 0),
    ("rc 1", "'x\\n'", 1),
    ("rc 127", "''", 127),
    ("rc 255", "'y'", 255),
]


def run(shell: str, script: str, cwd: Path | None = None) -> bytes:
    proc = subprocess.run(
        [shell, "-s"], input=script.encode(), capture_output=True, timeout=60, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def printed(printf_args: str) -> bytes:
    return subprocess.run(["sh", "-c", f"printf {printf_args}"], capture_output=True).stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_every_kind_of_output_comes_back_whole(shell: str) -> None:
    facts = [
        CommandFact(f"printf {arg}; printf 'err {name}' >&2; exit {rc}")
        for name, arg, rc in OUTPUTS
    ]
    script, marker = probe_script(facts)
    values = parse_probe(facts, marker, run(shell, script))
    for fact, (name, arg, rc) in zip(facts, OUTPUTS, strict=True):
        # what the fact's parser makes of exactly these bytes
        assert values[fact] == fact.parse(rc, printed(arg), f"err {name}".encode()), name
        assert isinstance(values[fact], CommandResult)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("count", [1, 2, 10, 11, 150])
def test_many_facts_in_order(shell: str, count: int) -> None:
    facts = [CommandFact(f"echo fact-{i}; exit {i % 3}") for i in range(count)]
    script, marker = probe_script(facts)
    values = parse_probe(facts, marker, run(shell, script))
    assert [(v.stdout, v.rc) for v in values.values()] == [
        (f"fact-{i}", i % 3) for i in range(count)
    ]


def test_a_large_output_keeps_its_length() -> None:
    facts = [CommandFact("head -c 3000000 /dev/zero | tr '\\0' 'z'"), CommandFact("echo after")]
    script, marker = probe_script(facts)
    values = parse_probe(facts, marker, run("sh", script))
    assert len(values[facts[0]].stdout) == 3_000_000
    assert values[facts[1]].stdout == "after"


@pytest.mark.parametrize("gone", ["1.o", "1.e", "0.o", "2.e"])
def test_a_missing_output_file_is_garbled_not_shifted(gone: str) -> None:
    # a fact that removes an answer file (the shell variable d is the probe's temp dir)
    facts = [
        CommandFact("echo zero"),
        CommandFact("echo one"),
        CommandFact("echo two"),
        CommandFact(f'sleep 0.2; rm -f "$d/{gone}"; echo three'),
    ]
    script, marker = probe_script(facts)
    with pytest.raises(FactError, match="garbled|cut short"):
        parse_probe(facts, marker, run("sh", script))


def test_a_missing_exit_code_is_garbled() -> None:
    facts = [CommandFact("echo zero"), CommandFact('sleep 0.2; rm -f "$d/0.r"; echo one')]
    script, marker = probe_script(facts)
    with pytest.raises(FactError, match="garbled"):
        parse_probe(facts, marker, run("sh", script))


def test_what_follows_the_probe_keeps_its_directory(tmp_path: Path) -> None:
    facts = [CommandFact("echo a"), CommandFact("echo b")]
    script, marker = probe_script(facts)
    out = run("sh", script + "pwd\n", cwd=tmp_path)
    assert out.rstrip(b"\n").rsplit(b"\n", 1)[-1] == str(tmp_path).encode()


def test_the_temp_dir_is_gone_afterwards(tmp_path: Path) -> None:
    facts = [CommandFact('echo "$d"')]
    script, marker = probe_script(facts)
    values = parse_probe(facts, marker, run("sh", script))
    assert not Path(values[facts[0]].stdout).exists()


def test_one_length_process_for_all_facts() -> None:
    script, _ = probe_script([CommandFact(f"echo {i}") for i in range(20)])
    assert script.count("wc -c") == 1
    assert "$(cat" not in script and "seq " not in script


def test_no_facts_reads_nothing_from_stdin() -> None:
    script, marker = probe_script([])
    assert "wc" not in script
    assert marker not in run("sh", script + "echo rest-of-script\n").decode()
