"""`provision bundle create`: resolve and download on a reference host, write the bundle here.

ONE SSH connection to the reference host (the project's own connection code), four remote
commands: (1) what the host is (EL major, arch, tools), (2) which of the wanted packages
the repositories have, (3) the build in a fresh work directory: the GPG key, `dnf download
--resolve`, the signatures checked (Docker's packages against the pinned key, every other
package against the distribution's keys on the host; unsigned ones refused), `createrepo_c`,
`docker save`, (4) removing the work directory. The files come back over SFTP on the same
connection; the key's fingerprint is checked here against the pinned one before anything
is written. Every remote command is built from argv lists (shlex), every value checked
first: nothing the user gives can become shell syntax or an option. A proxy's credentials
reach dnf through a private 0600 configuration file and curl on its standard input, never
a program's argv (readable by every user of the host in /proc).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.bundle.format import (
    ARCHES,
    BundleError,
    GpgKey,
    Image,
    Manifest,
    Release,
    image_member_path,
    path_problem,
    shown,
    shown_path,
    valid_image_ref,
    valid_release,
    valid_rpm_field,
)
from provision.bundle.progress import Progress
from provision.bundle.writer import Member, image_tar_info, write_bundle
from provision.errors import InputError
from provision.facts.openpgp import (
    KeyFileError,
    grouped,
    normalise_fingerprint,
    primary_fingerprints,
    valid_fingerprint,
)

DEFAULT_PACKAGES = (
    "docker-ce",
    "docker-ce-cli",
    "containerd.io",
    "docker-buildx-plugin",
    "docker-compose-plugin",
    "container-selinux",
    "dnf-plugins-core",
)
OPTIONAL_PACKAGES = frozenset({"docker-buildx-plugin", "docker-compose-plugin"})
EXTRA_PACKAGES = {"el10": ("kernel-modules-extra",)}
DOCKER_MIRROR = "https://download.docker.com/linux/rhel"
DOCKER_FINGERPRINT = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"
REPO_ID = "provision-bundle-docker"
WORK_PREFIX = "/var/tmp/provision-bundle."
DNF_CONF_PREFIX = "/var/tmp/provision-bundle-dnf."

_PACKAGE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}")
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@&+=%-]{1,2000}")
_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,80}")


@dataclass(frozen=True)
class KeySpec:
    url: str
    fingerprint: str  # normalised: upper-case hex

    @property
    def name(self) -> str:
        base = self.url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".asc") or "key"
        if not _KEY_NAME.fullmatch(base) or base in ("gpg", "key"):
            base = "docker-ce" if base == "gpg" else "key"
        return f"{base}-{self.fingerprint[-8:].lower()}"

    @property
    def path(self) -> str:
        return f"keys/{self.name}.asc"


@dataclass(frozen=True)
class Request:
    inventory: Path
    reference: str
    releases: tuple[str, ...]
    arch: str
    output: Path
    packages: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    image_tars: tuple[Path, ...] = ()
    gpg_key_urls: tuple[str, ...] = ()
    gpg_fingerprints: tuple[str, ...] = ()
    docker_repo: str | None = None
    proxy: str | None = None
    alldeps: bool = False
    timeout: float = 10.0
    accept_new_host_keys: bool = False


@dataclass
class Plan:
    """What will be asked of the reference host (everything checked)."""

    releases: list[Release]
    packages: dict[str, tuple[str, ...]]  # release → package names wanted
    keys: list[KeySpec]
    images: list[tuple[str, str]]  # (ref, member path) saved on the host
    image_tars: list[tuple[Path, str, str, str]]  # (file, ref, id, member path)
    docker_base: str
    proxy: str
    alldeps: bool
    warnings: list[str] = field(default_factory=list)

    def docker_baseurl(self, release: str, arch: str) -> str:
        return f"{self.docker_base}/{release.removeprefix('el')}/{arch}/stable"


def _no_userinfo(value: object) -> object:
    """A URL for an error message: user and password (a proxy's credentials) hidden."""
    if isinstance(value, str):
        return re.sub(r"^([A-Za-z0-9+.-]*://)[^/@]*@", r"\1***@", value)
    return value


def check_url(value: str, what: str) -> str:
    if not isinstance(value, str) or not _HTTP_URL.fullmatch(value):
        value = _no_userinfo(value)  # type: ignore[assignment]
        raise InputError(
            f"{what}: expected an http(s) URL without spaces or quotes, found {shown(value)}"
        )
    return value


def check_package(name: str) -> str:
    if not _PACKAGE.fullmatch(name):
        raise InputError(
            f"--package: expected a package name (letters, digits, . _ + -, not starting"
            f" with '-'), found {shown(name)}"
        )
    return name


def docker_base_of(repo_url: str) -> str:
    """MIRROR/linux/rhel from a docker-ce.repo URL (or the base itself)."""
    return repo_url.removesuffix("/docker-ce.repo").rstrip("/")


def plan_request(request: Request, variables: Any = None) -> Plan:
    """Check every value of the request (InputError naming the option) and fill the
    defaults from the reference host's variables (docker_repo_url, docker_gpg_key_url,
    docker_gpg_fingerprint, dnf_proxy)."""

    def var(name: str) -> str:
        if variables is None:
            return ""
        try:
            value = variables[name] if name in variables else ""
        except Exception:  # noqa: BLE001 - a variable that needs facts: not a default
            return ""
        return value if isinstance(value, str) else ""

    if not request.releases and not (request.images or request.image_tars):
        raise InputError(
            "--release: give at least one release (el8, el9, el10), or images only"
            " (--image, --image-tar)"
        )
    for name in request.releases:
        if not valid_release(name):
            raise InputError(f"--release: expected el8, el9 or el10, found {shown(name)}")
    if len(set(request.releases)) != len(request.releases):
        raise InputError("--release: each release once")
    if request.arch not in ARCHES:
        raise InputError(
            f"--arch: expected one of {', '.join(ARCHES)}, found {shown(request.arch)}"
        )
    extra = tuple(check_package(p) for p in request.packages)
    packages = {
        r: tuple(dict.fromkeys(DEFAULT_PACKAGES + EXTRA_PACKAGES.get(r, ()) + extra))
        for r in request.releases
    }
    repo = request.docker_repo or var("docker_repo_url") or DOCKER_MIRROR
    docker_base = docker_base_of(check_url(repo, "--docker-repo"))
    proxy = request.proxy if request.proxy is not None else var("dnf_proxy")
    if proxy:
        check_url(proxy, "--proxy (or dnf_proxy)")
    default_keys = bool(request.releases)  # an images-only bundle needs no key
    urls = request.gpg_key_urls or (
        (var("docker_gpg_key_url") or f"{docker_base}/gpg",) if default_keys else ()
    )
    prints = request.gpg_fingerprints or (
        (var("docker_gpg_fingerprint") or DOCKER_FINGERPRINT,) if default_keys else ()
    )
    if len(urls) != len(prints):
        raise InputError("--gpg-key-url and --gpg-fingerprint: give them in pairs")
    keys = []
    for url, raw in zip(urls, prints, strict=True):
        check_url(url, "--gpg-key-url")
        fingerprint = normalise_fingerprint(raw)
        if not valid_fingerprint(fingerprint):
            raise InputError(
                f"--gpg-fingerprint: expected 40 hex digits (a full fingerprint, not a key ID),"
                f" found {shown(raw)}"
            )
        keys.append(KeySpec(url, fingerprint))
    if len({k.path for k in keys}) != len(keys):
        raise InputError("--gpg-key-url: the same key twice")
    images: list[tuple[str, str]] = []
    for ref in request.images:
        if not valid_image_ref(ref):
            raise InputError(
                f"--image: expected an image reference such as registry:2, found {shown(ref)}"
            )
        images.append((ref, image_member_path(ref)))
    tars: list[tuple[Path, str, str, str]] = []
    for file in request.image_tars:
        if not file.is_file():
            raise InputError(f"--image-tar: {shown_path(file)}: not a file")
        info = image_tar_info(file)
        if info is None or not valid_image_ref(info[0]):
            raise InputError(
                f"--image-tar: {shown_path(file)}: expected a `docker save` archive of a tagged"
                " image (manifest.json with RepoTags and Config)"
            )
        tars.append((file, info[0], info[1], image_member_path(info[0])))
    paths = [p for _, p in images] + [t[3] for t in tars]
    if len(set(paths)) != len(paths):
        raise InputError("--image/--image-tar: the same image twice")
    if request.output.exists() and not request.output.is_file():
        raise InputError(f"-o: {shown_path(request.output)} exists and is not a file")
    if not request.output.absolute().parent.is_dir():
        raise InputError(f"-o: {shown_path(request.output)}: its folder does not exist")
    releases = [Release(r, request.arch, f"rpms/{r}/{request.arch}") for r in request.releases]
    return Plan(releases, packages, keys, images, tars, docker_base, proxy or "", request.alldeps)


# ------------------------------------------------------------------ remote commands


def _say(marker: str, *words: str) -> str:
    """A shell line printing `MARKER WORD...` (each word quoted)."""
    fmt = " ".join(["%s"] * (len(words) + 1)) + "\\n"
    return f"printf '{fmt}' {marker} " + " ".join(shlex.quote(w) for w in words)


def probe_script(marker: str) -> str:
    tools = ("dnf", "createrepo_c", "rpm", "rpmkeys", "curl", "docker")
    lines = [
        ". /etc/os-release 2>/dev/null || true",
        f'printf "%s OS %s %s\\n" {marker} "${{VERSION_ID%%.*}}" "$(uname -m)"',
    ]
    for tool in tools:
        lines.append(f"command -v {tool} >/dev/null 2>&1 && {_say(marker, 'TOOL', tool)} || true")
    lines.append(_say(marker, "END"))
    return "\n".join(lines) + "\n"


def parse_probe(marker: str, host: str, rc: int, stdout: bytes) -> tuple[str, str, set[str]]:
    """(EL major, arch, tools found) from the probe's answer. An answer without its END line
    (cut short) or a failed probe is an error: a tool missing from a partial answer is not a
    tool missing from the host."""
    major, arch, tools, ended = "", "", set(), False
    for kind, rest in parse_marked(marker, stdout.decode("utf-8", "replace")):
        if kind == "OS":
            major, _, arch = rest.partition(" ")
        elif kind == "TOOL":
            tools.add(rest)
        elif kind == "END":
            ended = True
    if rc != 0 or not ended:
        raise BundleError(
            f"reference host {host}: the probe of its tools "
            + (f"failed (exit {rc})" if rc != 0 else "answered only in part (no END line)")
            + "; run again"
        )
    return major, arch, tools


def dnf_conf_path(marker: str) -> str:
    """The private dnf configuration that carries the proxy (its name from the run's random
    marker; created 0600 with noclobber, removed at the end)."""
    return f"{DNF_CONF_PREFIX}{hashlib.sha256(marker.encode()).hexdigest()[:16]}.conf"


def proxy_conf_lines(plan: Plan, conf: str, source: str = "/etc/dnf/dnf.conf") -> list[str]:
    """Shell lines writing `conf`: the host's /etc/dnf/dnf.conf without its `proxy=` lines,
    with `proxy=URL` under [main]. A proxy URL may hold a password: dnf reads it from this
    0600 file (`--config`), never from its argv, which every user of the host can read in
    /proc/PID/cmdline. The file is removed when the script exits (and by the cleanup).
    The host's proxy_username/proxy_password (role dnf_proxy) stay, unless the URL has
    credentials of its own (then they would be the wrong ones)."""
    if not plan.proxy:
        return []
    q = shlex.quote
    c = q(conf)
    line = q("proxy=" + plan.proxy)
    userinfo = re.match(r"^[A-Za-z0-9+.-]*://[^/@]*@", plan.proxy) is not None
    dropped = "proxy*" if userinfo else "proxy=*|proxy[[:space:]]*"
    return [
        f"trap 'rm -f -- {conf}' EXIT",
        f"( umask 077; set -C; : > {c} ) || {{ echo 'cannot create '{c} >&2; exit 1; }}",
        "found=0",
        f"if [ -r {q(source)} ]; then"
        ' while IFS= read -r l || [ -n "$l" ]; do'
        f' case "$l" in {dropped}) continue;; esac;'
        " printf '%s\\n' \"$l\";"
        f" case \"$l\" in '[main]'*) found=1; printf '%s\\n' {line};; esac;"
        f" done < {q(source)} >> {c}; fi",
        f"[ $found = 1 ] || printf '[main]\\n%s\\n' {line} >> {c}",
    ]


def curl_words(plan: Plan, curl: list[str]) -> str:
    """curl, with the proxy (credentials and all) on its standard input as a config line
    (`-K -`), never in its argv."""
    if not plan.proxy:
        return shlex.join(curl)
    config = shlex.quote(f'proxy = "{plan.proxy}"')
    return f"printf '%s\\n' {config} | {shlex.join([curl[0], '-K', '-', *curl[1:]])}"


def mask_proxy(text: str, plan: Plan) -> str:
    """Text from the host with the proxy's user info (its password) replaced."""
    match = re.match(r"^[A-Za-z0-9+.-]*://([^/@]*)@", plan.proxy)
    if match and match.group(1):
        userinfo = match.group(1)
        password = userinfo.partition(":")[2]
        text = text.replace(userinfo, "***")
        if password:
            text = text.replace(password, "***")
    return text


def dnf_argv(plan: Plan, release: Release, host_arch: str, conf: str = "") -> list[str]:
    """dnf's words; with a proxy, `--config=CONF` (written by proxy_conf_lines)."""
    argv = ["dnf", "-q", "-y", f"--releasever={release.release.removeprefix('el')}"]
    if release.arch != host_arch:
        argv.append(f"--forcearch={release.arch}")
    if plan.proxy:
        if not conf:
            raise ValueError("a proxy needs the private dnf configuration (dnf_conf_path)")
        argv.append(f"--config={conf}")
    argv += [
        f"--repofrompath={REPO_ID},{plan.docker_baseurl(release.release, release.arch)}",
        f"--setopt={REPO_ID}.gpgcheck=0",
    ]
    return argv


def query_script(plan: Plan, host_arch: str, marker: str) -> str:
    conf = dnf_conf_path(marker)
    lines = ["set -u", *proxy_conf_lines(plan, conf)]
    for release in plan.releases:
        query = dnf_argv(plan, release, host_arch, conf) + [
            "repoquery",
            "--qf",
            "%{name}\\n",
            "--",
            *plan.packages[release.release],
        ]
        lines.append(
            f"{shlex.join(query)} 2>/dev/null | while IFS= read -r n; do"
            f" [ -n \"$n\" ] && printf '%s HAVE %s %s\\n' {marker}"
            f' {release.release} "$n"; done'
        )
    return "\n".join(lines) + "\n"


def build_script(
    plan: Plan,
    wanted: dict[str, list[str]],
    host_arch: str,
    login_user: str,
    marker: str,
) -> str:
    """The build, in a fresh work directory under /var/tmp; prints marker lines:
    WORK dir, PHASE text, URL release url, RPM path<TAB>name<TAB>version<TAB>release<TAB>arch,
    SIG (Docker's, pinned key) and DSIG (the distribution's keys) ok|bad|unsigned|unchecked
    path, IMAGE ref id, FILE path."""
    m = marker
    q = shlex.quote
    conf = dnf_conf_path(marker)
    lines = [
        "set -eu",
        *proxy_conf_lines(plan, conf),
        "umask 022",
        f"W=$(mktemp -d {WORK_PREFIX}XXXXXXXX)",
        'chmod 0755 "$W"',
        f"printf '%s WORK %s\\n' {m} \"$W\"",
        'cd "$W"',
        "mkdir keys images .rpmdb",
    ]
    for key in plan.keys:
        curl = ["curl", "-fsS", "--proto", "=http,https", "-o", key.path, "--url", key.url]
        lines += [_say(m, "PHASE", f"fetching the GPG key {key.url}"), curl_words(plan, curl)]
    lines += [
        'rpmdb_ok=1; rpm --dbpath "$W/.rpmdb" --initdb 2>/dev/null || rpmdb_ok=0',
        *[
            f'[ $rpmdb_ok = 1 ] && {{ rpmkeys --dbpath "$W/.rpmdb" --import {q(k.path)}'
            " 2>/dev/null || rpmdb_ok=0; }"
            for k in plan.keys
        ],
        f"B={q(plan.docker_base + '/')}",
        *(distro_keys_lines() if plan.releases else []),
    ]
    for release in plan.releases:
        names = wanted[release.release]
        dest = release.repo_path
        dnf = dnf_argv(plan, release, host_arch, conf)
        resolve = ["--resolve"] + (["--alldeps"] if plan.alldeps else [])
        urls = f"urls-{release.release}.txt"
        lines += [
            _say(m, "PHASE", f"{release.release}/{release.arch}: resolving {' '.join(names)}"),
            f"mkdir -p {q(dest)}",
            f"{shlex.join(dnf + ['download', '--url', *resolve, '--', *names])} > {urls}",
            f"while IFS= read -r u; do case \"$u\" in *://*) printf '%s URL %s %s\\n' {m}"
            f' {release.release} "$u";; esac; done < {urls}',
            _say(m, "PHASE", f"{release.release}/{release.arch}: downloading"),
            shlex.join(dnf + ["download", *resolve, f"--destdir={dest}", "--", *names]),
            f"for f in {q(dest)}/*.rpm; do",
            '  [ -f "$f" ] || continue',
            "  nevra=$(rpm -qp --nosignature --nodigest"
            " --qf '%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}' -- \"$f\")",
            f'  printf \'%s RPM %s\\t%s\\n\' {m} "$f" "$nevra"',
            "done",
            # Docker's packages (downloaded from $B) against the pinned key (SIG), every
            # other one against the distribution's keys on this host (DSIG).
            f"for f in {q(dest)}/*.rpm; do",
            '  [ -f "$f" ] || continue',
            '  b=${f##*/}; k=DSIG; db="$W/.distrodb"; ok=$distro_ok',
            '  while IFS= read -r u; do case "$u" in "$B"*/"$b")'
            f' k=SIG; db="$W/.rpmdb"; ok=$rpmdb_ok; break;; esac; done < {urls}',
            f'  printf \'%s %s %s %s\\n\' {m} "$k" "$(sig "$ok" "$db" "$f")" "$f"',
            "done",
            _say(m, "PHASE", f"{release.release}/{release.arch}: createrepo_c"),
            shlex.join(["createrepo_c", "--quiet", "--no-database", dest]),
        ]
    for ref, path in plan.images:
        inspect = ["docker", "image", "inspect", "--format", "{{.Id}}", "--", ref]
        lines += [
            _say(m, "PHASE", f"docker save {ref}"),
            f"{shlex.join(inspect)} >/dev/null 2>&1 || {shlex.join(['docker', 'pull', '--', ref])}",
            shlex.join(["docker", "save", "-o", path, "--", ref]),
            f"printf '%s IMAGE %s %s\\n' {m} {q(ref)} \"$({shlex.join(inspect)})\"",
        ]
    lines += [
        f"find rpms keys images -type f 2>/dev/null | while IFS= read -r f; do"
        f" printf '%s FILE %s\\n' {m} \"$f\"; done",
        f'chown -R -- {q(login_user)} "$W"',
    ]
    return "\n".join(lines) + "\n"


def distro_keys_lines() -> list[str]:
    """Shell lines: `sig OK DB FILE` (prints ok, bad, unsigned or unchecked) and a private
    key database $W/.distrodb holding the distribution's keys on this host: every key file
    in /etc/pki/rpm-gpg and every key its rpm database trusts (`gpg-pubkey`). An unsigned
    package passes `rpmkeys --checksig` (exit 0, "digests OK"): only "signatures OK"
    counts."""
    return [
        'sig() { [ "$1" = 1 ] || { echo unchecked; return 0; };'
        ' o=$(rpmkeys --dbpath "$2" --checksig -- "$3" 2>&1) || { echo bad; return 0; };'
        ' case "$o" in *"signatures OK"*) echo ok;; *) echo unsigned;; esac; }',
        'distro_ok=1; rpm --dbpath "$W/.distrodb" --initdb 2>/dev/null || distro_ok=0',
        "if [ $distro_ok = 1 ]; then",
        '  for k in /etc/pki/rpm-gpg/*; do [ -f "$k" ] &&'
        ' rpmkeys --dbpath "$W/.distrodb" --import "$k" 2>/dev/null || true; done',
        "  if rpm -q gpg-pubkey >/dev/null 2>&1; then for p in $(rpm -q gpg-pubkey); do",
        '    rpm -q --qf \'%{DESCRIPTION}\\n\' "$p" > "$W/.pubkey.asc" &&'
        ' rpmkeys --dbpath "$W/.distrodb" --import "$W/.pubkey.asc" 2>/dev/null || true',
        '  done; rm -f -- "$W/.pubkey.asc"; fi',
        "fi",
    ]


def cleanup_script(work: str, conf: str = "") -> str:
    """Remove the work directory and the private dnf configuration (the scripts' own
    EXIT traps remove the latter already; this covers a script that was killed)."""
    if work and (
        not work.startswith(WORK_PREFIX) or "/" in work[len(WORK_PREFIX) :] or "'" in work
    ):
        raise BundleError(f"refusing to remove {work!r}: not a bundle work directory")
    if conf and not re.fullmatch(re.escape(DNF_CONF_PREFIX) + r"[0-9a-f]{16}\.conf", conf):
        raise BundleError(f"refusing to remove {conf!r}: not a bundle dnf configuration")
    paths = [p for p in (work, conf) if p]
    return f"rm -rf -- {shlex.join(paths)}\n" if paths else ":\n"


@dataclass
class BuildOutput:
    work: str = ""
    urls: dict[str, list[str]] = field(default_factory=dict)
    rpms: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)  # Docker's, pinned key
    distro_signatures: dict[str, str] = field(default_factory=dict)  # the distribution's
    images: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def parse_marked(marker: str, text: str) -> list[list[str]]:
    """The lines that start with the marker, split: [KIND, rest...]."""
    found = []
    for line in text.splitlines():
        if line.startswith(marker + " "):
            kind, _, rest = line[len(marker) + 1 :].partition(" ")
            found.append([kind, rest])
    return found


