"""The benchmark stops when any contestant fails a run: a clear message (tool, run, N, exit
code, first error line), exit 1, and nothing written from that run (no results file, no
profile, no plot or docs). The lab is replaced by fakes; each contestant is a small shell
command whose output and exit code the case chooses, read by the harness's real parsers."""
# ruff: noqa: E501  (verbatim tool output lines)

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchcore  # noqa: E402
import harness  # noqa: E402

PROVISION_OK = json.dumps({"hosts": {"rocky1": {"counts": {"changed": 0, "pending": 0}}}})
PROVISION_HOST_KEY = json.dumps(
    {
        "exit_code": 3,
        "hosts": {
            "rocky1": {
                "status": "unreachable",
                "error": "rocky1: HOST KEY CHANGED for rocky@10.200.0.11:22: expected SHA256:aaa, got SHA256:bbb; refusing to connect.\n  if the host was reinstalled, remove its old line",
                "counts": {"changed": 0, "pending": 0},
                "tasks": [],
            }
        },
    }
)
PROVISION_TASK_FAILED = json.dumps(
    {
        "hosts": {
            "rocky1": {
                "status": "failed",
                "error": "",
                "counts": {"failed": 1},
                "tasks": [
                    {"name": "ok one", "status": "ok", "message": ""},
                    {
                        "name": "docker-ce installed",
                        "status": "failed",
                        "message": "dnf exited 1\nmore",
                    },
                ],
            }
        }
    }
)
ANSIBLE_UNREACHABLE = """\
PLAY [Docker hosts] ************************************************************

TASK [Gathering Facts] *********************************************************
fatal: [rocky1]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: Host key verification failed.", "unreachable": true}

PLAY RECAP *********************************************************************
rocky1                     : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""
ANSIBLE_OK = """\
PLAY RECAP *********************************************************************
rocky1                     : ok=24   changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
"""
PYINFRA_OK = """\
--> Results:
    Operation                                     Hosts   Success   Error   No Change
    Grand total                                   28      -         -       28
"""
PYINFRA_DRY_OK = """\
    Operation                                     Change
    dnf proxy URL in dnf.conf [main]              -
