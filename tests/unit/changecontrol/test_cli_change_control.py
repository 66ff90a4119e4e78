"""plan -o / show / apply PLAN / confirmation / audit, end to end with local hosts whose
files live under tmp_path (the host record goes to tmp_path too)."""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import multiprocessing
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from provision.changecontrol import audit, confirm, inputs
from provision.cli import main

SECRET_VAR = "s3cr3t-T0ken-value"
SECRET_TASK = "hunter2-task-secret"
SECRET_EXTRA = "xtra-S3cret-pass"

INVENTORY = """\
all:
  hosts:
    a: {ansible_connection: local}
    b: {ansible_connection: local}
"""

PLAYBOOK = """\
- hosts: all
  secrets: [api_token, extra_pw]
  vars:
    out: "{{ playbook_dir }}/out/{{ inventory_hostname }}"
    greeting: hello
    api_token: "SECRET_VAR"
    extra_pw: none-given
  tasks:
    - name: output directory
      directory: {path: "{{ out }}", mode: "0750", owner: root, group: root}
    - name: greeting file
      copy: {dest: "{{ out }}/greeting", content: "say {{ greeting }}\\n", owner: root, group: root}
    - name: token line
      line: {path: "{{ out }}/app.conf", line: "token={{ api_token }}", owner: root, group: root}
    - name: extra line
      line: {path: "{{ out }}/extra.conf", line: "pw={{ extra_pw }}", owner: root, group: root}
    - name: secret file
      copy: {dest: "{{ out }}/pw", content: "SECRET_TASK\\n", mode: "0600"}
      secret: true
""".replace("SECRET_VAR", SECRET_VAR).replace("SECRET_TASK", SECRET_TASK)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    record = str(tmp_path / "host-record/last-apply.json")
    monkeypatch.setenv("PROVISION_HOST_RECORD", str(record))
    monkeypatch.setattr(confirm, "interactive", lambda: False)
    for name in ("PROVISION_PLAN_KEY", "PROVISION_PLAN_KEY_FILE", "PROVISION_AUDIT_LOG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return tmp_path


def cli(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    return result


def make_plan(*extra: str) -> tuple[object, str]:
    result = cli("plan", "inventory.yml", "-p", "site.yml", "-o", "change.plan", *extra)
    assert result.exit_code == 4, result.output
    sha = re.search(r"sha256: ([0-9a-f]{64})", result.output)
    assert sha, result.output
    return result, sha.group(1)


def audit_lines(project: Path) -> list[dict]:
    path = project / ".provision/audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plan_then_apply_the_file_converges(project: Path) -> None:
    _, sha = make_plan()
    plan = project / "change.plan"
    assert hashlib.sha256(plan.read_bytes()).hexdigest() == sha
    assert plan.stat().st_mode & 0o777 == 0o600
    assert (project / ".provision/plan.key").stat().st_mode & 0o777 == 0o600
    assert not (project / "out").exists()
    applied = cli("apply", "change.plan", "--expect-sha256", sha)
    assert applied.exit_code == 0, applied.output
    assert (project / "out/a/greeting").read_text() == "say hello\n"
    assert (project / "out/b/app.conf").read_text() == f"token={SECRET_VAR}\n"
    lines = audit_lines(project)
    assert [line["host"] for line in lines] == ["a", "b"]
    record = json.loads((project / "host-record/last-apply.json").read_text())
    for line in lines:
        assert line["plan_sha256"] == sha and line["result"] == "changed"
        assert line["run_id"] == record["run_id"]
        assert {c["task"] for c in line["changes"]} == {c["task"] for c in record["changed"]}
        for key in ("time", "user", "commit", "dirty", "exit_code"):
            assert key in line
    assert record["plan_sha256"] == sha and record["who"] == lines[0]["user"]
    # the same plan again: the hosts moved (by the plan itself): stale, nothing done
    again = cli("apply", "change.plan")
    assert again.exit_code == 5, again.output
    assert "plan is stale" in again.output
    assert len(audit_lines(project)) == 4
    assert audit_lines(project)[-1]["result"] == "refused: stale plan"


def drift_host_file(project: Path) -> None:
    (project / "out/a").mkdir(parents=True)
    (project / "out/a/greeting").write_text("edited by hand\n")


def drift_input(name: str, old: str, new: str):
    def change(project: Path) -> None:
        path = project / name
        path.write_text(path.read_text().replace(old, new))

    return change


DRIFTS = [
    ("host-file", drift_host_file, ["a"], "greeting: changed"),
    ("playbook", drift_input("site.yml", "hello", "hi"), ["a", "b"], "site.yml: changed"),
    (
        "inventory",
        drift_input("inventory.yml", "b: {", "b: {ansible_port: 22, "),
        ["a", "b"],
        "inventory.yml: changed",
    ),
]


@pytest.mark.parametrize(("name", "change", "refused", "shown"), DRIFTS, ids=[d[0] for d in DRIFTS])
def test_stale_plan_refused_per_class(project: Path, name, change, refused, shown) -> None:
    make_plan()
    change(project)
    result = cli("apply", "change.plan")
    assert result.exit_code == 5, result.output
    assert "plan is stale" in result.output and shown in result.output
    assert "refused: the plan is stale" in result.output
    for host in ("a", "b"):
        converged = (project / f"out/{host}/app.conf").exists()
        assert converged is (host not in refused)
    results = {line["host"]: line["result"] for line in audit_lines(project)}
    assert {h for h, r in results.items() if r == "refused: stale plan"} == set(refused)


def test_ansible_cfg_is_an_input(project: Path) -> None:
    (project / "ansible.cfg").write_text("[defaults]\nforks = 5\n")
    _, sha = make_plan()
    shown = cli("show", "change.plan", "--format", "json")
    kinds = {e["path"]: e["kind"] for e in json.loads(shown.output)["inputs"]}
    assert kinds.get("ansible.cfg") == "ansible.cfg", kinds
    (project / "ansible.cfg").write_text("[defaults]\nforks = 3\n")
    result = cli("apply", "change.plan", "--expect-sha256", sha)
    assert result.exit_code == 5, result.output
    assert "ansible.cfg: changed" in result.output
    assert not (project / "out").exists()


def test_role_template_and_vars_file_are_inputs(project: Path) -> None:
    role = project / "roles/motd"
    (role / "tasks").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "tasks/main.yml").write_text(
        "- name: motd\n  template:\n    src: motd.j2\n"
        '    dest: "{{ playbook_dir }}/out/motd-{{ inventory_hostname }}"\n'
    )
    (role / "templates/motd.j2").write_text("hello {{ inventory_hostname }}\n")
    (project / "group_vars").mkdir()
    (project / "group_vars/all.yml").write_text("unused: 1\n")
    (project / "site.yml").write_text(PLAYBOOK + "- hosts: all\n  roles: [motd]\n")
    make_plan()
    doc = json.loads((project / "change.plan").read_text())
    paths = {e["path"]: e for e in doc["inputs"]}
    assert paths["roles/motd/templates/motd.j2"]["digest"].startswith("sha256:")
    assert paths["group_vars/all.yml"]["digest"].startswith("hmac-sha256:")
    assert paths["site.yml"]["digest"].startswith("hmac-sha256:")  # holds a secret value
    (role / "templates/motd.j2").write_text("bye\n")
    result = cli("apply", "change.plan")
    assert result.exit_code == 5 and "roles/motd/templates/motd.j2: changed" in result.output


def test_tool_change_and_extra_vars_change_are_stale(project: Path, monkeypatch) -> None:
    make_plan("-e", f"extra_pw={SECRET_EXTRA}")
    result = cli("apply", "change.plan", "-e", "extra_pw=other-value")
    assert result.exit_code == 5 and "extra variables (-e) differ" in result.output
    monkeypatch.setattr(inputs, "tool_digest", lambda: "provision 9.9 sha256:" + "0" * 64)
    result = cli("apply", "change.plan", "-e", f"extra_pw={SECRET_EXTRA}")
    assert result.exit_code == 5 and "(provision): changed" in result.output
    monkeypatch.undo()
    monkeypatch.chdir(Path.cwd())


def test_stale_abort_touches_no_host(project: Path) -> None:
    make_plan()
    drift_host_file(project)
    result = cli("apply", "change.plan", "--stale=abort")
    assert result.exit_code == 5, result.output
    assert not (project / "out/b").exists()
    assert (project / "out/a/greeting").read_text() == "edited by hand\n"
    assert "--stale=abort" in result.output


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("say hello", "say HELLO"),
        lambda t: re.sub(r'"pending": \d+', '"pending": 0', t, count=1),
        lambda t: t.replace("create directory", "remove directory", 1),
    ],
    ids=["diff", "count", "summary"],
)
def test_tampered_plan_is_refused_before_any_host(project: Path, edit) -> None:
    make_plan()
    plan = project / "change.plan"
    text = plan.read_text()
    assert edit(text) != text
    plan.write_text(edit(text))
    result = cli("apply", "change.plan")
    assert result.exit_code == 2, result.output
    assert "modified after it was written" in result.output
    assert not (project / "out").exists()
    assert not (project / ".provision/audit.jsonl").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "provision-plan/1"}', "not a valid plan file"),
        ('{"schema": "provision-plan/2", "plays": []}', "provision-plan/2"),
        ('{"schema": "provision-plan/1", "run": ', "not JSON"),
    ],
)
def test_malformed_plan_is_exit_2(project: Path, content: str, message: str) -> None:
    (project / "change.plan").write_text(content)
    result = cli("apply", "change.plan")
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not (project / "out").exists()
    shown = cli("show", "change.plan")
    assert shown.exit_code == 2 and message in shown.output


