"""Class 7 of issue 10: `copy: content: !!binary ...` writes the bytes, not "b'...'"."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run

PAYLOADS = [
    ("all-bytes", bytes(range(256))),
    ("png-header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("nul-only", b"\x00"),
    ("utf8-text", "héllo\n".encode()),
    ("invalid-utf8", b"\xff\xfe\xfd"),
    ("empty", b""),
]


def project(tmp_path: Path, content_yaml: str) -> tuple[Path, Path]:
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- name: p\n  hosts: all\n  tasks:\n    - name: a file\n      copy:\n"
        f"        dest: /tmp/out.bin\n        content: {content_yaml}\n"
    )
    return tmp_path / "inventory.yml", playbook


@pytest.mark.parametrize("payload", [p for _, p in PAYLOADS], ids=[n for n, _ in PAYLOADS])
def test_binary_content_is_written_as_bytes(tmp_path: Path, payload: bytes) -> None:
    encoded = base64.b64encode(payload).decode()
    inventory, playbook = project(tmp_path, f"!!binary '{encoded}'")
    compiled = compile_run(inventory, playbook)
    task = compiled.plays[0][1][0].tasks[0].task
    assert task.content == payload


@pytest.mark.parametrize(
    ("value", "expected"), [("'text'", b"text"), ("42", b"42"), ('"a\\u00e9"', "aé".encode())]
)
def test_text_content_is_utf8(tmp_path: Path, value: str, expected: bytes) -> None:
    inventory, playbook = project(tmp_path, value)
    task = compile_run(inventory, playbook).plays[0][1][0].tasks[0].task
    assert task.content == expected


@pytest.mark.parametrize("value", ["[1, 2]", "{a: 1}", "true"])
def test_other_content_types_are_input_errors(tmp_path: Path, value: str) -> None:
    inventory, playbook = project(tmp_path, value)
    with pytest.raises(InputError, match="content"):
        compile_run(inventory, playbook)