--> Beginning operation run...
"""


# ------------------------------------------------------------------ the first error line

FIRST_ERROR_CASES = [
    ("provision host error", PROVISION_HOST_KEY, "", "rocky1: rocky1: HOST KEY CHANGED for rocky@10.200.0.11:22: expected SHA256:aaa, got SHA256:bbb; refusing to connect."),
    ("provision failed task", PROVISION_TASK_FAILED, "", "rocky1: docker-ce installed: dnf exited 1"),
    ("provision input error", "", "error: inventory.yml:3: ansible_port must be a port number\n  groups: (none)", "error: inventory.yml:3: ansible_port must be a port number"),
    ("ansible fatal, recap skipped", ANSIBLE_UNREACHABLE, "", 'fatal: [rocky1]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: Host key verification failed.", "unreachable": true}'),
    ("ansible recap only", ANSIBLE_OK, "", ANSIBLE_OK.splitlines()[-1].strip()),
    ("pyinfra on stderr", "", "--> Loading config...\n--> [rocky1] Could not connect (Host key mismatch)\n--> pyinfra error: No hosts remaining!", "--> [rocky1] Could not connect (Host key mismatch)"),
    ("floor: ssh refuses", "", "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n", "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @"),
    ("floor: plain ssh message", "", "Host key verification failed.\r\n", "Host key verification failed."),
    ("stderr before stdout", "error: on stdout", "error: on stderr", "error: on stderr"),
    ("ansi colours stripped", "\x1b[31mfatal: boom\x1b[0m", "", "fatal: boom"),
    ("no error word: last stderr line", "all good\n", "first\nlast\n\n", "last"),
    ("no error word, no stderr", "one\ntwo\n", "", "two"),
    ("no output", "", "", "(no output)"),
    ("only blank lines", "\n\n \n", "\t\n", "(no output)"),
    ("not provision JSON", "[1, 2]", "", "[1, 2]"),
    ("JSON without hosts", '{"hosts": null}', "", '{"hosts": null}'),
    ("huge line cut", "error: " + "x" * 5000, "", ("error: " + "x" * 5000)[: benchcore.MAX_ERROR_LINE - 1] + "…"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stdout", "stderr", "expected"),
    [c[1:] for c in FIRST_ERROR_CASES],
    ids=[c[0] for c in FIRST_ERROR_CASES],
)
def test_first_error_line(stdout: str, stderr: str, expected: str) -> None:
    assert benchcore.first_error_line(stdout, stderr) == expected
    assert "\n" not in benchcore.first_error_line(stdout, stderr)


# ------------------------------------------------------------------ the pinned key

FINGERPRINT = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"

LAB_VARS_CASES = [
    ("plain", f'docker_gpg_fingerprint: "{FINGERPRINT}"\n', FINGERPRINT),
    (
        "grouped, lower case",
        'docker_gpg_fingerprint: "060a 61c5 1b55 8a7f 742b 77aa c52f eb6b 621e 9f35"\n',
        FINGERPRINT,
    ),
    (
        "colons",
        f"docker_gpg_fingerprint: '{':'.join(FINGERPRINT[i : i + 4] for i in range(0, 40, 4))}'\n",
        FINGERPRINT,
    ),
    ("version 6", f'docker_gpg_fingerprint: "{"AB" * 32}"\n', "AB" * 32),
    ("missing", "other: 1\n", None),
    ("empty file", "", None),
    ("short key ID", 'docker_gpg_fingerprint: "621E9F35"\n', None),
    ("long key ID", 'docker_gpg_fingerprint: "C52FEB6B621E9F35"\n', None),
    ("41 digits", f'docker_gpg_fingerprint: "{FINGERPRINT}0"\n', None),
    ("not hex", f'docker_gpg_fingerprint: "{FINGERPRINT[:-1]}G"\n', None),
    ("shell", f'docker_gpg_fingerprint: "{FINGERPRINT}; rm -rf /"\n', None),
    ("line break", f'docker_gpg_fingerprint: "{FINGERPRINT[:20]}\\n{FINGERPRINT[20:]}x"\n', None),
    ("leading dash", f'docker_gpg_fingerprint: "-{FINGERPRINT}"\n', None),
    ("a list", f"docker_gpg_fingerprint: [{FINGERPRINT}]\n", None),
    ("not a mapping", "- a\n", None),
    ("bad YAML", "docker_gpg_fingerprint: [\n", None),
    ("no file", None, None),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in LAB_VARS_CASES], ids=[c[0] for c in LAB_VARS_CASES]
)
def test_lab_gpg_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, expected: str | None
) -> None:
    path = tmp_path / "vars.yml"
    if text is not None:
        path.write_text(text)
    monkeypatch.setattr(harness, "LAB_VARS", path)
    if expected is not None:
        assert harness.lab_gpg_fingerprint() == expected
    else:
        with pytest.raises(SystemExit, match="docker_gpg_fingerprint"):
            harness.lab_gpg_fingerprint()


def test_each_peer_gets_the_pinned_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vars.yml"
    path.write_text('docker_gpg_fingerprint: "060a 61c5 1b55 8a7f 742b 77aa c52f eb6b 621e 9f35"\n')
    monkeypatch.setattr(harness, "LAB_VARS", path)
    monkeypatch.setattr(harness, "WORK", tmp_path)
    lab = harness.Lab([("rocky1", "10.200.0.11")])
    floor = harness.invocation("floor", "warm", lab).argv
    assert floor[2] == FINGERPRINT and floor[-1] == "10.200.0.11"
    ansible = harness.invocation("ansible", "warm", lab)
    ansible.cleanup()
    assert ansible.argv[ansible.argv.index("-e") + 1] == f"@{path}"


# ------------------------------------------------------------------ the harness stops


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """main() with a fake lab and machine; the contestants' outputs come from `plan`."""
    results, work = tmp_path / "results", tmp_path / "work"
    results.mkdir()
    work.mkdir()
    monkeypatch.setattr(harness, "RESULTS", results)
    monkeypatch.setattr(harness, "WORK", work)
    lab_vars = work / "vars.yml"
    lab_vars.write_text(f'docker_gpg_fingerprint: "{FINGERPRINT}"\n')
    monkeypatch.setattr(harness, "LAB_VARS", lab_vars)
    monkeypatch.setattr(harness.os, "geteuid", lambda: 0)
    monkeypatch.setattr(harness, "machine", lambda: {})
    monkeypatch.setattr(harness, "versions", lambda: {})
    monkeypatch.setattr(harness, "engine_version", lambda: "abc123")
    monkeypatch.setattr(harness, "cli_help_seconds", lambda: benchcore.summarize([0.1]))
    monkeypatch.setattr(
        harness,
        "probe_floor",
        lambda lab, runs: {"probe_seconds_max_host": 1.0, "check_update_seconds_max_host": 0.5},
    )
    monkeypatch.setattr(harness, "run_quiet", lambda *a, **k: None)

    def profile(lab: harness.Lab, n: int) -> str:
        (work / f"profile-warm-n{n}.txt").write_text("profile\n")
        return f"profile-warm-n{n}.txt"

    monkeypatch.setattr(harness, "profile_provision", profile)
    state: dict[str, Any] = {
        "downs": 0,
        "reports": [],
        "plan": {},
        "runs": [],
        "out": results / "out.json",
    }

    def fresh(self: harness.Lab, n: int) -> float:
        self.hosts = [(f"rocky{i}", f"10.200.0.{10 + i}") for i in range(1, n + 1)]
        return 0.1

    def down(self: harness.Lab) -> None:
        state["downs"] += 1

    monkeypatch.setattr(harness.Lab, "fresh", fresh)
    monkeypatch.setattr(harness.Lab, "down", down)
    monkeypatch.setattr(harness.Lab, "journal", lambda self, since: [])
    monkeypatch.setattr(
        harness.Lab, "ssh", lambda self, address, command, stdin=None: (0, "dnf 4.14", "")
    )
    monkeypatch.setattr(harness, "report", state["reports"].append)
    real_invocation = harness.invocation

    def invocation(tool: str, kind: str, lab: harness.Lab) -> harness.Invocation:
        parse = real_invocation(tool, kind, lab).parse
        state["runs"].append((tool, kind))
        count = sum(1 for run in state["runs"] if run == (tool, kind))
        ok_out = {"provision": PROVISION_OK, "ansible": ANSIBLE_OK, "floor": ""}.get(tool, "")
        if tool == "pyinfra":
            ok_out = PYINFRA_DRY_OK if kind == "dry" else PYINFRA_OK
        stdout, stderr, rc = state["plan"].get((tool, kind, count), (ok_out, "", 0))
        (tmp_path / "out").write_text(stdout)
        (tmp_path / "err").write_text(stderr)
        script = f"cat '{tmp_path}/out'; cat '{tmp_path}/err' >&2; exit {rc}"
        return harness.Invocation(["sh", "-c", script], tmp_path, dict(os.environ), parse)

    monkeypatch.setattr(harness, "invocation", invocation)
    return state