def test_wrong_expected_hash_refused_before_any_host(project: Path) -> None:
    _, sha = make_plan()
    wrong = ("0" if sha[0] != "0" else "1") + sha[1:]
    result = cli("apply", "change.plan", "--expect-sha256", wrong)
    assert result.exit_code == 2 and "not the approved" in result.output
    assert not (project / "out").exists()
    assert not (project / "host-record").exists()
    result = cli("apply", "inventory.yml", "-p", "site.yml", "--expect-sha256", sha)
    assert result.exit_code == 2 and "is for a plan file" in result.output
    # a damaged file is refused by its hash first
    (project / "change.plan").write_text('{"schema": "provision-plan/1", broken')
    result = cli("apply", "change.plan", "--expect-sha256", sha)
    assert result.exit_code == 2 and "not the approved" in result.output


@pytest.mark.parametrize(
    "flag", [["-l", "a"], ["-p", "site.yml"], ["-t", "x"], ["--skip-tags", "x"]]
)
def test_plan_file_fixes_the_run(project: Path, flag: list[str]) -> None:
    make_plan()
    result = cli("apply", "change.plan", *flag)
    assert result.exit_code == 2 and "a plan file fixes" in result.output


def test_plan_made_with_another_key(project: Path) -> None:
    make_plan()
    (project / ".provision/plan.key").unlink()
    result = cli("apply", "change.plan")
    assert result.exit_code == 2 and "another controller" in result.output
    result = CliRunner(env={"PROVISION_PLAN_KEY": "x" * 40}).invoke(main, ["apply", "change.plan"])
    assert result.exit_code == 2 and "another plan key" in result.output


