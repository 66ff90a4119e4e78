"""`bundle create`: every value checked before any host is touched; the remote commands
built from argv lists; the whole flow against this machine (`ansible_connection: local`)
with stand-ins for dnf, rpm, createrepo_c and curl."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from provision.bundle.create import (
    DEFAULT_PACKAGES,
    DOCKER_FINGERPRINT,
    KeySpec,
    Request,
    build_script,
    cleanup_script,
    create_bundle,
    dnf_argv,
    parse_build,
    parse_probe,
    plan_request,
    probe_script,
    query_script,
)
from provision.bundle.format import BundleError
from provision.bundle.progress import Progress
from provision.bundle.verify import verify_bundle
from provision.errors import InputError

from .helpers import ED25519, ED25519_FP, KEYS

LINE_BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]


def request(tmp_path: Path, **changes: object) -> Request:
    values: dict = {
        "inventory": tmp_path / "inv.yml",
        "reference": "ref",
        "releases": ("el9",),
        "arch": "x86_64",
        "output": tmp_path / "out.tar",
    }
    values.update(changes)
    return Request(**values)


BAD_REQUESTS = [
    ({"releases": ()}, "--release: give at least one"),
    ({"releases": ("9",)}, "--release: expected el8"),
    ({"releases": ("el9; reboot",)}, "--release"),
    ({"releases": ("-el9",)}, "--release"),
    ({"releases": ("el9", "el9")}, "each release once"),
    ({"arch": "i686"}, "--arch"),
    ({"arch": "--forcearch"}, "--arch"),
    ({"packages": ("-y",)}, "--package"),
    ({"packages": ("--setopt=x",)}, "--package"),
    ({"packages": ("../etc/passwd",)}, "--package"),
    ({"packages": ("a b",)}, "--package"),
    ({"packages": ("$(reboot)",)}, "--package"),
    ({"packages": ("a'b",)}, "--package"),
    ({"packages": ("",)}, "--package"),
    ({"packages": ("x" * 300,)}, "--package"),
    ({"images": ("-o/etc/passwd",)}, "--image"),
    ({"images": ("a b",)}, "--image"),
    ({"images": ("../x",)}, "--image"),
    ({"images": ("",)}, "--image"),
    ({"image_tars": (Path("/nonexistent.tar"),)}, "--image-tar"),
    ({"gpg_key_urls": ("ftp://x/gpg",)}, "--gpg-key-url"),
    ({"gpg_key_urls": ("-Lhttp://x",)}, "--gpg-key-url"),
    ({"gpg_key_urls": ("http://x/a b",)}, "--gpg-key-url"),
    ({"gpg_key_urls": ('http://x/"a',)}, "--gpg-key-url"),
    ({"gpg_key_urls": ("http://x/a", "http://y/b")}, "in pairs"),
    ({"gpg_fingerprints": ("621E9F35",)}, "not a key ID"),
    ({"gpg_fingerprints": ("G" * 40,)}, "--gpg-fingerprint"),
    ({"docker_repo": "file:///etc"}, "--docker-repo"),
    ({"docker_repo": "http://x/$(id)"}, "--docker-repo"),
    ({"proxy": "http://p:3128 -k"}, "--proxy"),
    ({"proxy": "socks5://p"}, "--proxy"),
    ({"proxy": "http://p/'x'"}, "--proxy"),
    ({"proxy": "http://p/;reboot"}, "--proxy"),
    ({"images": ("registry:2", "registry:2")}, "the same image twice"),
    ({"output": Path("/nonexistent-folder/b.tar")}, "its folder does not exist"),
    ({"output": Path("/")}, "is not a file"),
]
BAD_REQUESTS += [({"packages": (f"a{c}b",)}, "--package") for c in LINE_BREAKS]
BAD_REQUESTS += [({"images": (f"a{c}b",)}, "--image") for c in LINE_BREAKS]
BAD_REQUESTS += [({"gpg_key_urls": (f"http://x/{c}",)}, "--gpg-key-url") for c in LINE_BREAKS]
BAD_REQUESTS += [({"proxy": f"http://p{c}"}, "--proxy") for c in LINE_BREAKS]
BAD_REQUESTS += [({"releases": (f"el9{c}",)}, "--release") for c in LINE_BREAKS]


@pytest.mark.parametrize("changes,expected", BAD_REQUESTS)
def test_bad_request_refused(tmp_path: Path, changes: dict, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        plan_request(request(tmp_path, **changes))
    assert expected in str(caught.value)
    for c in LINE_BREAKS:
        assert c not in str(caught.value).split(": ", 1)[0]


def test_proxy_password_never_shown(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        plan_request(request(tmp_path, proxy="http://user:s3cret@proxy:3128/ x"))
    assert "s3cret" not in str(caught.value)
    assert "http://***@proxy:3128" in str(caught.value)


def test_not_a_docker_save_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"x" * 100)
    with pytest.raises(InputError) as caught:
        plan_request(request(tmp_path, image_tars=(junk,)))
    assert "expected a `docker save` archive" in str(caught.value)


def test_defaults(tmp_path: Path) -> None:
    plan = plan_request(request(tmp_path, releases=("el9", "el10")))
    assert plan.packages["el9"] == DEFAULT_PACKAGES
    assert plan.packages["el10"] == (*DEFAULT_PACKAGES, "kernel-modules-extra")
    assert plan.docker_base == "https://download.docker.com/linux/rhel"
    assert plan.keys == [KeySpec("https://download.docker.com/linux/rhel/gpg", DOCKER_FINGERPRINT)]
    assert plan.keys[0].path == "keys/docker-ce-621e9f35.asc"
    assert plan.proxy == ""


def test_defaults_from_host_variables(tmp_path: Path) -> None:
    variables = {
        "docker_repo_url": "http://10.200.0.1:8080/docker-ce/linux/rhel/docker-ce.repo",
        "docker_gpg_key_url": "http://10.200.0.1:8080/docker-ce/linux/rhel/gpg",
        "docker_gpg_fingerprint": "85FE FEF0 C140 3661 7455 182C 0153 E109 4913 CB3E",
        "dnf_proxy": "http://10.200.0.1:3128",
    }
    plan = plan_request(request(tmp_path, packages=("tzdata",)), variables)
    assert plan.docker_base == "http://10.200.0.1:8080/docker-ce/linux/rhel"
    assert plan.docker_baseurl("el9", "x86_64") == (
        "http://10.200.0.1:8080/docker-ce/linux/rhel/9/x86_64/stable"
    )
    assert plan.keys[0].fingerprint == "85FEFEF0C14036617455182C0153E1094913CB3E"
    assert plan.proxy == "http://10.200.0.1:3128"
    assert plan.packages["el9"][-1] == "tzdata"


def test_dnf_argv(tmp_path: Path) -> None:
    plan = plan_request(request(tmp_path, proxy="http://p:3128"))
    argv = dnf_argv(plan, plan.releases[0], "aarch64", "/var/tmp/provision-bundle-dnf.0123.conf")
    assert argv == [
        "dnf",
        "-q",
        "-y",
        "--releasever=9",
        "--forcearch=x86_64",
        "--config=/var/tmp/provision-bundle-dnf.0123.conf",
        "--repofrompath=provision-bundle-docker,"
        "https://download.docker.com/linux/rhel/9/x86_64/stable",
        "--setopt=provision-bundle-docker.gpgcheck=0",
    ]


def test_scripts_are_valid_shell(tmp_path: Path) -> None:
    plan = plan_request(
        request(tmp_path, images=("registry:2",), proxy="http://p:3128/?a=1&b=x"),
    )
    wanted = {"el9": list(plan.packages["el9"])}
    for script in (
        probe_script("@@m"),
        query_script(plan, "x86_64", "@@m"),
        build_script(plan, wanted, "x86_64", "rocky", "@@m"),
        cleanup_script("/var/tmp/provision-bundle.abcdEFGH"),
    ):
        subprocess.run(["sh", "-n"], input=script.encode(), check=True)
    script = build_script(plan, wanted, "x86_64", "rocky", "@@m")
    assert "'proxy = \"http://p:3128/?a=1&b=x\"' | curl -K -" in script
    download = [line for line in script.splitlines() if "--destdir=" in line][0]
    words = shlex.split(download)
    assert words[words.index("--") + 1 :] == list(plan.packages["el9"])


@pytest.mark.parametrize(
    "work",
    ["/", "/var/tmp", "/var/tmp/provision-bundle.", "/var/tmp/provision-bundle.x/../..", "/etc"],
)
def test_cleanup_refuses_other_paths(work: str) -> None:
    if work == "/var/tmp/provision-bundle.":
        assert cleanup_script(work)  # the prefix alone is a name mktemp never makes: harmless
        return
    with pytest.raises(BundleError):
        cleanup_script(work)


def test_parse_build() -> None:
    text = "\n".join(
        [
            "noise",
            "@@m WORK /var/tmp/provision-bundle.X",
            "@@m URL el9 http://r/a/docker-ce-1-1.el9.x86_64.rpm",
            "@@m RPM rpms/el9/x86_64/docker-ce-1-1.el9.x86_64.rpm\tdocker-ce\t1\t1.el9\tx86_64",
            "@@m SIG ok rpms/el9/x86_64/docker-ce-1-1.el9.x86_64.rpm",
            "@@m IMAGE registry:2 sha256:" + "a" * 64,
            "@@m FILE keys/k.asc",
            "@@mX FILE not-ours",
        ]
    )
    out = parse_build("@@m", text)
    assert out.work == "/var/tmp/provision-bundle.X"
    assert out.urls == {"el9": ["http://r/a/docker-ce-1-1.el9.x86_64.rpm"]}
    assert out.rpms["rpms/el9/x86_64/docker-ce-1-1.el9.x86_64.rpm"][0] == "docker-ce"
    assert out.images == {"registry:2": "sha256:" + "a" * 64}
    assert out.files == ["keys/k.asc"]


# ------------------------------------------------------------------ the whole flow

STUBS = {
    "dnf": r"""#!/bin/sh
