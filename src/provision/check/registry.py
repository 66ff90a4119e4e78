"""`provision check` on a private registry (docs/registry.md): from the host, with the CA the
engine trusts for it (/etc/docker/certs.d/HOST:PORT/ca.crt), does the registry answer over
TLS, and do the configured credentials work?

The variables are docker_registry_client's: `docker_registry_client_registry` (HOST:PORT;
empty: no registry checks), `docker_registry_client_user` and
`docker_registry_client_password` (a secret: it reaches the host on curl's standard input
as a config line, never on its command line, and no result text holds it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.check.rules import Level, Result
from provision.check.sizing import _text
from provision.facts.base import FactError, tail, text
from provision.facts.host import FactFailure

MISSING_TOOL = 127
TIMEOUT_SECONDS = 10
_REGISTRY = re.compile(r"[A-Za-z0-9_.-]+:[0-9]{1,5}|\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}")
# curl exit codes that mean "the certificate is not trusted / does not match"
TLS_ERRORS = {35: "TLS handshake failed", 51: "name mismatch", 58: "client cert", 60: "untrusted"}


@dataclass(frozen=True)
class Answer:
    code: int  # HTTP status (0: none)
    curl_rc: int
    error: str = ""


@dataclass(frozen=True)
class RegistryProbe:
    has_ca: bool
    tls: Answer | None = None
    auth: Answer | None = None  # None: no user configured


def ca_path(registry: str) -> str:
    return f"/etc/docker/certs.d/{registry}/ca.crt"


def _curl_config_value(value: str) -> str:
    """A value for a double-quoted curl config line (backslash and quote escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class RegistryFact:
    """GET https://REGISTRY/v2/ from the host with the CA the engine trusts for it: once
    without credentials (TLS), once with them (auth). Reads nothing else, writes nothing."""

    registry: str
    user: str = ""
    password: str = ""
    slow: bool = True

    def command(self) -> str:
        ca = shlex.quote(ca_path(self.registry))
        url = shlex.quote(f"https://{self.registry}/v2/")
        get = (
            f"curl -sS -o /dev/null --max-time {TIMEOUT_SECONDS} -w '%{{http_code}}' "
            f"--noproxy '*' --cacert {ca}"
        )
        lines = [
            "command -v curl >/dev/null || exit 127",
            f"[ -r {ca} ] || {{ echo noca; exit 0; }}",
            "e=$(mktemp) || exit 3; trap 'rm -f \"$e\"' EXIT",
            'show() { printf \'%s\\t%s\\t%s\\t%s\\n\' "$1" "${2:-000}" "$3"'
            " \"$(head -c 200 \"$e\" | tr '\\t\\n\\r' '   ')\"; }",
            f'code=$({get} {url} 2>"$e"); show tls "$code" $?',
        ]
        if self.user:
            config = f'user = "{_curl_config_value(self.user)}:{_curl_config_value(self.password)}"'
            lines.append(
                f"code=$(printf '%s\\n' {shlex.quote(config)} | {get} -K - {url} 2>\"$e\");"
                ' show auth "$code" $?'
            )
        return "\n".join(lines)

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> RegistryProbe | None:
        if rc == MISSING_TOOL:
            return None
        if rc != 0:
            raise FactError(f"the registry check failed (exit {rc}): {tail(stderr)}")
        lines = [line for line in text(stdout).splitlines() if line.strip()]
        if lines == ["noca"]:
            return RegistryProbe(False)
        found: dict[str, Answer] = {}
        for line in lines:
            fields = line.split("\t")
            if (
                len(fields) != 4
                or fields[0] not in ("tls", "auth")
                or not fields[1].isdigit()
                or not fields[2].isdigit()
            ):
                raise FactError(f"unexpected registry check line: {line!r}")
            found[fields[0]] = Answer(int(fields[1]), int(fields[2]), fields[3].strip())
        if "tls" not in found:
            raise FactError("the registry check printed no TLS line")
        return RegistryProbe(True, found["tls"], found.get("auth"))

    def describe(self) -> str:
        return "registry reachable"


def registry_fact_of(variables: Mapping[str, Any]) -> RegistryFact | None:
    """The registry check's fact for a host's variables (None: no registry configured)."""
    from provision.errors import InputError

    registry = _text(variables, "docker_registry_client_registry")
    if not registry:
        return None
    if not _REGISTRY.fullmatch(registry):
        raise InputError(f"docker_registry_client_registry must be HOST:PORT, found {registry!r}")
    user = _text(variables, "docker_registry_client_user")
    password = _text(variables, "docker_registry_client_password") if user else ""
    return RegistryFact(registry, user, password)


def registry_results(fact: RegistryFact | None, probe: Any) -> list[Result]:
    """PASS/FAIL for the registry's TLS and the credentials (pure)."""
    if fact is None:
        return []
    reg = fact.registry
    name = f"registry {reg}"
    want_tls = f"HTTPS with the CA in {ca_path(reg)}"
    if isinstance(probe, FactFailure):
        return [Result(name, Level.WARN, f"not checked: {probe.message}", want_tls)]
    if probe is None:
        return [Result(name, Level.WARN, "not checked: no curl on the host", want_tls)]
    assert isinstance(probe, RegistryProbe)
    if not probe.has_ca:
        return [
            Result(
                name,
                Level.FAIL,
                f"registry {reg}: no CA for it on the host ({ca_path(reg)} missing)",
                want_tls,
                "apply the docker_registry_client role (it writes the registry's CA there)",
            )
        ]
    results: list[Result] = []
    tls = probe.tls
    assert tls is not None
    if tls.curl_rc == 0 and tls.code in (200, 401):
        results.append(
            Result(name, Level.PASS, f"HTTP {tls.code} over TLS, certificate trusted", want_tls)
        )
    elif tls.curl_rc in TLS_ERRORS:
        results.append(
            Result(
                name,
                Level.FAIL,
                f"registry {reg}: its certificate is not trusted by this host "
                f"({TLS_ERRORS[tls.curl_rc]}, curl exit {tls.curl_rc}: {tls.error})",
                want_tls,
                "the CA in certs.d must be the one that signed the registry's certificate, "
                "and the certificate must name this address (docs/registry.md, TLS)",
            )
        )
        return results
    else:
        why = f"HTTP {tls.code}" if tls.curl_rc == 0 else f"curl exit {tls.curl_rc}: {tls.error}"
        results.append(
            Result(
                name,
                Level.FAIL,
                f"registry {reg}: no registry answer ({why})",
                want_tls,
                f"is the registry running (systemctl status on its host) and port "
                f"{reg.rsplit(':', 1)[1]}/tcp open?",
            )
        )
        return results
    auth = probe.auth
    if auth is None:
        return results
    check = f"registry {reg} login"
    want = f"GET /v2/ as {fact.user} answers 200"
    if auth.curl_rc == 0 and auth.code == 200:
        results.append(Result(check, Level.PASS, f"credentials for {fact.user} accepted", want))
    elif auth.curl_rc == 0 and auth.code == 401:
        results.append(
            Result(
                check,
                Level.FAIL,
                f"registry {reg}: credentials for {fact.user} rejected (401)",
                want,
                "check docker_registry_client_user/_password against docker_registry_users",
            )
        )
    else:
        why = f"HTTP {auth.code}" if auth.curl_rc == 0 else f"curl exit {auth.curl_rc}"
        results.append(
            Result(check, Level.FAIL, f"registry {reg}: login not confirmed ({why})", want)
        )
    return results