def parse_build(marker: str, text: str) -> BuildOutput:
    out = BuildOutput()
    for kind, rest in parse_marked(marker, text):
        if kind == "WORK":
            out.work = rest
        elif kind == "URL":
            release, _, url = rest.partition(" ")
            out.urls.setdefault(release, []).append(url)
        elif kind == "RPM":
            path, *nevra = rest.split("\t")
            if len(nevra) == 4:
                out.rpms[path] = (nevra[0], nevra[1], nevra[2], nevra[3])
        elif kind in ("SIG", "DSIG"):
            state, _, path = rest.partition(" ")
            (out.signatures if kind == "SIG" else out.distro_signatures)[path] = state
        elif kind == "IMAGE":
            ref, _, image_id = rest.partition(" ")
            out.images[ref] = image_id.strip()
        elif kind == "FILE":
            out.files.append(rest)
    return out


# ------------------------------------------------------------------ the run


def _settings(request: Request) -> Any:
    from provision.project.compile import host_settings

    hosts = host_settings(request.inventory, None, {}, request.reference)
    if len(hosts) != 1:
        names = ", ".join(h.config.name for h in hosts)
        raise InputError(f"--reference {request.reference!r}: expected one host, matches {names}")
    return hosts[0]


def create_bundle(
    request: Request, progress: Progress, warn: Callable[[str], None]
) -> tuple[Manifest, bytes]:
    """Build the bundle; returns (manifest, manifest bytes). InputError: bad request, no
    host touched. BundleError/ConnectError: the build failed, nothing written."""
    from provision.execution.runner import RunOptions, connect

    settings = _settings(request)
    plan = plan_request(request, settings.variables)
    config = settings.config
    options = RunOptions(timeout=request.timeout, accept_new_host_keys=request.accept_new_host_keys)
    marker = "@@provision-bundle-" + secrets.token_hex(6)
    progress.phase(f"reference host {config.name}: connecting")
    conn = connect(config, options)
    work = ""
    try:
        result = conn.run(probe_script(marker), become=False)
        host_major, host_arch, tools = parse_probe(marker, config.name, result.rc, result.stdout)
        needed = ("dnf", "createrepo_c", "rpm") if plan.releases else ()
        needed += ("curl",) if plan.keys else ()
        missing = [t for t in needed if t not in tools]
        if plan.images:
            missing += [] if "docker" in tools else ["docker"]
        if missing:
            raise BundleError(
                f"reference host {config.name}: missing {', '.join(missing)}; install them"
                " there (dnf install dnf-plugins-core createrepo_c curl)"
            )
        for release in plan.releases:
            if plan.alldeps:
                continue
            if release.release != f"el{host_major}" or release.arch != host_arch:
                raise BundleError(
                    f"reference host {config.name} is el{host_major}/{host_arch}:"
                    f" `dnf download --resolve` there leaves out what it has installed, which"
                    f" is right for {release.release}/{release.arch} only on a host of that"
                    " release; use such a reference host, or --alldeps"
                )
        become = config.become
        progress.phase("asking the repositories which packages they have")
        result = conn.run(query_script(plan, host_arch, marker), become=become)
        have: dict[str, set[str]] = {}
        for kind, rest in parse_marked(marker, result.stdout.decode("utf-8", "replace")):
            if kind == "HAVE":
                release_name, _, name = rest.partition(" ")
                have.setdefault(release_name, set()).add(name)
        wanted: dict[str, list[str]] = {}
        for release in plan.releases:
            names = plan.packages[release.release]
            found = have.get(release.release, set())
            absent = [n for n in names if n not in found]
            optional = [n for n in absent if n in OPTIONAL_PACKAGES]
            required = [n for n in absent if n not in OPTIONAL_PACKAGES]
            if required:
                raise BundleError(
                    f"{release.release}/{release.arch}: no repository of {config.name} has"
                    f" {', '.join(required)} (docker repository"
                    f" {plan.docker_baseurl(release.release, release.arch)})"
                )
            for name in optional:
                message = (
                    f"warning: {release.release}/{release.arch}: {name} is not in the"
                    " repositories; left out"
                )
                plan.warnings.append(message)
                warn(message)
            wanted[release.release] = [n for n in names if n in found]
        progress.phase("building on the reference host (dnf download, createrepo_c)")
        script = build_script(plan, wanted, host_arch, config.user, marker)
        result = conn.run(
            script,
            become=become,
            on_line=lambda line: _relay(line, marker, progress),
        )
        built = parse_build(marker, result.stdout.decode("utf-8", "replace"))
        work = built.work
        if result.rc != 0:
            tail = mask_proxy("\n  ".join(result.error_tail()), plan)
            raise BundleError(
                f"reference host {config.name}: the build failed (exit {result.rc}):\n  {tail}"
            )
        return _fetch_and_write(conn, config, request, plan, built, progress, warn)
    finally:
        try:
            conf = dnf_conf_path(marker) if plan.proxy else ""
            if work or conf:
                conn.run(cleanup_script(work, conf), become=config.become)
        finally:
            conn.close()