echo "dnf $*" >> "$STUB_LOG"
dest=""; mode=""; url=0; after=0; names=""
for a in "$@"; do
  if [ $after = 1 ]; then names="$names $a"; continue; fi
  case "$a" in
    --) after=1;;
    --destdir=*) dest="${a#--destdir=}";;
    --url) url=1;;
    repoquery|download) mode="$a";;
    --repofrompath=*) base="${a#*,}";;
  esac
done
for n in $names; do
  [ "$n" = docker-compose-plugin ] && continue
  [ "$n" = missing-required ] && continue
  case "$mode" in
    repoquery) echo "$n";;
    download)
      f="$n-1.0-1.el9.x86_64.rpm"
      if [ $url = 1 ]; then echo "$base/Packages/$f"; else echo "rpm $n" > "$dest/$f"; fi;;
  esac
done
""",
    "rpm": r"""#!/bin/sh
case "$*" in *--initdb*) exit "${STUB_INITDB_RC:-0}";; *gpg-pubkey*) exit 1;; esac
for f; do :; done
b=$(basename "$f" .x86_64.rpm); rel=${b##*-}; b=${b%-*}; ver=${b##*-}; name=${b%-*}
printf '%s\t%s\t%s\t%s' "$name" "$ver" "$rel" x86_64
""",
    "rpmkeys": r"""#!/bin/sh
case "$*" in
  *--checksig*) [ "${STUB_SIG_RC:-0}" = 0 ] && echo "x: digests ${STUB_SIG_WORD-signatures} OK"
    exit "${STUB_SIG_RC:-0}";;
  *--import*) exit "${STUB_IMPORT_RC:-0}";;
