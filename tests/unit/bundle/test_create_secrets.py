"""`bundle create`: a proxy password never reaches a program's argv or environment on the
reference host (dnf reads it from a private 0600 configuration file, curl on its standard
input), the file is gone afterwards, and error output masks it. And the signatures of the
distribution's packages are checked: unsigned, badly signed or uncheckable ones refused."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from tests.unit.bundle.test_create import STUBS, request
from tests.unit.roles.argv_spy import leaked, run_spied

from provision.bundle.create import (
    DNF_CONF_PREFIX,
    build_script,
    cleanup_script,
    create_bundle,
    dnf_conf_path,
    mask_proxy,
    parse_build,
    parse_marked,
    plan_request,
    proxy_conf_lines,
    query_script,
)
from provision.bundle.format import BundleError
from provision.bundle.progress import Progress
from provision.bundle.verify import verify_bundle

from .helpers import ED25519, ED25519_FP

# Proxy passwords with every character a URL here may hold (the request refuses others).
CANARIES = [
    "c4n4ry01plain",
    "c4n4ry02%2F%3A%40enc",
    "c4n4ry03&a=b+c",
    "c4n4ry04~.-_",
    "c4n4ry05[x]#?",
    "c4n4ry06" + "x" * 1500,
]


def marker(secret: str) -> str:
    return secret[:8]


def proxy(secret: str) -> str:
    return f"http://alice:{secret}@proxy.example:3128"


@pytest.mark.parametrize("secret", CANARIES)
def test_query_and_build_keep_the_proxy_password_off_argv(tmp_path: Path, secret: str) -> None:
    plan = plan_request(request(tmp_path, proxy=proxy(secret), images=("registry:2",)))
    wanted = {"el9": list(plan.packages["el9"])}
    conf = dnf_conf_path("@@m")
    assert conf.startswith(DNF_CONF_PREFIX)
    scripts = [
        ("query", query_script(plan, "x86_64", "@@m")),
        ("build", build_script(plan, wanted, "x86_64", "rocky", "@@m")),
    ]
    for what, script in scripts:
        assert marker(secret) in script, "the proxy did not reach the script: proves nothing"
        run = run_spied(tmp_path, script)
        assert "ARGV [" in run.record and "dnf]" in run.record, run.stderr
        assert not leaked(run, marker(secret)), (what, leaked(run, marker(secret)))
        assert f"--config={conf}" in run.record, what
        assert not os.path.exists(conf), f"{what}: {conf} left behind"
        if what == "build":
            assert "[-K] [-]" in run.record  # curl reads its config (the proxy) on stdin
            work = [r for k, r in parse_marked("@@m", run.stdout) if k == "WORK"]
            assert work, run.stderr
            run_spied(tmp_path, cleanup_script(work[0], conf))
            assert not os.path.exists(work[0])


def _conf_after(tmp_path: Path, source: str | None, url: str) -> tuple[str, int]:
    """Run proxy_conf_lines over a dnf.conf with this text; the file's text and mode."""
    plan = plan_request(request(tmp_path, proxy=url))
    src = tmp_path / "dnf.conf"
    if source is not None:
        src.write_text(source)
    conf = str(tmp_path / "private.conf")
    lines = proxy_conf_lines(plan, conf, str(src))
    # the trap would remove it: replace it to look at the file
    script = "\n".join(["set -eu", *lines[1:]]) + "\n"
    subprocess.run(["sh", "-s"], input=script.encode(), check=True, cwd=tmp_path)
    return Path(conf).read_text(), stat.S_IMODE(os.stat(conf).st_mode)


CONF_CASES = [
    (
        "[main]\ngpgcheck=1\nproxy=http://old:3128\nproxy_username=u\nproxy_password=p\nbest=1\n",
        "[main]\nproxy=URL\ngpgcheck=1\nbest=1\n",
    ),
    ("[main]\ngpgcheck=1", "[main]\nproxy=URL\ngpgcheck=1\n"),  # no final line break
    (None, "[main]\nproxy=URL\n"),  # no dnf.conf at all
    ("", "[main]\nproxy=URL\n"),
    ("# comment\n[other]\nx=1\n", "# comment\n[other]\nx=1\n[main]\nproxy=URL\n"),
    ("[main]\n[site]\nproxy=http://repo-proxy\n", "[main]\nproxy=URL\n[site]\n"),
]


