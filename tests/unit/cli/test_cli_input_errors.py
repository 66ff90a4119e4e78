"""Bad input: exit 2, one screen, file:line, never a traceback, nothing touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

INVENTORY = "all:\n  hosts:\n    web1: {ansible_connection: local}\n"


def play(tasks: str, extra: str = "") -> str:
    return f"- hosts: all\n{extra}  tasks:\n{tasks}"


# name: (files, args, expected substrings in the message; {d} is the directory)
CASES = {
    "missing inventory": (
        {"site.yml": play("    - group: {name: x}\n")},
        ["nope.yml", "-p", "site.yml"],
        ["inventory not found: nope.yml"],
    ),
    "missing playbook": (
        {"inv.yml": INVENTORY},
        ["inv.yml", "-p", "nope.yml"],
        ["playbook not found: nope.yml"],
    ),
    "yaml syntax error": (
        {
            "inv.yml": "all:\n  hosts:\n    web1: {ansible_host: 10.0.0.1\n",
            "site.yml": play("    - group: {name: x}\n"),
        },
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml:4:1: YAML syntax error"],
    ),
    "yaml bad indentation in playbook": (
        {"inv.yml": INVENTORY, "site.yml": "- hosts: all\n  tasks:\n   - group: x\n  - y\n"},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:4:3: YAML syntax error"],
    ),
    "unknown task type": (
        {"inv.yml": INVENTORY, "site.yml": play("    - name: x\n      packages: {name: git}\n")},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:4: unknown task type 'packages'", "task types:", "package"],
    ),
    "unknown argument": (
        {
            "inv.yml": INVENTORY,
            "site.yml": play("    - copy: {dest: /x, content: y, colour: red}\n"),
        },
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3: copy: unknown argument `colour`", "accepted arguments: dest (required)"],
    ),
    "missing required argument": (
        {"inv.yml": INVENTORY, "site.yml": play('    - sysctl: {value: "1"}\n')},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3: sysctl: missing required argument `name`"],
    ),
    "hosts matching nothing": (
        {"inv.yml": INVENTORY, "site.yml": "- hosts: dbservers\n  tasks: []\n"},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:1: hosts pattern 'dbservers'", "matches no host"],
    ),
    "undefined variable": (
        {
            "inv.yml": INVENTORY,
            "site.yml": play('    - copy: {dest: /x, content: "{{ motd_text }}"}\n'),
        },
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3", "undefined variable: motd_text"],
    ),
    "missing template": (
        {
            "inv.yml": INVENTORY,
            "site.yml": "- hosts: all\n  roles: [web]\n",
            "roles/web/tasks/main.yml": "- template: {src: nginx.conf.j2, dest: /etc/x}\n",
        },
        ["inv.yml", "-p", "site.yml"],
        ["roles/web/tasks/main.yml:1", "not found", "nginx.conf.j2"],
    ),
    "empty ansible_host": (
        {"inv.yml": 'all:\n  hosts:\n    web1: {ansible_host: ""}\n', "site.yml": play("")},
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml:3: host 'web1' has no address"],
    ),
    "duplicate host with different addresses": (
        {
            "inv.yml": "all:\n  children:\n    a:\n      hosts:\n"
            "        web1: {ansible_host: 10.0.0.1}\n"
            "    b:\n      hosts:\n        web1: {ansible_host: 10.0.0.2}\n",
            "site.yml": play("    - group: {name: x}\n"),
        },
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml:8: host 'web1' is declared twice with different addresses", "10.0.0.1"],
    ),
    "command without guard": (
        {"inv.yml": INVENTORY, "site.yml": play("    - command: {cmd: reboot}\n")},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3: command: a command needs a guard", "creates: PATH"],
    ),
    "group cycle": (
        {
            "inv.yml": "all:\n  children:\n    a:\n      children:\n        b:\n"
            "          children:\n            a: {}\n",
            "site.yml": play("    - group: {name: x}\n"),
        },
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml:", "cycle", "a -> b -> a"],
    ),
    "bad port": (
        {
            "inv.yml": "all:\n  hosts:\n    web1: {ansible_host: 10.0.0.1, ansible_port: 70000}\n",
            "site.yml": play("    - group: {name: x}\n"),
        },
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml:3", "ansible_port of host 'web1' must be a port number 1-65535"],
    ),
    "binary junk inventory": (
        {"inv.yml": b"\x7fELF\x02\x01\x00\x00junk", "site.yml": play("")},
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml", "is binary"],
    ),
    "empty inventory": (
        {"inv.yml": "", "site.yml": play("")},
        ["inv.yml", "-p", "site.yml"],
        ["inv.yml: inventory is empty"],
    ),
    "empty playbook": (
        {"inv.yml": INVENTORY, "site.yml": "# nothing yet\n"},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml: playbook is empty"],
    ),
    "not utf-8": (
        {"inv.yml": INVENTORY, "site.yml": b"- hosts: all\n  tasks:\n  # caf\xe9\n"},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3: playbook is not UTF-8 text"],
    ),
    "task is not a mapping": (
        {"inv.yml": INVENTORY, "site.yml": play("    - just a string\n")},
        ["inv.yml", "-p", "site.yml"],
        ["site.yml:3: a task must be a mapping"],
    ),
    "bad -e": (
        {"inv.yml": INVENTORY, "site.yml": play("")},
        ["inv.yml", "-p", "site.yml", "-e", "no-equals-sign"],
        ["-e expects key=value"],
    ),
}


def write_files(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_input_exits_2_with_a_short_message(case, command, tmp_path, monkeypatch):
    files, args, wanted = case
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, files)
    result = CliRunner().invoke(main, [command, *args])
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert len(output.splitlines()) <= 10, output
    assert output.startswith("error: ")
    for part in wanted:
        assert part in output, output
    assert not (tmp_path / ".provision").exists()  # no run was recorded: nothing touched


def test_unknown_option_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["plan", "inv.yml", "--colour"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_forks_out_of_range(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["plan", "inv.yml", "--forks", "0"])
    assert result.exit_code == 2
