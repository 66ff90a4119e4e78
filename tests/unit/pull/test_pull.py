"""provision pull: a git repository in tmp (file:// URL and bundle) or a directory, applied
to a local host whose files live under tmp_path; the audit line and the host record."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision import pull as pull_mod
from provision.cli import main

INVENTORY = """\
all:
  hosts:
    web1: {ansible_host: 192.0.2.10}
    web2: {ansible_host: 192.0.2.11}
"""

PLAYBOOK = """\
- hosts: all
  vars:
    out: "OUT/{{ inventory_hostname }}"
    greeting: GREETING
  tasks:
    - name: output directory
      directory: {path: "{{ out }}", mode: "0755"}
    - name: greeting file
      copy: {dest: "{{ out }}/greeting", content: "say {{ greeting }}\\n"}
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def write_project(repo: Path, out: Path, greeting: str) -> None:
    (repo / "playbooks").mkdir(parents=True, exist_ok=True)
    (repo / "inventory.yml").write_text(INVENTORY)
    text = PLAYBOOK.replace("OUT", str(out)).replace("GREETING", greeting)
    (repo / "playbooks" / "site.yml").write_text(text)


def commit(repo: Path, out: Path, greeting: str) -> str:
    write_project(repo, out, greeting)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", greeting, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    record = str(tmp_path / "host-record/last-apply.json")
    monkeypatch.setenv("PROVISION_HOST_RECORD", record)
    monkeypatch.setattr(pull_mod, "this_machine", lambda: {"web1"})
    monkeypatch.delenv("PROVISION_AUDIT_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    return {
        "tmp": tmp_path,
        "repo": repo,
        "out": tmp_path / "out",
        "cache": tmp_path / "cache",
        "record": Path(record),
    }


def run_pull(env: dict[str, Path], *args: str):
    result = CliRunner().invoke(
        main, ["pull", "-i", "inventory.yml", "--cache-dir", str(env["cache"]), *args]
    )
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    return result


def audit_lines(env: dict[str, Path]) -> list[dict]:
    path = env["cache"] / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_git_url_converges_then_follows_a_commit(env: dict[str, Path]) -> None:
    first = commit(env["repo"], env["out"], "hello")
    url = f"file://{env['repo']}"
    result = run_pull(env, url)
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web1" / "greeting").read_text() == "say hello\n"
    assert not (env["out"] / "web2").exists()  # only the host that is this machine
    line = audit_lines(env)[-1]
    assert (line["host"], line["commit"], line["dirty"]) == ("web1", first, False)
    assert line["changes"]
    record = json.loads(env["record"].read_text())
    assert record["commit"] == first and record["run_id"] == line["run_id"]
    # again: nothing to change, still exit 0, tree not dirty (.provision/ is excluded)
    result = run_pull(env, url)
    assert result.exit_code == 0, result.output
    assert audit_lines(env)[-1]["changes"] == []
    assert audit_lines(env)[-1]["dirty"] is False
    second = commit(env["repo"], env["out"], "bonjour")
    result = run_pull(env, url)
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web1" / "greeting").read_text() == "say bonjour\n"
    assert audit_lines(env)[-1]["commit"] == second
    assert len(audit_lines(env)) == 3


def test_ref_checks_out_an_older_commit(env: dict[str, Path]) -> None:
    first = commit(env["repo"], env["out"], "one")
    commit(env["repo"], env["out"], "two")
    result = run_pull(env, f"file://{env['repo']}", "--ref", first)
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web1" / "greeting").read_text() == "say one\n"


def test_bundle_and_directory_sources(env: dict[str, Path]) -> None:
    commit(env["repo"], env["out"], "bundled")
    bundle = env["tmp"] / "project.bundle"
    git("bundle", "create", "-q", str(bundle), "main", cwd=env["repo"])
    result = run_pull(env, str(bundle), "--ref", "main")
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web1" / "greeting").read_text() == "say bundled\n"
    write_project(env["repo"], env["out"], "from-dir")
    result = run_pull(env, str(env["repo"]))
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web1" / "greeting").read_text() == "say from-dir\n"