@pytest.mark.parametrize(("source", "expected"), CONF_CASES)
def test_private_dnf_conf(tmp_path: Path, source: str | None, expected: str) -> None:
    url = proxy("c4n4ry07")
    text, mode = _conf_after(tmp_path, source, url)
    assert text == expected.replace("URL", url)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (  # credentials from role dnf_proxy stay when the URL has none
            "[main]\nproxy = http://old:3128\nproxy_username=u\nproxy_password=p\n",
            "[main]\nproxy=URL\nproxy_username=u\nproxy_password=p\n",
        ),
        ("[main]\nproxy_auth_method=basic\n", "[main]\nproxy=URL\nproxy_auth_method=basic\n"),
    ],
)
def test_private_dnf_conf_keeps_the_hosts_proxy_credentials(
    tmp_path: Path, source: str, expected: str
) -> None:
    url = "http://proxy.example:3128"
    text, mode = _conf_after(tmp_path, source, url)
    assert text == expected.replace("URL", url)
    assert mode == 0o600


def test_private_dnf_conf_refuses_an_existing_file(tmp_path: Path) -> None:
    """A file (or a symlink planted by another user) at that path: refused, not followed."""
    plan = plan_request(request(tmp_path, proxy=proxy("c4n4ry08")))
    target = tmp_path / "elsewhere"
    conf = tmp_path / "private.conf"
    conf.symlink_to(target)
    script = "\n".join(["set -eu", *proxy_conf_lines(plan, str(conf))[1:]]) + "\n"
    result = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True)
    assert result.returncode != 0
    assert not target.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Curl error (7): proxy http://alice:c4n4ry09@p:3128 refused", "http://***@p:3128"),
        ("cannot use c4n4ry09 here", "cannot use *** here"),
        ("nothing secret", "nothing secret"),
    ],
)
def test_error_text_masks_the_proxy(tmp_path: Path, text: str, expected: str) -> None:
    plan = plan_request(request(tmp_path, proxy="http://alice:c4n4ry09@p:3128"))
    assert expected in mask_proxy(text, plan)
    assert "c4n4ry09" not in mask_proxy(text, plan)


def test_no_proxy_no_private_file(tmp_path: Path) -> None:
    plan = plan_request(request(tmp_path))
    assert proxy_conf_lines(plan, dnf_conf_path("@@m")) == []
    script = query_script(plan, "x86_64", "@@m")
    assert "--config" not in script and DNF_CONF_PREFIX not in script


@pytest.mark.parametrize(
    "conf",
    ["/etc/dnf/dnf.conf", DNF_CONF_PREFIX + "x.conf", DNF_CONF_PREFIX + "0" * 16 + ".conf/..", "/"],
)
def test_cleanup_refuses_other_conf_paths(conf: str) -> None:
    with pytest.raises(BundleError):
        cleanup_script("/var/tmp/provision-bundle.abcdEFGH", conf)


# ------------------------------------------------------------------ the whole flow

DNF_STUB = (
    STUBS["dnf"]
    .replace(
        '    --repofrompath=*) base="${a#*,}";;',
        '    --repofrompath=*) base="${a#*,}";;\n    --config=*) conf="${a#--config=}";;',
    )
    .replace(
        'echo "$base/Packages/$f"',
        'case " ${STUB_DISTRO:-} " in *" $n "*) echo "http://distro.example/BaseOS/Packages/$f";;'
        ' *) echo "$base/Packages/$f";; esac',
    )
)
DNF_STUB = DNF_STUB.replace(
    'dest=""; mode=""',
    'conf=""; dest=""; mode=""',
).replace(
    "for n in $names; do",
    'if [ -n "${STUB_DNF_FAIL:-}" ] && [ "$mode" = download ]; then'
    ' echo "dnf failed; $(grep proxy= "$conf")" >&2; exit 1; fi\n'
    '[ -z "$conf" ] || [ "$(stat -c %a "$conf")" = 600 ] || { echo "conf not 0600" >&2; exit 9; }'
    "\nfor n in $names; do",
)
RPMKEYS_STUB = r"""#!/bin/sh
echo "rpmkeys $*" >> "$STUB_LOG"
case "$*" in
  *distrodb*--checksig*)
    [ "${STUB_DSIG_RC:-0}" = 0 ] && echo "x: digests ${STUB_DSIG_WORD-signatures} OK"
    exit "${STUB_DSIG_RC:-0}";;
  *--checksig*) [ "${STUB_SIG_RC:-0}" = 0 ] && echo "x: digests ${STUB_SIG_WORD-signatures} OK"
    exit "${STUB_SIG_RC:-0}";;
  *--import*) exit 0;;
esac
"""
RPM_STUB = STUBS["rpm"].replace(
    'case "$*" in *--initdb*) exit "${STUB_INITDB_RC:-0}";;',
    'case "$*" in *distrodb*--initdb*) exit "${STUB_DINITDB_RC:-0}";; *--initdb*) exit 0;;',
)