def _relay(line: str, marker: str, progress: Progress) -> None:
    if line.startswith(marker + " PHASE "):
        progress.phase("  " + line[len(marker) + 7 :])


def _open_sftp(conn: Any) -> Any:
    client = getattr(getattr(conn, "_conn", None), "client", None)
    if client is None:
        return None
    return client.open_sftp()


def _fetch_and_write(
    conn: Any,
    config: Any,
    request: Request,
    plan: Plan,
    built: BuildOutput,
    progress: Progress,
    warn: Callable[[str], None],
) -> tuple[Manifest, bytes]:
    for path in built.files:
        problem = path_problem(path)
        if problem:
            raise BundleError(f"reference host {config.name}: a built file {problem}")
    bad = sorted(p for p, s in built.signatures.items() if s in ("bad", "unsigned"))
    if bad:
        raise BundleError(
            f"reference host {config.name}: not signed by the pinned key"
            f" ({', '.join(grouped(k.fingerprint) for k in plan.keys)}): {', '.join(bad)}"
        )
    check_distro_signatures(config.name, built.distro_signatures)
    if any(s == "unchecked" for s in built.signatures.values()):
        warn(
            f"warning: rpm on {config.name} could not check the Docker packages' signatures"
            " (a key database of its own failed); the targets' dnf still checks them"
        )
    local_dir = Path(
        tempfile.mkdtemp(prefix=f".{request.output.name}.", dir=request.output.parent or ".")
    )
    try:
        sftp = _open_sftp(conn)
        try:
            sizes = {p: _remote_size(sftp, built.work, p) for p in built.files}
            progress.start("fetching over SFTP", sum(sizes.values()))
            for path in built.files:
                target = local_dir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                _get(sftp, f"{built.work}/{path}", target, progress)
            progress.finish()
        finally:
            if sftp is not None:
                sftp.close()
        return _write(local_dir, request, plan, built, progress)
    finally:
        shutil.rmtree(local_dir, ignore_errors=True)