def test_limit_self_and_hostname_by_address(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(env["repo"], env["out"], "x")
    result = run_pull(env, f"file://{env['repo']}", "--limit-self", "web2")
    assert result.exit_code == 0, result.output
    assert (env["out"] / "web2" / "greeting").exists()
    assert not (env["out"] / "web1").exists()
    monkeypatch.setattr(pull_mod, "this_machine", lambda: {"192.0.2.11"})
    assert (
        pull_mod.pick_host({"web1": "192.0.2.10", "web2": "192.0.2.11"}, None, {"192.0.2.11"})
        == "web2"
    )


@pytest.mark.parametrize(
    ("names", "limit_self", "message"),
    [
        ({"other"}, None, "no inventory host is this machine"),
        ({"web1", "web2"}, None, "several inventory hosts match this machine: web1, web2"),
        ({"web1"}, "nope", "--limit-self 'nope': no such host"),
    ],
)
def test_pick_host_errors(names: set[str], limit_self: str | None, message: str) -> None:
    with pytest.raises(pull_mod.PullError, match=message.replace("(", r"\(")):
        pull_mod.pick_host({"web1": "a", "web2": "b"}, limit_self, names)


def test_no_matching_host_is_exit_2(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    commit(env["repo"], env["out"], "x")
    monkeypatch.setattr(pull_mod, "this_machine", lambda: {"elsewhere"})
    result = run_pull(env, f"file://{env['repo']}")
    assert result.exit_code == 2
    assert "no inventory host is this machine" in result.output
    assert not env["out"].exists()


BAD_SOURCES = [
    "-uhack",
    "--upload-pack=touch /tmp/x",
    "ext::sh -c touch% /tmp/pwned",
    "fd::3",
    "file::/tmp",
    "ftp://example.invalid/repo.git",
    "http://host/repo\n.git",
    "http://host/repo\r.git",
    "http://host/repo\v.git",
    "http://host/repo\f.git",
    "http://host/repo\x85.git",
    "http://host/repo\u2028.git",
    "http://host/repo\u2029.git",
    "http://host/re po.git",
    "http://host/\x00repo",
    "",
    "no/such/dir",
    "../nowhere",
]


@pytest.mark.parametrize("source", BAD_SOURCES)
def test_bad_sources_are_refused(env: dict[str, Path], source: str) -> None:
    result = run_pull(env, "--", source) if source.startswith("-") else run_pull(env, source)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert not (env["tmp"] / "pwned").exists() and not env["out"].exists()


BAD_REFS = ["-b", "--upload-pack=x", "a:b", "a..b", "ma in", "a\nb", "a\x85b", "a\u2028b", ""]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_bad_refs_are_refused(env: dict[str, Path], ref: str) -> None:
    commit(env["repo"], env["out"], "x")
    result = run_pull(env, f"file://{env['repo']}", f"--ref={ref}")
    assert result.exit_code == 2, result.output
    assert not env["out"].exists()


def test_missing_ref_is_exit_2_with_git_message(env: dict[str, Path]) -> None:
    commit(env["repo"], env["out"], "x")
    result = run_pull(env, f"file://{env['repo']}", "--ref", "no-such-branch")
    assert result.exit_code == 2
    assert "git fetch failed" in result.output


def test_ref_on_a_directory_is_refused(env: dict[str, Path]) -> None:
    write_project(env["repo"], env["out"], "x")
    result = run_pull(env, str(env["repo"]), "--ref", "main")
    assert result.exit_code == 2
    assert "--ref is for a git URL" in result.output


def test_protocol_allow_list_is_passed_to_git(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_run(argv, **kwargs):
        seen.update(argv=argv, env=kwargs["env"])
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setattr(pull_mod.subprocess, "run", fake_run)
    pull_mod._git(["fetch", "--", "https://h/r.git", "main"])
    assert seen["env"]["GIT_ALLOW_PROTOCOL"] == "file:git:http:https:ssh"
    assert seen["argv"][0] == "git" and isinstance(seen["argv"], list)


def test_a_second_pull_waits_for_none_and_exits_2(env: dict[str, Path]) -> None:
    import fcntl

    commit(env["repo"], env["out"], "x")
    env["cache"].mkdir()
    with open(env["cache"] / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_pull(env, f"file://{env['repo']}")
    assert result.exit_code == 2
    assert "another provision pull holds" in result.output
    assert not env["out"].exists()


def test_relative_audit_log_is_taken_from_where_pull_was_started(env: dict[str, Path]) -> None:
    commit(env["repo"], env["out"], "x")
    result = run_pull(env, "--audit-log", "my-audit.jsonl", f"file://{env['repo']}")
    assert result.exit_code == 0, result.output
    line = json.loads((env["tmp"] / "my-audit.jsonl").read_text())
    assert line["host"] == "web1"