@pytest.fixture
def stub_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if os.geteuid() != 0:
        pytest.skip("the local build chowns its work directory: needs root")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stubs = dict(STUBS, dnf=DNF_STUB, rpmkeys=RPMKEYS_STUB, rpm=RPM_STUB)
    for name, text in stubs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("STUB_LOG", str(tmp_path / "stub.log"))
    monkeypatch.setenv("STUB_KEY", str(ED25519))
    monkeypatch.setenv("STUB_DISTRO", "container-selinux dnf-plugins-core")
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    ref:\n      ansible_connection: local\n"
        "      docker_repo_url: http://mirror.example/docker-ce/linux/rhel/docker-ce.repo\n"
        f"      docker_gpg_fingerprint: {ED25519_FP}\n"
    )
    return tmp_path


def _create(stub_host: Path, **changes: object) -> tuple[Path, list[str]]:
    warnings: list[str] = []
    req = request(stub_host, alldeps=True, **changes)
    create_bundle(req, Progress(enabled=False), warnings.append)
    return req.output, warnings


def test_signed_distribution_packages_are_bundled(stub_host: Path) -> None:
    output, warnings = _create(stub_host)
    rpms = {f.name for f in verify_bundle(output).manifest.files if f.kind == "rpm"}
    assert {"container-selinux", "dnf-plugins-core", "docker-ce"} <= rpms
    log = (stub_host / "stub.log").read_text()
    assert ".distrodb --checksig -- rpms/el9/x86_64/container-selinux-1.0-1.el9.x86_64.rpm" in log
    assert ".rpmdb --checksig -- rpms/el9/x86_64/docker-ce-1.0-1.el9.x86_64.rpm" in log
    assert warnings == [
        "warning: el9/x86_64: docker-compose-plugin is not in the repositories; left out"
    ]


REFUSALS = [
    ({"STUB_DSIG_WORD": ""}, "unsigned packages: rpms/el9/x86_64/container-selinux-"),
    ({"STUB_DSIG_RC": "1"}, "does not check against the distribution's keys"),
    ({"STUB_DINITDB_RC": "1"}, "could not make a key database"),
    ({"STUB_SIG_WORD": ""}, "not signed by the pinned key"),  # an unsigned Docker package
    ({"STUB_SIG_RC": "1"}, "not signed by the pinned key"),
]


@pytest.mark.parametrize(("env", "expected"), REFUSALS)
def test_bad_signatures_are_refused(
    stub_host: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    req = request(stub_host, alldeps=True)
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    assert expected in str(caught.value)
    assert not req.output.exists()
    assert not list(stub_host.glob(".out.tar.*")), "download folder left behind"


def test_parse_build_reads_both_kinds_of_signature() -> None:
    out = parse_build("@@m", "@@m SIG ok rpms/a.rpm\n@@m DSIG unsigned rpms/b.rpm\n")
    assert out.signatures == {"rpms/a.rpm": "ok"}
    assert out.distro_signatures == {"rpms/b.rpm": "unsigned"}


@pytest.mark.parametrize("secret", CANARIES[:3])
def test_create_through_a_proxy(stub_host: Path, secret: str) -> None:
    output, _warnings = _create(stub_host, proxy=proxy(secret))
    assert verify_bundle(output).manifest.files
    log = (stub_host / "stub.log").read_text()
    assert "--config=" + DNF_CONF_PREFIX in log
    assert marker(secret) not in log
    assert not list(Path("/var/tmp").glob("provision-bundle-dnf.*")), "dnf conf left behind"


def test_a_failed_build_masks_the_proxy(stub_host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_DNF_FAIL", "1")
    req = request(stub_host, alldeps=True, proxy=proxy("c4n4ry10"))
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    text = str(caught.value)
    assert "proxy=http://***@proxy.example:3128" in text, text
    assert "c4n4ry10" not in text
    assert not list(Path("/var/tmp").glob("provision-bundle-dnf.*")), "dnf conf left behind"
