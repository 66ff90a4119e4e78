"""A site CA on the controller and server certificates it signs (for the private registry).

Pure parts (no I/O): `make_ca`, `issue_server_cert`, `renewal_reason`, `normalize_sans`,
`htpasswd_line`. The I/O part, `SiteTls`, keeps them in a controller directory:

    DIR/ca.key  ca.crt                 the site CA (key 0600, directory 0700)
    DIR/hosts/HOST/server.key          the host's server key (0600), kept across renewals
    DIR/hosts/HOST/server.crt          its certificate, re-issued only when renewal_reason
                                       says why (names changed, CA changed, near expiry)

So `plan` and `apply` see the same certificate: a stored one is reused as long as its
names and CA match and it is not close to expiry. A user's own CA (its certificate and key
files) can sign instead of the site CA.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
DEFAULT_DAYS = 365
DEFAULT_RENEW_DAYS = 30
MAX_SANS = 100
_DNS = re.compile(
    r"^(?=.{1,253}$)(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z"
)


class TlsError(ValueError):
    """Bad input for a certificate (a name that is no DNS name or address, a CA that does
    not load): the message says which value and what was expected."""


@dataclass(frozen=True)
class Ca:
    cert_pem: str
    key_pem: str

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())


@dataclass(frozen=True)
class ServerTls:
    ca_pem: str
    cert_pem: str
    key_pem: str
    reason: str  # why it was issued, or why the stored one is kept


def _utc(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def normalize_sans(names: Iterable[object]) -> list[str]:
    """The subject alternative names, validated, lower-cased, deduplicated and sorted
    (addresses first). Empty entries are dropped; anything not a DNS name or an IP address
    is refused with the value shown."""
    ips: set[str] = set()
    dns: set[str] = set()
    for raw in names:
        if raw is None:
            continue
        name = str(raw).strip(" ")
        if not name:
            continue
        try:
            ips.add(str(ipaddress.ip_address(name.strip("[]"))))
            continue
        except ValueError:
            pass
        if not _DNS.match(name.removesuffix(".")):
            raise TlsError(
                f"{name!r} is neither a DNS name nor an IP address (a certificate name must "
                "be letters, digits, '-', '_' and dots, at most 253 characters)"
            )
        dns.add(name.lower().rstrip("."))
    if not ips and not dns:
        raise TlsError("a server certificate needs at least one name or address")
    if len(ips) + len(dns) > MAX_SANS:
        raise TlsError(f"more than {MAX_SANS} names for one certificate")
    return sorted(
        ips, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a))
    ) + sorted(dns)


def _san_objects(sans: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in sans:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def cert_sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    names += ext.get_values_for_type(x509.DNSName)
    return normalize_sans(names) if names else []


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _load_key(pem: str, what: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsError(f"{what}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TlsError(f"{what}: only EC and RSA keys are supported")
    return key


def _load_cert(pem: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise TlsError(f"{what}: not a PEM certificate ({exc})") from None


def make_ca(
    common_name: str, now: dt.datetime, key: ec.EllipticCurvePrivateKey | None = None
) -> Ca:
    """A new self-signed CA certificate (CA_DAYS valid, path length 0)."""
    now = _utc(now)
    key = key or new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Ca(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))


def issue_server_cert(
    ca: Ca, server_key_pem: str, sans: list[str], now: dt.datetime, days: int = DEFAULT_DAYS
) -> str:
    """A server certificate for `sans` (already normalized), signed by `ca`."""
    now = _utc(now)
    ca_cert = _load_cert(ca.cert_pem, "CA certificate")
    ca_key = _load_key(ca.key_pem, "CA key")
    key = _load_key(server_key_pem, "server key")
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(_san_objects(sans)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def renewal_reason(
    cert_pem: str | None,
    key_pem_: str | None,
    ca_pem: str,
    sans: list[str],
    now: dt.datetime,
    renew_days: int = DEFAULT_RENEW_DAYS,
) -> str | None:
    """Why the stored certificate must be (re-)issued, or None to keep it."""
    if not cert_pem or not key_pem_:
        return "no certificate yet"
    now = _utc(now)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        key = serialization.load_pem_private_key(key_pem_.encode(), password=None)
    except (ValueError, TypeError):
        return "the stored certificate or key does not load"
    ca_cert = _load_cert(ca_pem, "CA certificate")
    if not _signed_by(cert, ca_cert):
        return "signed by another CA"
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        return "the certificate does not match the stored key"
    have = cert_sans(cert)
    if have != sans:
        added = [n for n in sans if n not in have]
        removed = [n for n in have if n not in sans]
        parts = []
        if added:
            parts.append("added " + ", ".join(added))
        if removed:
            parts.append("removed " + ", ".join(removed))
        return "names changed: " + "; ".join(parts)
    if cert.not_valid_before_utc > now:
        return f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    left = cert.not_valid_after_utc - now
    if left < dt.timedelta(days=renew_days):
        return (
            f"expires {cert.not_valid_after_utc:%Y-%m-%d} (in {max(left.days, 0)} days; "
            f"renewed within {renew_days} days)"
        )
    return None


# --------------------------------------------------------------- htpasswd (bcrypt)

_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
BCRYPT_COST = 10


def bcrypt_salt(seed: bytes, user: str, cost: int = BCRYPT_COST) -> bytes:
    """A bcrypt salt that is the same on every run for (seed, user): the htpasswd file is
    stable, so re-apply changes nothing. `seed` is a secret of the site (the CA key), so
    the salt is unique per site and user and tells nothing about the password."""
    import base64

    raw = hmac.new(seed, b"htpasswd\0" + user.encode(), hashlib.sha256).digest()[:16]
    text = base64.b64encode(raw).decode()[:22].translate(str.maketrans(_STD, _BCRYPT))
    # the last character carries 2 bits: keep it canonical, as bcrypt writes it
    text = text[:21] + _BCRYPT[_BCRYPT.index(text[21]) & 0x30]
    return f"$2b${cost:02d}${text}".encode()


def check_user(name: object, password: object, where: str) -> tuple[str, str]:
    if not isinstance(name, str) or not _USER.match(name):
        raise TlsError(
            f"{where}: a user name is 1-128 of letters, digits, '.', '_', '@', '-' "
            "(starting with a letter or digit)"
        )
    if not isinstance(password, str) or not password:
        raise TlsError(f"{where} ({name}): the password must be non-empty text")
    if len(password.encode()) > 72:
        raise TlsError(f"{where} ({name}): bcrypt uses at most 72 bytes of a password")
    if "\0" in password:
        raise TlsError(f"{where} ({name}): the password holds a NUL character")
    return name, password


def htpasswd_line(user: str, password: str, seed: bytes, cost: int = BCRYPT_COST) -> str:
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt_salt(seed, user, cost)).decode()
    return f"{user}:{hashed}"


# --------------------------------------------------------------- the controller directory


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")


@dataclass(frozen=True)
class SiteTls:
    """The controller directory with the site CA and the hosts' server certificates."""

    directory: Path
    ca_cert_file: str = ""  # a user's CA instead of the site CA (both or neither)
    ca_key_file: str = ""
    ca_name: str = "provision site CA"

    def ca(self, now: dt.datetime, create: bool = True) -> Ca:
        if bool(self.ca_cert_file) != bool(self.ca_key_file):
            raise TlsError("give both a CA certificate file and its key file, or neither")
        if self.ca_cert_file:
            cert = _read(Path(self.ca_cert_file))
            key = _read(Path(self.ca_key_file))
            if cert is None or key is None:
                raise TlsError(f"CA file not found: {self.ca_cert_file} or {self.ca_key_file}")
            ca_cert = _load_cert(cert, self.ca_cert_file)
            ca_key = _load_key(key, self.ca_key_file)
            if ca_cert.public_key().public_numbers() != ca_key.public_key().public_numbers():  # type: ignore[union-attr]
                raise TlsError(f"{self.ca_key_file} is not the key of {self.ca_cert_file}")
            return Ca(cert, key)
        with _locked(self.directory):
            cert, key = _read(self.directory / "ca.crt"), _read(self.directory / "ca.key")
            if cert and key:
                return Ca(cert, key)
            if not create:
                raise TlsError(f"no site CA in {self.directory} yet")
            ca = make_ca(self.ca_name, now)
            _write(self.directory / "ca.key", ca.key_pem, 0o600)
            _write(self.directory / "ca.crt", ca.cert_pem, 0o644)
            return ca

    def server(
        self,
        host: str,
        names: Iterable[object],
        now: dt.datetime,
        days: int = DEFAULT_DAYS,
        renew_days: int = DEFAULT_RENEW_DAYS,
    ) -> ServerTls:
        if not _HOST.match(host) or host in (".", ".."):
            raise TlsError(f"{host!r} cannot name a certificate folder")
        sans = normalize_sans(names)
        ca = self.ca(now)
        folder = self.directory / "hosts" / host
        with _locked(self.directory):
            cert, key = _read(folder / "server.crt"), _read(folder / "server.key")
            reason = renewal_reason(cert, key, ca.cert_pem, sans, now, renew_days)
            if reason is None:
                assert cert is not None and key is not None
                expires = _load_cert(cert, "server certificate").not_valid_after_utc
                return ServerTls(
                    ca.cert_pem, cert, key, f"kept (names match, expires {expires:%Y-%m-%d})"
                )
            if key is None or reason == "the stored certificate or key does not load":
                key = key_pem(new_key())
                _write(folder / "server.key", key, 0o600)
            cert = issue_server_cert(ca, key, sans, now, days)
            _write(folder / "server.crt", cert, 0o644)
            return ServerTls(ca.cert_pem, cert, key, f"issued: {reason}")