def test_show_text_and_json(project: Path) -> None:
    make_plan()
    text = cli("show", "change.plan")
    assert text.exit_code == 0, text.output
    assert "will change" in text.output and "integrity ok" in text.output
    assert "2 hosts to change" in text.output
    assert SECRET_VAR not in text.output and "token=********" in text.output
    doc = cli("show", "change.plan", "--format", "json")
    assert json.loads(doc.output) == json.loads((project / "change.plan").read_text())


def encodings(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        secret.upper(),
        secret.lower(),
        secret[::-1],
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b32encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        codecs.encode(secret, "rot13"),
        secret.encode("utf-16-le").decode("latin-1"),
        "\\u" + "\\u".join(f"{ord(c):04x}" for c in secret),
    ]


def test_secrets_never_in_the_plan_file_in_any_encoding(project: Path) -> None:
    make_plan("-e", f"extra_pw={SECRET_EXTRA}")
    data = (project / "change.plan").read_bytes()
    text = data.decode()
    key = (project / ".provision/plan.key").read_bytes().strip().decode()
    for secret in (SECRET_VAR, SECRET_TASK, SECRET_EXTRA, key):
        for form in encodings(secret):
            assert form not in text, (secret, form)
            assert form.encode() not in data
    shown = cli("show", "change.plan", "-vv")
    for secret in (SECRET_VAR, SECRET_TASK, SECRET_EXTRA):
        assert secret not in shown.output