def check_distro_signatures(host: str, states: dict[str, str]) -> None:
    """Refuse the build when a distribution package (anything not from Docker's
    repository) is unsigned, or its signature does not check against the distribution's
    keys on the reference host, or could not be checked at all: the bundle would carry it
    to hosts that trust the bundle."""
    unsigned = sorted(p for p, s in states.items() if s == "unsigned")
    if unsigned:
        raise BundleError(
            f"reference host {host}: unsigned packages: {', '.join(unsigned)}; a bundle"
            " carries signed packages only (check the repository they came from); nothing"
            " was written"
        )
    bad = sorted(p for p, s in states.items() if s == "bad")
    if bad:
        raise BundleError(
            f"reference host {host}: the signature of {', '.join(bad)} does not check"
            f" against the distribution's keys on {host} (the files in /etc/pki/rpm-gpg and"
            " the keys its rpm database trusts): a tampered package, or its repository's"
            " key is not installed there (rpm --import KEYFILE); nothing was written"
        )
    unchecked = sorted(p for p, s in states.items() if s == "unchecked")
    if unchecked:
        raise BundleError(
            f"reference host {host}: rpm could not make a key database to check the"
            f" signatures of {', '.join(unchecked)} (rpm --initdb failed in the work"
            " directory); nothing was written"
        )


