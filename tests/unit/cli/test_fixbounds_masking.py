"""A secret transformed by a common filter is masked in plan output too (text and JSON)."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

SECRET = "Pr0xy p@ss/w0rd&x"
SHOWN_FORMS = [
    SECRET,
    urllib.parse.quote(SECRET),
    urllib.parse.quote(SECRET, safe=""),
    SECRET.upper(),
    SECRET.lower(),
    SECRET[::-1],
    base64.b64encode(SECRET.encode()).decode(),
]
CONTENT = (
    "proxy=http://u:{{ s|urlencode }}@h/\n"
    "up={{ s|upper }}\n"
    "low={{ s|lower }}\n"
    "rev={{ s|reverse|join }}\n"
    "b64={{ b64 }}\n"
)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_transformed_secrets_are_masked_in_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    play = {
        "hosts": "all",
        "secrets": ["s"],
        "vars": {"s": SECRET, "b64": base64.b64encode(SECRET.encode()).decode()},
        "tasks": [{"copy": {"dest": str(tmp_path / "out"), "content": CONTENT, "owner": "root"}}],
    }
    (tmp_path / "site.yml").write_text(json.dumps([play]))
    args = ["plan", "inventory.yml", "-p", "site.yml", "--format", fmt]
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 4, result.output
    assert "proxy=http://u:********@h/" in result.output.replace("\\/", "/")
    for form in SHOWN_FORMS:
        assert form not in result.output, f"{form!r} shown:\n{result.output}"
        assert json.dumps(form)[1:-1] not in result.output
