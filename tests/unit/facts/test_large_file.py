"""Class 7 of issue 10: a file over 1 MiB is compared by SHA-256, so an unchanged large
file plans nothing and a changed one plans one update (it used to plan `update` for ever
and apply ended "did not converge")."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from provision.facts.base import FactError
from provision.facts.kinds import MAX_FILE_BYTES, FileFact, FileState
from provision.facts.probe import parse_probe, probe_script
from provision.planning.model import Change, HostState, NoOp
from provision.tasks.filesupport import plan_file

BIG = bytes(range(256)) * (MAX_FILE_BYTES // 256 * 2)  # 2 MiB, binary
DIGEST = hashlib.sha256(BIG).hexdigest()


def probe(path: Path) -> FileState:
    fact = FileFact(str(path))
    script, marker = probe_script([fact])
    result = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return parse_probe([fact], marker, result.stdout)[fact]


@pytest.mark.parametrize(
    ("size", "read_whole"),
    [(0, True), (MAX_FILE_BYTES, True), (MAX_FILE_BYTES + 1, False), (2 * MAX_FILE_BYTES, False)],
)
def test_the_probe_reads_small_files_whole_and_hashes_large_ones(
    tmp_path: Path, size: int, read_whole: bool
) -> None:
    data = (BIG * 2)[:size]
    path = tmp_path / "f"
    path.write_bytes(data)
    state = probe(path)
    if read_whole:
        assert state.content == data and state.sha256 is None
    else:
        assert state.content is None and state.sha256 == hashlib.sha256(data).hexdigest()
    assert state.same_content(data)
    assert not state.same_content(data + b"x")


def test_a_quoted_path_is_hashed_too(tmp_path: Path) -> None:
    path = tmp_path / "it's $(x) big"
    path.write_bytes(BIG)
    assert probe(path).sha256 == DIGEST


def _state(current: FileState, path: str = "/srv/big.bin") -> HostState:
    return HostState({FileFact(path): current})


PLANS = [
    ("same-hash", FileState(True, sha256=DIGEST), BIG, NoOp),
    ("other-hash", FileState(True, sha256="0" * 64), BIG, Change),
    ("no-hash-tool", FileState(True), BIG, Change),
    ("small-same", FileState(True, content=b"x"), b"x", NoOp),
    ("small-other", FileState(True, content=b"x"), b"y", Change),
    ("absent", FileState(False), BIG, Change),
    ("same-hash-other-mode", FileState(True, mode=0o600, sha256=DIGEST), BIG, Change),
]


@pytest.mark.parametrize(
    ("current", "content", "outcome"),
    [(c, b, o) for _, c, b, o in PLANS],
    ids=[n for n, *_ in PLANS],
)
def test_plans_compare_by_hash_when_the_content_was_too_large(current, content, outcome) -> None:
    state = _state(current)
    result = plan_file(state, "/srv/big.bin", content, mode=0o644)
    assert isinstance(result, outcome), result


def test_planning_twice_over_the_state_after_is_a_no_op() -> None:
    state = _state(FileState(True, sha256="1" * 64))
    assert isinstance(plan_file(state, "/srv/big.bin", BIG), Change)
    assert isinstance(plan_file(state, "/srv/big.bin", BIG), NoOp)


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (f"regular file|644|root|root|{2 * MAX_FILE_BYTES}\nsha256:{DIGEST}\n", DIGEST),
        (f"regular file|644|root|root|{2 * MAX_FILE_BYTES}\nsha256:\n", None),
        (f"regular file|644|root|root|{2 * MAX_FILE_BYTES}\n", None),
    ],
    ids=["digest", "no-sha256sum", "nothing"],
)
def test_parse_large_file_output(stdout: str, expected: str | None) -> None:
    state = FileFact("/srv/big").parse(0, stdout.encode(), b"")
    assert state.content is None and state.sha256 == expected


@pytest.mark.parametrize("digest", ["xyz", "A" * 64, "0" * 63, "0" * 65, "0" * 64 + " -"])
def test_garbled_digests_are_fact_errors(digest: str) -> None:
    stdout = f"regular file|644|root|root|{2 * MAX_FILE_BYTES}\nsha256:{digest}\n"
    with pytest.raises(FactError, match="sha256sum"):
        FileFact("/srv/big").parse(0, stdout.encode(), b"")