def test_secret_changed_between_plan_and_apply(project: Path) -> None:
    make_plan("-e", f"extra_pw={SECRET_EXTRA}")
    result = cli("apply", "change.plan", "-e", f"extra_pw={SECRET_EXTRA}-2")
    assert result.exit_code == 5
    assert "a secret value differs" in result.output
    assert SECRET_EXTRA not in result.output


def test_confirmation_declined_changes_nothing(project: Path, monkeypatch) -> None:
    monkeypatch.setattr(confirm, "interactive", lambda: True)
    result = cli("apply", "inventory.yml", "-p", "site.yml", input="n\n")
    assert result.exit_code == 6, result.output
    assert "Apply these changes?" in result.output and "greeting file" in result.output
    assert "2 of 2 host(s) to change" in result.output
    assert SECRET_VAR not in result.output
    assert not (project / "out").exists()


def test_confirmation_accepted_applies_what_was_shown(project: Path, monkeypatch) -> None:
    monkeypatch.setattr(confirm, "interactive", lambda: True)
    result = cli("apply", "inventory.yml", "-p", "site.yml", input="y\n")
    assert result.exit_code == 0, result.output
    assert (project / "out/a/greeting").exists()
    # converged: nothing to ask
    again = cli("apply", "inventory.yml", "-p", "site.yml")
    assert again.exit_code == 0 and "Apply these changes?" not in again.output


def test_confirmation_for_a_plan_file(project: Path, monkeypatch) -> None:
    make_plan()
    monkeypatch.setattr(confirm, "interactive", lambda: True)
    result = cli("apply", "change.plan", input="no\n")
    assert result.exit_code == 6 and "Apply this plan?" in result.output
    assert not (project / "out").exists()
    result = cli("apply", "change.plan", "-y")
    assert result.exit_code == 0 and "Apply this plan?" not in result.output