def _remote_size(sftp: Any, work: str, path: str) -> int:
    if sftp is None:
        return Path(work, path).stat().st_size
    return int(sftp.stat(f"{work}/{path}").st_size)


def _get(sftp: Any, remote: str, target: Path, progress: Progress) -> None:
    if sftp is None:  # a local connection: the work directory is on this machine
        with open(remote, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
                progress.advance(len(chunk))
        return
    last = [0]

    def callback(done: int, _total: int) -> None:
        progress.advance(done - last[0])
        last[0] = done

    with open(target, "wb") as dst:
        sftp.getfo(remote, dst, callback=callback)


def _write(
    local: Path, request: Request, plan: Plan, built: BuildOutput, progress: Progress
) -> tuple[Manifest, bytes]:
    members: list[Member] = []
    gpg_keys: list[GpgKey] = []
    for key in plan.keys:
        data = (local / key.path).read_bytes()
        try:
            found = primary_fingerprints(data)
        except KeyFileError as exc:
            raise BundleError(f"the GPG key from {key.url} cannot be read: {exc}")
        if found != [key.fingerprint]:
            raise BundleError(
                f"GPG KEY MISMATCH: {key.url} holds {', '.join(grouped(f) for f in found)},"
                f" the pinned fingerprint is {grouped(key.fingerprint)}; nothing was written."
                " Check the URL and the fingerprint (--gpg-fingerprint, docker_gpg_fingerprint)"
            )
        gpg_keys.append(GpgKey(key.path, key.fingerprint, key.url))
        members.append(Member(key.path, "key", key.url, local=local / key.path))
    for release in plan.releases:
        sources = {u.rsplit("/", 1)[-1]: u for u in built.urls.get(release.release, [])}
        prefix = release.repo_path + "/"
        rpm_files = sorted(p for p in built.files if p.startswith(prefix) and p.endswith(".rpm"))
        if not rpm_files:
            raise BundleError(f"{release.release}/{release.arch}: dnf downloaded no RPM")
        for path in rpm_files:
            nevra = built.rpms.get(path)
            if nevra is None or not all(valid_rpm_field(v) for v in nevra):
                raise BundleError(f"{path}: rpm could not read its name and version")
            source = sources.get(path.rsplit("/", 1)[-1], "")
            if source and not re.fullmatch(r"(https?|file)://\S{1,2000}", source):
                source = ""
            members.append(Member(path, "rpm", source, *nevra, local=local / path))
        for path in sorted(p for p in built.files if p.startswith(prefix + "repodata/")):
            members.append(Member(path, "repodata", local=local / path))
    images: list[Image] = []
    for ref, path in plan.images:
        image_id = built.images.get(ref, "")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", image_id):
            raise BundleError(f"docker save {ref}: no image id came back ({image_id!r})")
        images.append(Image(ref, path, image_id))
        members.append(Member(path, "image", local=local / path))
    for file, ref, image_id, path in plan.image_tars:
        images.append(Image(ref, path, image_id))
        members.append(Member(path, "image", local=file))
    total = sum(m.local.stat().st_size for m in members)
    progress.start(f"writing {shown_path(request.output)}", total)
    manifest, manifest_bytes = write_bundle(
        request.output, members, plan.releases, gpg_keys, images, progress=progress.advance
    )
    progress.finish()
    return manifest, manifest_bytes
