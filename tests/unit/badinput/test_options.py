"""Bad input that is not in a file: command-line values, and keys accepted but ignored.

The same checks as the corpus: exit 2, no traceback, at most 25 lines, nothing created,
no connection attempted.
"""

from __future__ import annotations

from click.testing import CliRunner

from provision.cli import main

INVENTORY = """\
all:
  hosts:
    h1:
      ansible_connection: local
      base: "{{ env.BADINPUT_BASE }}"
"""
SITE = "- name: badinput\n  hosts: all\n  roles:\n    - r\n"
TASKS = '- name: a harmless directory\n  directory:\n    path: "{{ base }}/d"\n'


def _valid_project(tmp_path, monkeypatch):
    """A project with nothing wrong in its files: the bad input is on the command line."""
    root = tmp_path / "project"
    for name, text in (
        ("inventory.yml", INVENTORY),
        ("playbooks/site.yml", SITE),
        ("roles/r/tasks/main.yml", TASKS),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.setenv("BADINPUT_BASE", str(base))
    monkeypatch.chdir(root)
    return root, base


def _bad(args, tmp_path, monkeypatch):
    root, base = _valid_project(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["plan", "inventory.yml", *args])
    assert isinstance(result.exception, SystemExit), (result.exception, result.output)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) <= 25
    assert not (root / ".provision").exists()
    assert list(base.iterdir()) == []
    return result.output


def test_limit_matching_nothing(tmp_path, monkeypatch, no_connections):
    output = _bad(["--limit", "nosuchhost"], tmp_path, monkeypatch)
    assert "--limit 'nosuchhost' matches no host" in output
    assert no_connections == []


def test_limit_with_a_bad_regex(tmp_path, monkeypatch, no_connections):
    output = _bad(["--limit", "~web[0-9"], tmp_path, monkeypatch)
    assert "~web[0-9" in output
    assert no_connections == []


def test_extra_vars_file_missing(tmp_path, monkeypatch, no_connections):
    output = _bad(["-e", "@nope.yml"], tmp_path, monkeypatch)
    assert "extra vars file not found: nope.yml" in output


def test_extra_vars_file_not_a_mapping(tmp_path, monkeypatch, no_connections):
    (tmp_path / "ev.yml").write_text("- a\n- b\n")
    output = _bad(["-e", f"@{tmp_path / 'ev.yml'}"], tmp_path, monkeypatch)
    assert "extra vars file must be a mapping, found a list" in output


def test_extra_vars_inline_yaml_error(tmp_path, monkeypatch, no_connections):
    output = _bad(["-e", "{a: [1, 2}"], tmp_path, monkeypatch)
    assert "-e:1:" in output and "YAML syntax error" in output


def test_play_tags_are_not_silently_ignored(tmp_path, monkeypatch, no_connections):
    root, _base = _valid_project(tmp_path, monkeypatch)
    (root / "playbooks/site.yml").write_text(SITE.replace("  roles:", "  tags: [x]\n  roles:"))
    from provision.project.compile import Selection, compile_run

    compiled = compile_run(
        root / "inventory.yml", root / "playbooks/site.yml", selection=Selection(tags=["x"])
    )
    (task,) = compiled.plays[0][1][0].tasks
    assert task.skip_reason == ""