def test_not_a_terminal_never_asks(project: Path) -> None:
    result = cli("apply", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 0 and "Apply" not in result.output


def test_converged_rerun_is_one_command_and_writes_no_record(project: Path) -> None:
    cli("apply", "inventory.yml", "-p", "site.yml")
    record = project / "host-record/last-apply.json"
    before = record.read_bytes()
    result = CliRunner().invoke(
        main, ["apply", "inventory.yml", "-p", "site.yml", "--format", "json"]
    )
    doc = json.loads(result.stdout)
    for host in doc["hosts"].values():
        assert (host["connections"], host["remote_commands"]) == (1, 1)
    assert record.read_bytes() == before
    lines = audit_lines(project)
    assert len(lines) == 4 and lines[-1]["result"] == "ok" and lines[-1]["changes"] == []


def test_changing_apply_adds_no_remote_command(project: Path) -> None:
    """The record rides on the post-apply probe: commands = probe + the task commands (one
    batch: nothing between them needs a decision) + the re-probe that writes the record."""
    result = CliRunner().invoke(
        main, ["apply", "inventory.yml", "-p", "site.yml", "--format", "json"]
    )
    doc = json.loads(result.stdout)
    tasks = doc["hosts"]["a"]["tasks"]
    assert sum(len(t["commands"]) for t in tasks if t["status"] == "changed") > 1
    assert doc["hosts"]["a"]["remote_commands"] == 3
    assert (project / "host-record/last-apply.json").exists()


def test_audit_log_path_option_and_env(project: Path, monkeypatch) -> None:
    cli("apply", "inventory.yml", "-p", "site.yml", "--audit-log", "logs/a.jsonl", "-l", "a")
    assert len((project / "logs/a.jsonl").read_text().splitlines()) == 1
    monkeypatch.setenv("PROVISION_AUDIT_LOG", str(project / "env.jsonl"))
    cli("apply", "inventory.yml", "-p", "site.yml", "-l", "b")
    assert json.loads((project / "env.jsonl").read_text())["host"] == "b"
    assert (project / "env.jsonl").stat().st_mode & 0o777 == 0o600


def test_audit_has_git_commit_and_dirty_flag(project: Path) -> None:
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(git + ["add", "inventory.yml", "site.yml"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    cli("apply", "inventory.yml", "-p", "site.yml")
    line = audit_lines(project)[0]
    assert line["commit"] == head and line["dirty"] is False
    (project / "site.yml").write_text(PLAYBOOK.replace("hello", "hallo"))
    plan = cli("plan", "inventory.yml", "-p", "site.yml")
    assert "drifted since" in plan.output or "last applied" in plan.output
    cli("apply", "inventory.yml", "-p", "site.yml")
    assert audit_lines(project)[-1]["dirty"] is True
    subprocess.run(git + ["commit", "-qam", "y"], check=True)
    plan = cli("plan", "inventory.yml", "-p", "site.yml")
    assert "the project is now at" in plan.output


def _writer(path: str, worker: int) -> None:
    for n in range(40):
        line = json.dumps({"worker": worker, "n": n, "pad": "x" * (3000 + worker * 500)})
        audit.append_lines(Path(path), [line, line])


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    procs = [multiprocessing.Process(target=_writer, args=(str(path), w)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 6 * 40 * 2
    parsed = [json.loads(line) for line in lines]
    for first, second in zip(parsed[::2], parsed[1::2], strict=True):
        assert first == second  # the two lines of one write stayed together


def test_audit_masks_secrets_in_errors(project: Path) -> None:
    (project / "out/a/app.conf").mkdir(parents=True)
    cli("apply", "inventory.yml", "-p", "site.yml")
    text = (project / ".provision/audit.jsonl").read_text()
    for secret in (SECRET_VAR, SECRET_TASK):
        for form in encodings(secret):
            assert form not in text
    assert any(line["result"] == "failed" for line in audit_lines(project))


def test_plan_from_inventory_sources(project: Path) -> None:
    """`-i` sources (here two files) are kept in the plan and used again by apply."""
    (project / "more.yml").write_text("all:\n  hosts:\n    c: {ansible_connection: local}\n")
    made = cli("plan", "-i", "inventory.yml", "-i", "more.yml", "-p", "site.yml", "-o", "x.plan")
    assert made.exit_code == 4, made.output
    run = json.loads((project / "x.plan").read_text())["run"]
    assert (run["inventory"], run["inventory_sources"]) == ("inventory.yml", ["more.yml"])
    applied = cli("apply", "x.plan")
    assert applied.exit_code == 0, applied.output
    assert (project / "out/c/greeting").exists()
    refused = cli("apply", "x.plan", "-i", "more.yml")
    assert refused.exit_code == 2 and "a plan file fixes" in refused.output