esac
""",
    "createrepo_c": r"""#!/bin/sh
for d; do :; done
mkdir -p "$d/repodata" && echo '<repomd/>' > "$d/repodata/repomd.xml"
""",
    "curl": r"""#!/bin/sh
echo "curl $*" >> "$STUB_LOG"
out=""; prev=""
for a; do [ "$prev" = -o ] && out="$a"; prev="$a"; done
cp "$STUB_KEY" "$out"
""",
}


@pytest.fixture
def stub_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if os.geteuid() != 0:
        pytest.skip("the local build chowns its work directory: needs root")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in STUBS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("STUB_LOG", str(tmp_path / "stub.log"))
    monkeypatch.setenv("STUB_KEY", str(ED25519))
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    ref:\n      ansible_connection: local\n"
        "      docker_repo_url: http://mirror.example/docker-ce/linux/rhel/docker-ce.repo\n"
        f"      docker_gpg_fingerprint: {ED25519_FP}\n"
    )
    return tmp_path


def test_create_against_a_local_reference(stub_host: Path) -> None:
    warnings: list[str] = []
    req = request(stub_host, alldeps=True)
    manifest, manifest_bytes = create_bundle(req, Progress(enabled=False), warnings.append)
    verified = verify_bundle(req.output)
    assert verified.manifest_bytes == manifest_bytes
    rpms = {f.name: f for f in manifest.files if f.kind == "rpm"}
    assert set(rpms) == set(DEFAULT_PACKAGES) - {"docker-compose-plugin"}
    assert rpms["docker-ce"].source == (
        "http://mirror.example/docker-ce/linux/rhel/9/x86_64/stable/Packages/"
        "docker-ce-1.0-1.el9.x86_64.rpm"
    )
    assert rpms["docker-ce"].version == "1.0"
    assert manifest.gpg_keys[0].fingerprint == ED25519_FP
    assert manifest.gpg_keys[0].source == "http://mirror.example/docker-ce/linux/rhel/gpg"
    assert warnings == [
        "warning: el9/x86_64: docker-compose-plugin is not in the repositories; left out"
    ]
    log = (stub_host / "stub.log").read_text()
    assert "--alldeps" in log
    assert not list(Path("/var/tmp").glob("provision-bundle.*")), "work directory left behind"


def test_create_refuses_a_wrong_key(stub_host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", str(KEYS / "two-keys.asc"))
    req = request(stub_host, alldeps=True)
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    assert "GPG KEY MISMATCH" in str(caught.value)
    assert not req.output.exists()
    assert not list(stub_host.glob(".out.tar.*")), "download folder left behind"


def test_create_refuses_unsigned_docker_packages(
    stub_host: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_SIG_RC", "1")
    req = request(stub_host, alldeps=True)
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    text = str(caught.value)
    assert "not signed by the pinned key (EA9C A9B3" in text
    assert "rpms/el9/x86_64/docker-ce-1.0-1.el9.x86_64.rpm" in text
    assert not req.output.exists()


def test_create_warns_when_signatures_cannot_be_checked(
    stub_host: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_IMPORT_RC", "1")
    warnings: list[str] = []
    req = request(stub_host, alldeps=True)
    create_bundle(req, Progress(enabled=False), warnings.append)
    assert any("could not check the Docker packages' signatures" in w for w in warnings)
    assert verify_bundle(req.output).manifest.gpg_keys


def test_images_only_request_needs_no_release_and_no_key(tmp_path: Path) -> None:
    plan = plan_request(request(tmp_path, releases=(), images=("registry:2",)))
    assert plan.releases == [] and plan.keys == []
    assert plan.images == [("registry:2", "images/registry_2.tar")]


def test_create_fails_on_a_missing_required_package(stub_host: Path) -> None:
    req = request(stub_host, alldeps=True, packages=("missing-required",))
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    assert "has missing-required" in str(caught.value)
    assert not req.output.exists()


def test_create_needs_alldeps_off_release(stub_host: Path) -> None:
    """This machine is not EL9: without --alldeps the request is refused, saying why."""
    req = request(stub_host)
    with pytest.raises(BundleError) as caught:
        create_bundle(req, Progress(enabled=False), lambda _t: None)
    assert "--alldeps" in str(caught.value)


def test_probe_answer_is_read_only_when_whole() -> None:
    """A probe answer cut short (its last lines after the exit status, lost) must not read
    as "missing docker": docker is the last tool asked about."""
    script = probe_script("@@m")
    done = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True)
    major, arch, tools = parse_probe("@@m", "ref", done.returncode, done.stdout)
    assert arch and "sh" not in tools
    whole = b"@@m OS 9 x86_64\n@@m TOOL dnf\n@@m TOOL docker\n@@m END\n"
    assert parse_probe("@@m", "ref", 0, whole) == ("9", "x86_64", {"dnf", "docker"})
    for cut in (whole[: whole.index(b"@@m END")], whole[:-3], b""):
        with pytest.raises(BundleError, match="answered only in part"):
            parse_probe("@@m", "ref", 0, cut)
    with pytest.raises(BundleError, match=r"failed \(exit 255\)"):
        parse_probe("@@m", "ref", 255, whole)