def run_main(state: dict[str, Any], tools: str, hosts: str = "1") -> int:
    args = ["--hosts", hosts, "--runs", "2", "--slow-runs", "1", "--tools", tools]
    args += ["--latency", "", "--fleet", ""]
    return harness.main([*args, "--out", str(state["out"])])


def nothing_written(state: dict[str, Any]) -> None:
    results = state["out"].parent
    assert sorted(p.name for p in results.iterdir()) == [], "a failed run wrote results"
    assert state["reports"] == [], "a failed run made the plot"


def test_a_run_where_everyone_succeeds_writes_results_and_the_plot(bench: dict[str, Any]) -> None:
    assert run_main(bench, "floor,provision,pyinfra,ansible") == 0
    doc = json.loads(bench["out"].read_text())
    assert doc["missing"] == []
    assert set(doc["cells"]) == {"floor", "provision", "pyinfra", "ansible"}
    assert doc["profiles"] == {
        "1": os.path.relpath(bench["out"].parent / "profile-warm-n1.txt", harness.ROOT)
    }
    assert (bench["out"].parent / "profile-warm-n1.txt").is_file()
    assert bench["reports"] == [bench["out"]]
    assert bench["downs"] == 1


# (case, tools, hosts, failing (tool, kind, nth run of that kind), stdout, stderr, rc, expected line)
FAILURES = [
    ("provision cold, host key", "floor,provision", "1", ("provision", "cold", 1), PROVISION_HOST_KEY, "", 3,
     "rocky1: rocky1: HOST KEY CHANGED for rocky@10.200.0.11:22"),
    ("provision second run", "floor,provision", "1", ("provision", "warm", 1), PROVISION_TASK_FAILED, "", 2,
     "rocky1: docker-ce installed: dnf exited 1"),
    ("provision warm round", "provision,floor", "1", ("provision", "warm", 2), PROVISION_HOST_KEY, "", 3,
     "HOST KEY CHANGED"),
    ("provision dry, exit 4 with no JSON", "floor,provision", "1", ("provision", "dry", 1), "", "Traceback (most recent call last):\n  boom", 4,
     "Traceback (most recent call last):"),
    ("floor cold", "floor,provision", "1", ("floor", "cold", 1), "", "Host key verification failed.\n", 255,
     "Host key verification failed."),
    ("ansible unreachable, exit 4", "floor,ansible", "1", ("ansible", "cold", 1), ANSIBLE_UNREACHABLE, "", 4,
     "fatal: [rocky1]: UNREACHABLE!"),
    ("ansible exit 0 but failed host", "ansible", "1", ("ansible", "dry", 2), ANSIBLE_UNREACHABLE, "", 0,
     "fatal: [rocky1]: UNREACHABLE!"),
    ("pyinfra no table", "pyinfra,floor", "1", ("pyinfra", "warm", 2), "", "--> [rocky1] Could not connect (timed out)", 1,
     "--> [rocky1] Could not connect (timed out)"),
    ("second N fails after the first succeeded", "floor,provision", "1,2", ("provision", "cold", 2), PROVISION_HOST_KEY, "", 3,
     "HOST KEY CHANGED"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tools", "hosts", "failing", "stdout", "stderr", "rc", "expected"),
    [c[1:] for c in FAILURES],
    ids=[c[0] for c in FAILURES],
)
def test_a_failed_run_stops_the_benchmark_and_writes_nothing(
    bench: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tools: str,
    hosts: str,
    failing: tuple[str, str, int],
    stdout: str,
    stderr: str,
    rc: int,
    expected: str,
) -> None:
    bench["plan"][failing] = (stdout, stderr, rc)
    assert run_main(bench, tools, hosts) == 1
    nothing_written(bench)
    assert bench["downs"] == 1, "the lab is taken down after a failed run"
    assert bench["runs"][-1] == failing[:2], "runs went on after the failure"
    said = capsys.readouterr().err
    tool, kind, _ = failing
    n = hosts.split(",")[failing[2] - 1] if failing[1] == "cold" else hosts.split(",")[0]
    head = said.strip().splitlines()[-2]
    assert head.startswith(f"bench stopped: {tool} failed its {kind} run at N = {n} (exit {rc}): ")
    assert expected in head
    assert "no results written from this run" in said


def test_keep_lab_after_a_failure(bench: dict[str, Any]) -> None:
    bench["plan"][("provision", "cold", 1)] = (PROVISION_HOST_KEY, "", 3)
    args = ["--hosts", "1", "--runs", "1", "--tools", "provision", "--keep-lab"]
    args += ["--latency", "", "--fleet", ""]
    assert harness.main([*args, "--out", str(bench["out"])]) == 1
    assert bench["downs"] == 0
    nothing_written(bench)


# ------------------------------------------------------------------ routes and environment


def test_contestants_run_with_bytecode_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONSTARTUP", "/x.py")
    env = harness.contestant_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and "PYTHONSTARTUP" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_every_contestant_goes_through_the_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vars.yml"
    path.write_text(f'docker_gpg_fingerprint: "{FINGERPRINT}"\n')
    monkeypatch.setattr(harness, "LAB_VARS", path)
    monkeypatch.setattr(harness, "WORK", tmp_path)
    lab = harness.Lab([("rocky1", "10.200.0.11"), ("rocky2", "10.200.0.12")])
    routed = tmp_path / "routes" / "rtt20ms"
    lab.route = harness.Route(
        "rtt20ms",
        routed / "inventory.yml",
        routed / "pyinfra_inventory.py",
        routed / "known_hosts",
        [("127.0.0.1", 40001), ("127.0.0.1", 40002)],
    )
    floor = harness.invocation("floor", "warm", lab).argv
    assert floor[-2:] == ["127.0.0.1:40001", "127.0.0.1:40002"]
    assert str(routed / "known_hosts") in floor
    provision = harness.invocation("provision", "dry", lab).argv
    assert provision[2] == str(routed / "inventory.yml") and "--forks" not in provision
    lab.forks = 8
    assert harness.invocation("provision", "warm", lab).argv[-2:] == ["--forks", "8"]
    pyinfra = harness.invocation("pyinfra", "warm", lab).argv
    assert str(routed / "pyinfra_inventory.py") in pyinfra
    for tool in ("ansible", "ansible-mitogen", "ansible-defaults"):
        inv = harness.invocation(tool, "warm", lab)
        inv.cleanup()
        assert inv.argv[inv.argv.index("-i") + 1] == str(routed / "inventory.yml")
        assert inv.cwd == routed
        assert f"UserKnownHostsFile={routed / 'known_hosts'}" in inv.env["ANSIBLE_SSH_COMMON_ARGS"]
        assert ("ANSIBLE_STRATEGY" in inv.env) is (tool == "ansible-mitogen")
    lab.route = None
    assert harness.invocation("floor", "warm", lab).argv[-2:] == ["10.200.0.11", "10.200.0.12"]


# ------------------------------------------------------------------ latency and fleet parts


def test_a_lab_failure_in_the_fleet_part_keeps_the_results(
    bench: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fleet(ns: list[int], runs: int, lab: harness.Lab) -> dict[str, Any]:
        raise SystemExit("provision lab up failed:\nno room for 40 hosts")

    monkeypatch.setattr(harness, "bench_fleet", fleet)
    args = ["--hosts", "1", "--runs", "1", "--tools", "floor,provision", "--latency", ""]
    assert harness.main([*args, "--fleet", "1,40", "--out", str(bench["out"])]) == 0
    doc = json.loads(bench["out"].read_text())
    assert doc["missing"] == ["fleet (see the log)"]
    assert "fleet" not in doc and set(doc["cells"]) == {"floor", "provision"}
    assert bench["reports"] == [bench["out"]]


def test_a_contestant_failing_in_the_latency_part_stops_everything(
    bench: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def latency(*args: Any) -> dict[str, Any]:
        outcome = harness.Outcome("pyinfra", "warm", 1.0, 0.1, 1, False, None, 0, 1)
        outcome.error = "--> [rocky1] Could not connect (timed out)"
        raise harness.ContestantFailed(outcome)

    monkeypatch.setattr(harness, "bench_latency", latency)
    args = ["--hosts", "1", "--runs", "1", "--tools", "floor,pyinfra", "--fleet", ""]
    assert harness.main([*args, "--latency", "0,20", "--out", str(bench["out"])]) == 1
    nothing_written(bench)


def test_the_parts_get_their_settings(
    bench: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def latency(
        n: int, rtts: list[float], tools: list[str], runs: int, slow: int, lab: Any
    ) -> dict[str, Any]:
        seen["latency"] = (n, rtts, tools, runs, slow)
        return {"hosts": n, "rtts_ms": rtts, "rtt": {}}

    def fleet(ns: list[int], runs: int, lab: harness.Lab) -> dict[str, Any]:
        seen["fleet"] = (ns, runs)
        return {"hosts": ns, "summary": {}}

    monkeypatch.setattr(harness, "bench_latency", latency)
    monkeypatch.setattr(harness, "bench_fleet", fleet)
    args = ["--hosts", "", "--tools", "floor,provision,ansible-defaults", "--slow-runs", "2"]
    args += ["--latency", "0,20,80", "--latency-hosts", "3", "--latency-runs", "4"]
    args += ["--latency-tools", "floor,provision,pyinfra", "--fleet", "1,5", "--fleet-runs", "2"]
    assert harness.main([*args, "--out", str(bench["out"])]) == 0
    assert seen["latency"] == (3, [0.0, 20.0, 80.0], ["floor", "provision"], 4, 2)
    assert seen["fleet"] == ([1, 5], 2)
    doc = json.loads(bench["out"].read_text())
    assert doc["settings"]["latency_ms"] == [0.0, 20.0, 80.0] and doc["missing"] == []
    seen.clear()
    quick = ["--quick", "--tools", "floor,provision", "--out", str(bench["out"])]
    assert harness.main(quick) == 0
    assert seen["latency"][:2] == (1, [0.0, 20.0]) and seen["fleet"] == ([1, 2], 1)


# ------------------------------------------------------------------ CPU and peak memory

GNU_TIME_CASES = [
    ("plain", "0.41 0.07 51234\n", (0.48, 51234)),
    ("status line first", "Command exited with non-zero status 2\n1.00 0.50 900\n", (1.5, 900)),
    ("blank lines", "\n0.00 0.00 1500\n\n", (0.0, 1500)),
    ("empty", "", None),
    ("garbage", "time: cannot run foo: No such file or directory\n", None),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in GNU_TIME_CASES], ids=[c[0] for c in GNU_TIME_CASES]
)
def test_parse_gnu_time(text: str, expected: tuple[float, int] | None) -> None:
    found = harness.parse_gnu_time(text)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found[0] == pytest.approx(expected[0]) and found[1] == expected[1]


@pytest.mark.parametrize("code", [0, 1, 3, 100])
def test_run_with_rusage_exit_code_and_output(tmp_path: Path, code: int) -> None:
    script = f"echo out; echo err >&2; exit {code}"
    rc, out, err, usage = harness.run_with_rusage(["sh", "-c", script], tmp_path, dict(os.environ))
    assert (rc, out, err) == (code, "out\n", "err\n")
    assert usage.cpu_seconds >= 0 and usage.maxrss_kib > 0


def test_run_with_rusage_peak_memory_is_the_commands(tmp_path: Path) -> None:
    grow = [
        sys.executable,
        "-c",
        "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])",
    ]
    _, _, _, big = harness.run_with_rusage(grow, tmp_path, dict(os.environ))
    assert big.maxrss_kib >= 120 * 1024
    if harness.GNU_TIME.exists():
        # a small command forked from GNU time, not from this (big) pytest process
        _, _, _, small = harness.run_with_rusage(["true"], tmp_path, dict(os.environ))
        assert small.method == "GNU time"
        assert small.maxrss_kib < 20 * 1024


# ------------------------------------------------------------------ inotify room for a fleet

INOTIFY_CASES = [
    ("default 128, 40 hosts: raised", "128\n", 40, 128, "896"),
    ("already enough", "8192\n", 40, None, "8192"),
    ("exactly enough", "896\n", 40, None, "896"),
    ("one host", "128\n", 1, 128, "272"),
]


@pytest.mark.parametrize(
    ("text", "hosts", "restore", "after"),
    [c[1:] for c in INOTIFY_CASES],
    ids=[c[0] for c in INOTIFY_CASES],
)
def test_inotify_room(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    hosts: int,
    restore: int | None,
    after: str,
) -> None:
    path = tmp_path / "max_user_instances"
    path.write_text(text)
    monkeypatch.setattr(harness, "INOTIFY_INSTANCES", path)
    old, said = harness.inotify_for(hosts)
    assert old == restore
    assert path.read_text().strip() == after
    assert ("raised" in said) is (restore is not None)


def test_inotify_that_cannot_be_raised_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ro"
    path.mkdir()  # reading a directory fails: not readable
    monkeypatch.setattr(harness, "INOTIFY_INSTANCES", path)
    assert harness.inotify_for(40) == (None, "fs.inotify.max_user_instances not readable")

    class ReadOnly(type(tmp_path)):  # type: ignore[misc]
        def write_text(self, *args: Any, **kwargs: Any) -> int:
            raise PermissionError("read-only file system")

    ro = ReadOnly(tmp_path / "value")
    (tmp_path / "value").write_text("128\n")
    monkeypatch.setattr(harness, "INOTIFY_INSTANCES", ro)
    old, said = harness.inotify_for(40)
    assert old is None
    assert "cannot be raised" in said and "896 needed" in said and "~13" in said


@pytest.mark.parametrize(("hosts", "needed"), [(0, 256), (1, 272), (18, 544), (40, 896)])
def test_inotify_needed(hosts: int, needed: int) -> None:
    assert benchcore.inotify_needed(hosts) == needed
    assert benchcore.inotify_needed(hosts) >= 128 + 7 * hosts
