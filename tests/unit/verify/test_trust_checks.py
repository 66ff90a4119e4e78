"""`provision verify` for rpm_key and sysctl: against a fake testinfra host."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from provision.facts.rpm_keys import KEY_MARK
from provision.facts.sysctl_boot import MARK
from provision.tasks.base import Assertion
from provision.verify.checks import check

KEYS = Path(__file__).parents[1] / "facts" / "openpgp"
ED = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"


@dataclass
class Result:
    rc: int
    stdout_bytes: bytes
    stderr_bytes: bytes = b""

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode()


@dataclass
class File:
    exists: bool
    content: bytes = b""

    @property
    def content_string(self) -> str:
        return self.content.decode()


@dataclass
class FakeHost:
    keys: dict[str, str] = field(default_factory=dict)  # rpm name -> key file
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    links: dict[str, str] = field(default_factory=dict)
    live: str = "1"

    def run(self, script: str) -> Result:
        if script.startswith("sysctl -n"):
            return Result(0, self.live.encode() + b"\n")
        if "rpm -qa" in script:
            text = "".join(
                f"{KEY_MARK}{n}\n{(KEYS / f).read_text()}\n" for n, f in self.keys.items()
            )
            return Result(0, text.encode())
        if MARK.strip() in script:
            return Result(0, self._listing().encode())
        raise AssertionError(script)

    def _listing(self) -> str:
        out = ""
        for path in sorted(set(self.files) | set(self.links)):
            real = self.links.get(path, path)
            b = [base64.b64encode(s.encode()).decode() for s in (path, real)]
            body = base64.b64encode(self.files.get(real, "").encode()).decode()
            out += f"{MARK}{b[0]} {b[1]} 644|root|root\n{body}\n"
        return out

    def file(self, path: str) -> File:
        if path in self.files:
            return File(True, self.files[path].encode())
        return File(False)


def _key(state: str = "present", dest: str | None = None) -> Assertion:
    return Assertion("rpm_key", ED, {"state": state, "dest": dest}, "key")


def test_rpm_key_present() -> None:
    host = FakeHost(keys={"gpg-pubkey-d916b83a-1": "ed25519.asc"})
    assert check(host, _key()) is None
    assert "is imported" in str(check(host, _key("absent")))


def test_rpm_key_missing_or_only_short_id() -> None:
    assert "is not imported" in str(check(FakeHost(), _key()))
    collision = FakeHost(keys={"gpg-pubkey-d916b83a-1": "rsa-with-subkey.asc"})
    assert "is not imported" in str(check(collision, _key()))


def test_rpm_key_dest_copy_checked() -> None:
    dest = "/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce"
    host = FakeHost(keys={"gpg-pubkey-d916b83a-1": "ed25519.asc"})
    assert "does not exist" in str(check(host, _key(dest=dest)))
    host.files[dest] = (KEYS / "two-keys.asc").read_text()
    assert "holds 2 keys" in str(check(host, _key(dest=dest)))
    host.files[dest] = (KEYS / "ed25519.asc").read_text()
    assert check(host, _key(dest=dest)) is None


def _sysctl() -> Assertion:
    expect = {"value": "1", "file": "/etc/sysctl.d/99-docker.conf", "state": "present"}
    return Assertion("sysctl", "net.ipv4.ip_forward", expect, "ip_forward")


def test_sysctl_holds_at_boot() -> None:
    host = FakeHost(files={"/etc/sysctl.d/99-docker.conf": "net.ipv4.ip_forward = 1\n"})
    assert check(host, _sysctl()) is None


def test_sysctl_overridden_at_boot() -> None:
    host = FakeHost(
        files={
            "/etc/sysctl.d/99-docker.conf": "net.ipv4.ip_forward = 1\n",
            "/etc/sysctl.conf": "net.ipv4.ip_forward = 0\n",
        },
        links={"/etc/sysctl.d/99-sysctl.conf": "/etc/sysctl.conf"},
    )
    problem = check(host, _sysctl())
    assert problem == (
        "sysctl net.ipv4.ip_forward at boot would be 0 (/etc/sysctl.conf:1), expected 1"
    )
