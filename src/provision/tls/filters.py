"""Template filters for the private registry's TLS and htpasswd (roles docker_registry and
docker_registry_client). Each is deterministic for its inputs and the controller directory:
the same certificate and the same htpasswd text on every run until a renewal is due.

    {{ dir | registry_tls(host, names, days=365, renew_days=30,
                          ca_cert_file='', ca_key_file='', cert_file='', key_file='') }}
        -> {ca, cert, key, reason, sans}: the server certificate for `host` (created or
           renewed on the controller under `dir` when needed; with cert_file/key_file, the
           user's own certificate, read as is)
    {{ dir | site_ca(ca_cert_file='') }}
        -> the CA certificate (PEM) that clients trust (the site CA is created if missing)
    {{ users | registry_htpasswd(seed) }}
        -> htpasswd text, one `name:$2b$...` line per {name, password}; `seed` is a secret
           of the site (the server key), which makes the bcrypt salt stable per user
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision.tls.bundleimages import bundle_images
from provision.tls.bundlekeys import bundle_keyring, offline_mirror_valid

if TYPE_CHECKING:
    from types import ModuleType

#: provision.tls.siteca's defaults (a test checks they agree): siteca, and cryptography's
#: x509 with it, is imported only when a filter runs, not by every run that renders a template
DEFAULT_DAYS = 365
DEFAULT_RENEW_DAYS = 30


def _siteca() -> ModuleType:
    from provision.tls import siteca

    return siteca


def _error(exc: Exception) -> Exception:
    from provision.project.jinjafilters import FilterError

    return FilterError(str(exc))


def _number(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _siteca().TlsError(f"{name} must be a whole number from {low} to {high}")
    return value


def _names(names: Any) -> list[Any]:
    if isinstance(names, str):
        return [names]
    if isinstance(names, list | tuple):
        flat: list[Any] = []
        for n in names:
            flat += list(n) if isinstance(n, list | tuple) else [n]
        return flat
    raise _siteca().TlsError("registry_tls: names must be a list of host names and addresses")


def registry_tls(
    directory: Any,
    host: Any,
    names: Any,
    days: Any = DEFAULT_DAYS,
    renew_days: Any = DEFAULT_RENEW_DAYS,
    ca_cert_file: Any = "",
    ca_key_file: Any = "",
    cert_file: Any = "",
    key_file: Any = "",
) -> dict[str, Any]:
    siteca = _siteca()
    try:
        if cert_file or key_file:
            if not (cert_file and key_file and ca_cert_file):
                raise siteca.TlsError(
                    "a certificate of your own needs its cert file, key file and the CA "
                    "certificate file that signed it"
                )
            texts = []
            for f in (ca_cert_file, cert_file, key_file):
                try:
                    texts.append(Path(str(f)).read_text())
                except OSError as exc:
                    raise siteca.TlsError(f"cannot read {f}: {exc.strerror}") from None
            return {
                "ca": texts[0],
                "cert": texts[1],
                "key": texts[2],
                "reason": f"given: {cert_file}",
                "sans": [],
            }
        site = siteca.SiteTls(Path(str(directory)), str(ca_cert_file or ""), str(ca_key_file or ""))
        tls = site.server(
            str(host),
            _names(names),
            dt.datetime.now(dt.UTC),
            _number(days, "days", 1, 3650),
            _number(renew_days, "renew_days", 0, 3650),
        )
        return {
            "ca": tls.ca_pem,
            "cert": tls.cert_pem,
            "key": tls.key_pem,
            "reason": tls.reason,
            "sans": siteca.normalize_sans(_names(names)),
        }
    except (siteca.TlsError, OSError) as exc:
        raise _error(exc) from None


def site_ca(directory: Any, ca_cert_file: Any = "") -> str:
    siteca = _siteca()
    try:
        if ca_cert_file:
            return Path(str(ca_cert_file)).read_text()
        return siteca.SiteTls(Path(str(directory))).ca(dt.datetime.now(dt.UTC)).cert_pem
    except (siteca.TlsError, OSError) as exc:
        raise _error(exc) from None


@functools.lru_cache(maxsize=256)
def _line(user: str, password: str, seed: str) -> str:
    siteca = _siteca()
    return siteca.htpasswd_line(user, password, seed.encode())


def _users(users: Any) -> list[tuple[str, str]]:
    siteca = _siteca()
    if not isinstance(users, list | tuple):
        raise siteca.TlsError("docker_registry_users must be a list of {name, password}")
    checked: list[tuple[str, str]] = []
    for i, entry in enumerate(users):
        where = f"docker_registry_users[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"name", "password"}:
            raise siteca.TlsError(f"{where}: expected a mapping with keys name and password")
        name, password = siteca.check_user(entry.get("name"), entry.get("password"), where)
        if name in (n for n, _ in checked):
            raise siteca.TlsError(f"{where}: user {name} is listed twice")
        checked.append((name, password))
    return checked


def registry_users_valid(users: Any) -> bool:
    """True, or an input error saying which entry is wrong (never showing a password):
    for an `assert` that runs before any host is touched."""
    siteca = _siteca()
    try:
        _users(users)
    except siteca.TlsError as exc:
        raise _error(exc) from None
    return True


def registry_htpasswd(users: Any, seed: Any) -> str:
    siteca = _siteca()
    try:
        if not isinstance(seed, str) or len(seed) < 16:
            raise siteca.TlsError(
                "registry_htpasswd: the seed must be a secret text (the server key)"
            )
        lines = [_line(name, password, seed) for name, password in _users(users)]
        return "".join(line + "\n" for line in lines)
    except siteca.TlsError as exc:
        raise _error(exc) from None


TLS_FILTERS: dict[str, Callable[..., Any]] = {
    "registry_tls": registry_tls,
    "site_ca": site_ca,
    "registry_htpasswd": registry_htpasswd,
    "registry_users_valid": registry_users_valid,
    "bundle_images": bundle_images,
    "bundle_keyring": bundle_keyring,  # offline_repo's mirror mode (branch mirror5)
    "offline_mirror_valid": offline_mirror_valid,
}
