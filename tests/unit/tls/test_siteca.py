"""The site CA, server certificates and their renewal, and the htpasswd lines."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import bcrypt
import pytest
from cryptography import x509

from provision.tls.siteca import (
    SiteTls,
    TlsError,
    bcrypt_salt,
    cert_sans,
    check_user,
    htpasswd_line,
    issue_server_cert,
    key_pem,
    make_ca,
    new_key,
    normalize_sans,
    renewal_reason,
)

NOW = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("names", "want"),
    [
        (["reg.example.com"], ["reg.example.com"]),
        (["REG.Example.COM."], ["reg.example.com"]),
        (["b", "a", "10.0.0.2", "10.0.0.10"], ["10.0.0.2", "10.0.0.10", "a", "b"]),
        (["a", "a", " a "], ["a"]),
        (["::1", "127.0.0.1"], ["127.0.0.1", "::1"]),
        (["[::1]"], ["::1"]),
        (["", None, "host"], ["host"]),
        (["*.example.com"], ["*.example.com"]),
        (["under_score"], ["under_score"]),
    ],
)
def test_normalize_sans(names: list, want: list[str]) -> None:
    assert normalize_sans(names) == want


@pytest.mark.parametrize(
    "bad",
    [
        "a b",
        "host\nother",
        "host\r",
        "host\v",
        "host\f",
        "host\x85",
        "host\u2028",
        "host\u2029",
        "host\x00",
        "-leading",
        "../etc",
        "a/b",
        "x" * 300,
        "host:5000",
        "é.example",
        "a..b",
    ],
)
def test_normalize_sans_refuses(bad: str) -> None:
    with pytest.raises(TlsError) as err:
        normalize_sans([bad])
    assert "neither a DNS name nor an IP address" in str(err.value)


def test_normalize_sans_needs_one() -> None:
    with pytest.raises(TlsError, match="at least one"):
        normalize_sans(["", None])


def test_normalize_sans_limit() -> None:
    with pytest.raises(TlsError, match="more than"):
        normalize_sans([f"h{i}" for i in range(101)])


@pytest.fixture(scope="module")
def ca():  # one CA for the module: EC keys are fast, but no need to make many
    return make_ca("test CA", NOW)


@pytest.fixture(scope="module")
def server_key() -> str:
    return key_pem(new_key())


def test_ca_is_a_ca(ca) -> None:
    cert = ca.cert
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.subject == cert.issuer
    assert cert.not_valid_after_utc > NOW + dt.timedelta(days=3000)


def test_server_cert_names_and_issuer(ca, server_key) -> None:
    sans = normalize_sans(["rocky1", "10.200.0.11"])
    pem = issue_server_cert(ca, server_key, sans, NOW, days=90)
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert_sans(cert) == sans
    assert cert.issuer == ca.cert.subject
    cert.verify_directly_issued_by(ca.cert)
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=90)
    assert renewal_reason(pem, server_key, ca.cert_pem, sans, NOW) is None


@pytest.mark.parametrize(
    ("cert_sans_", "want_sans", "when", "expected"),
    [
        (["a"], ["a"], NOW, None),
        (["a"], ["a", "b"], NOW, "names changed: added b"),
        (["a", "b"], ["a"], NOW, "names changed: removed b"),
        (["a"], ["c"], NOW, "names changed: added c; removed a"),
        (["a"], ["a"], NOW + dt.timedelta(days=70), "expires 2027-03-01 (in 20 days"),
        (["a"], ["a"], NOW + dt.timedelta(days=59), None),
        (["a"], ["a"], NOW + dt.timedelta(days=200), "expires 2027-03-01 (in 0 days"),
        (["a"], ["a"], NOW - dt.timedelta(days=1), "not valid before"),
    ],
)
def test_renewal_reason(ca, server_key, cert_sans_, want_sans, when, expected) -> None:
    pem = issue_server_cert(ca, server_key, cert_sans_, NOW, days=90)
    reason = renewal_reason(pem, server_key, ca.cert_pem, want_sans, when, renew_days=30)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(expected), reason


def test_renewal_other_ca_and_key(ca, server_key) -> None:
    other = make_ca("other", NOW)
    pem = issue_server_cert(other, server_key, ["a"], NOW)
    assert renewal_reason(pem, server_key, ca.cert_pem, ["a"], NOW) == "signed by another CA"
    pem = issue_server_cert(ca, server_key, ["a"], NOW)
    other_key = key_pem(new_key())
    assert "does not match" in str(renewal_reason(pem, other_key, ca.cert_pem, ["a"], NOW))
    assert renewal_reason(None, server_key, ca.cert_pem, ["a"], NOW) == "no certificate yet"
    assert "does not load" in str(renewal_reason("junk", server_key, ca.cert_pem, ["a"], NOW))


def test_site_dir_creates_once_and_reuses(tmp_path: Path) -> None:
    site = SiteTls(tmp_path / "tls")
    first = site.server("rocky1", ["rocky1", "10.200.0.11"], NOW)
    assert first.reason == "issued: no certificate yet"
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "tls/ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls/hosts/rocky1/server.key").stat().st_mode) == 0o600
    again = site.server("rocky1", ["10.200.0.11", "rocky1"], NOW)
    assert again.cert_pem == first.cert_pem and again.key_pem == first.key_pem
    assert again.reason.startswith("kept (names match")
    moved = site.server("rocky1", ["rocky1", "10.200.0.12"], NOW)
    assert moved.reason == "issued: names changed: added 10.200.0.12; removed 10.200.0.11"
    assert moved.key_pem == first.key_pem  # the key is kept across renewals
    assert moved.ca_pem == first.ca_pem
    late = site.server("rocky1", ["rocky1", "10.200.0.12"], NOW + dt.timedelta(days=340))
    assert late.reason.startswith("issued: expires")


@pytest.mark.parametrize("host", ["..", ".", "../x", "a/b", "", "a\nb", "-x"])
def test_site_dir_refuses_host_folder(tmp_path: Path, host: str) -> None:
    with pytest.raises(TlsError, match="cannot name a certificate folder"):
        SiteTls(tmp_path).server(host, ["a"], NOW)


def test_users_own_ca(tmp_path: Path, ca) -> None:
    (tmp_path / "ca.crt").write_text(ca.cert_pem)
    (tmp_path / "ca.key").write_text(ca.key_pem)
    site = SiteTls(tmp_path / "tls", str(tmp_path / "ca.crt"), str(tmp_path / "ca.key"))
    tls = site.server("h", ["h"], NOW)
    x509.load_pem_x509_certificate(tls.cert_pem.encode()).verify_directly_issued_by(ca.cert)
    assert not (tmp_path / "tls/ca.key").exists()
    other = make_ca("other", NOW)
    (tmp_path / "other.key").write_text(other.key_pem)
    with pytest.raises(TlsError, match="is not the key of"):
        SiteTls(tmp_path, str(tmp_path / "ca.crt"), str(tmp_path / "other.key")).ca(NOW)
    with pytest.raises(TlsError, match="both"):
        SiteTls(tmp_path, str(tmp_path / "ca.crt"), "").ca(NOW)


def test_htpasswd_is_bcrypt_and_stable() -> None:
    line = htpasswd_line("alice", "s3cret-pass", b"seed" * 8)
    user, hashed = line.split(":", 1)
    assert user == "alice" and hashed.startswith("$2b$10$")
    assert bcrypt.checkpw(b"s3cret-pass", hashed.encode())
    assert not bcrypt.checkpw(b"wrong", hashed.encode())
    assert htpasswd_line("alice", "s3cret-pass", b"seed" * 8) == line
    assert htpasswd_line("alice", "s3cret-pass", b"other" * 8) != line
    assert "s3cret-pass" not in line


def test_salt_differs_per_user_and_seed() -> None:
    salts = {bcrypt_salt(s, u) for s in (b"a" * 16, b"b" * 16) for u in ("x", "y")}
    assert len(salts) == 4


@pytest.mark.parametrize(
    ("name", "password", "error"),
    [
        ("", "pw", "a user name"),
        ("a:b", "pw", "a user name"),
        ("-x", "pw", "a user name"),
        ("a\nb", "pw", "a user name"),
        ("a b", "pw", "a user name"),
        (7, "pw", "a user name"),
        ("x" * 129, "pw", "a user name"),
        ("alice", "", "non-empty"),
        ("alice", None, "non-empty"),
        ("alice", 1234, "non-empty"),
        ("alice", "p" * 73, "72 bytes"),
        ("alice", "é" * 37, "72 bytes"),
        ("alice", "a\0b", "NUL"),
    ],
)
def test_check_user_refuses(name, password, error: str) -> None:
    with pytest.raises(TlsError, match=error) as err:
        check_user(name, password, "docker_registry_users[0]")
    if isinstance(password, str) and len(password) >= 3:
        assert password not in str(err.value)


@pytest.mark.parametrize("password", ["pw with spaces", "quote'\"", "line\nbreak", "é" * 36])
def test_check_user_accepts(password: str) -> None:
    assert check_user("bob", password, "x") == ("bob", password)
