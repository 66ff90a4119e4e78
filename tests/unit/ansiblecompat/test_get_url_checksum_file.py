"""get_url `checksum: ALG:URL`: the digest for the URL's file name is read from the
checksum file as ansible-core's get_url reads it (compared with its own parse_digest_lines
on a table of files), and the probe's fetch is bounded and fails clearly."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from provision.facts.base import FactError
from provision.tasks.get_url import ChecksumFileFact, digest_for, url_filename

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    get_url = pytest.importorskip("ansible.modules.get_url")

H = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
FILES = [
    f"{H}  k.tar.gz\n",
    f"{H} *k.tar.gz\n",
    f"{H}  ./k.tar.gz\n",
    f"{H}\n",
    f"{H}",
    f"SHA256 (k.tar.gz) = {H}\n",
    f"SHA256 (other) = {'0' * 64}\nSHA256 (k.tar.gz) = {H}\n",
    f"{'0' * 64}  other\r\n{H}  k.tar.gz\r\n",
    f"{'0' * 64}  k.tar.gz\n{H}  k.tar.gz\n",
    f"{H}  k.tar.gz.asc\n",
    "",
    "\n",
    f"# comment\n{H}  k.tar.gz\n",
    f"{H}  dir/k.tar.gz\n",
    f"{H}  k.tar.gz\x85next\n",
    f"{H}\t k.tar.gz\n",
    f"{H} -k.tar.gz\n",
]


@pytest.mark.parametrize("content", FILES, ids=[f"f{i}" for i in range(len(FILES))])
@pytest.mark.parametrize("url", ["https://x/k.tar.gz", "https://x/dir/k.tar.gz?x=1", "https://x/"])
def test_digest_matches_ansible(tmp_path: Path, content: str, url: str) -> None:
    name = url_filename(url)
    assert name == get_url.url_filename(url)
    sums = tmp_path / "SUMS"
    sums.write_bytes(content.encode())
    with open(sums, encoding="utf-8") as f:  # as ansible's get_url reads it
        lines = [line.rstrip("\n") for line in f]
    found = [d for d, f in get_url.parse_digest_lines(filename=name, lines=lines) if f == name]
    assert digest_for(name, content) == (found[0] if found else None)


def _fact() -> ChecksumFileFact:
    return ChecksumFileFact("https://x/SHA256SUMS")


def test_the_fetch_is_quoted_bounded_and_https_only() -> None:
    command = ChecksumFileFact("https://x/a'b", 5, use_proxy=False).command()
    assert "'https://x/a'\"'\"'b'" in command
    assert "--proto =http,https --proto-redir =https" in command
    assert "--noproxy '*'" in command
    assert f"head -c {1024 * 1024 + 1}" in command


@pytest.mark.parametrize(
    ("stdout", "stderr", "message"),
    [
        (b"", b"curl: (22) 404\n@@curl-rc=22\n", "curl 22: curl: (22) 404"),
        (b"", b"", "cannot fetch checksum file"),
        (b"x" * (1024 * 1024 + 1), b"@@curl-rc=23\n", "larger than"),
    ],
)
def test_fetch_failures_are_clear(stdout: bytes, stderr: bytes, message: str) -> None:
    with pytest.raises(FactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _fact().parse(0, stdout, stderr)


def test_a_fetched_file_is_text() -> None:
    assert _fact().parse(0, f"{H}  k\n".encode(), b"@@curl-rc=0\n") == f"{H}  k\n"
