"""Ansible Vault: reading files and `!vault` values encrypted by `ansible-vault`.

The format, as Ansible writes it (format 1.1, and 1.2 which adds a vault id):

    $ANSIBLE_VAULT;1.1;AES256            or   $ANSIBLE_VAULT;1.2;AES256;LABEL
    <hex of "hex(salt)\\nhex(hmac)\\nhex(ciphertext)", in lines of 80>

The key material is PBKDF2-HMAC-SHA256(password, salt, 10000 rounds, 80 bytes): the
first 32 bytes are the AES-256 key, the next 32 the HMAC-SHA256 key, the last 16 the
CTR counter block. The HMAC covers the ciphertext and is checked (in constant time)
before anything is decrypted; the plaintext is PKCS#7 padded to 16 bytes.

Passwords come from `--vault-password-file FILE` (its text, surrounding blanks
removed; an executable file is run, as Ansible does, and its standard output is the
password), `--ask-vault-pass` (a prompt on the terminal) and `--vault-id LABEL@SOURCE`
(SOURCE a file, or `prompt`). Each is tried on every vault, those whose label matches
the vault's id first. Every value read from a vault is a secret (`mask.add_vault_value`).

The ansible.cfg setting `vault_password_file` comes in through `configure(VaultSettings)`
(the CLI options, when given, are used instead, as in Ansible).
"""

from __future__ import annotations

import binascii
import hmac
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from provision.errors import InputError, Location

HEADER = "$ANSIBLE_VAULT"
CIPHER = "AES256"
ITERATIONS = 10000
KEY_LENGTH = 32
IV_LENGTH = 16
SALT_LENGTH = 32
MAX_PASSWORD_BYTES = 64 * 1024
PASSWORD_SCRIPT_SECONDS = 30.0
DEFAULT_LABEL = "default"
_LABEL = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


@dataclass(frozen=True)
class VaultSecret:
    """One vault password and where it came from (the password never in its repr)."""

    label: str
    password: bytes = field(repr=False)
    source: str


@dataclass
class VaultSettings:
    """Where vault passwords come from: the CLI options, or ansible.cfg's
    `vault_password_file` / `vault_identity_list` (relative paths from `base`)."""

    password_files: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    ask: bool = False
    base: Path | None = None


class Keyring:
    """The vault passwords of this run (set once by the CLI, read by the YAML loader)."""

    def __init__(self) -> None:
        self.secrets: list[VaultSecret] = []
        self.from_cli = False

    def clear(self) -> None:
        self.secrets = []
        self.from_cli = False

    def add(self, secret: VaultSecret) -> None:
        if not secret.password:
            raise InputError(f"the vault password from {secret.source} is empty")
        self.secrets.append(secret)

    def ordered(self, label: str | None) -> list[VaultSecret]:
        """The secrets to try on a vault with this label: the matching ones first."""
        matching = [s for s in self.secrets if label is not None and s.label == label]
        return matching + [s for s in self.secrets if s not in matching]

    def describe(self) -> str:
        return ", ".join(f"{s.source} (vault id {s.label!r})" for s in self.secrets)


KEYRING = Keyring()


# ------------------------------------------------------------------ where passwords come from


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _prompt(label: str) -> bytes:
    if not _stdin_is_terminal():
        raise InputError(
            "--ask-vault-pass needs a terminal to ask on",
            hint="give the password with --vault-password-file FILE instead",
        )
    what = "Vault password" if label == DEFAULT_LABEL else f"Vault password ({label})"
    text = click.prompt(what, hide_input=True, default="", show_default=False, err=True)
    return str(text).encode("utf-8")


def _is_client_script(path: Path) -> bool:
    stem = path.stem if path.suffix else path.name
    return stem.endswith("-client")


def _run_script(path: Path, label: str | None) -> bytes:
    """An executable password file: its standard output (line breaks around it removed).
    A `*-client` script is given `--vault-id LABEL`, as Ansible does."""
    if path.stat().st_mode & 0o002:
        raise InputError(
            f"vault password script {path} is world-writable, so anyone could have written"
            " it; it is not run",
            hint=f"chmod o-w {path}",
        )
    argv = [os.path.abspath(path)]  # a bare name would be looked up in PATH
    if label is not None and _is_client_script(path):
        argv += ["--vault-id", label]
    try:
        done = subprocess.run(  # noqa: S603 - the user's own password script, no shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PASSWORD_SCRIPT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"vault password script {path} did not finish in {PASSWORD_SCRIPT_SECONDS:g} seconds"
        )
    except OSError as exc:
        raise InputError(f"vault password script {path} cannot run: {exc.strerror}")
    if done.returncode != 0:
        raise InputError(
            f"vault password script {path} failed with exit code {done.returncode}",
            hint="its error output is not shown (it may hold the password)",
        )
    if len(done.stdout) > MAX_PASSWORD_BYTES:
        raise InputError(
            f"vault password script {path} printed more than {MAX_PASSWORD_BYTES} bytes"
        )
    return done.stdout.strip(b"\r\n")


def _read_password_file(path: Path, label: str | None) -> bytes:
    from provision.project.yamlfile import read_bytes

    if path.is_file() and os.access(path, os.X_OK):
        return _run_script(path, label)
    return read_bytes(path, "vault password file", MAX_PASSWORD_BYTES).strip()


def load_secret(source: str, label: str | None = None, base: Path | None = None) -> VaultSecret:
    """One password: from a file (or script), or `prompt` for the terminal."""
    name = label or DEFAULT_LABEL
    if label is not None and not _LABEL.fullmatch(label):
        raise InputError(f"vault id {label!r}: letters, digits, '_', '.' and '-' only")
    if source == "prompt":
        return VaultSecret(name, _prompt(name), "the prompt")
    path = Path(source).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return VaultSecret(name, _read_password_file(path, label), str(path))


def parse_vault_id(text: str) -> tuple[str | None, str]:
    """`label@source` or `source` (the label `default`)."""
    label, sep, source = text.partition("@")
    if not sep:
        return None, text
    if not label or not source:
        raise InputError(f"--vault-id {text!r}: expected LABEL@FILE, LABEL@prompt or FILE")
    return label, source


def load_secrets(settings: VaultSettings) -> list[VaultSecret]:
    found: list[VaultSecret] = []
    for text in settings.ids:
        label, source = parse_vault_id(text)
        found.append(load_secret(source, label, settings.base))
    for name in settings.password_files:
        found.append(load_secret(name, None, settings.base))
    if settings.ask:
        found.append(load_secret("prompt"))
    return found


def configure(settings: VaultSettings, replace: bool = False) -> None:
    """Add the passwords `settings` names (ansible.cfg calls this; the CLI options win:
    nothing is added when they gave any, unless `replace`)."""
    if KEYRING.from_cli and not replace:
        return
    for secret in load_secrets(settings):
        KEYRING.add(secret)


def _cli_callback(kind: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if not ctx.meta.get("provision.vault"):
            ctx.meta["provision.vault"] = True
            KEYRING.clear()  # a fresh keyring for each command run
        settings = VaultSettings()
        if kind == "file":
            settings.password_files = list(value or ())
        elif kind == "id":
            settings.ids = list(value or ())
        elif value:
            settings.ask = True
        try:
            secrets = load_secrets(settings)
            for secret in secrets:
                KEYRING.add(secret)
        except InputError as exc:
            raise click.BadParameter(str(exc)) from None
        if secrets:
            KEYRING.from_cli = True

    return callback


VAULT_OPTIONS = [
    click.option(
        "--vault-password-file",
        multiple=True,
        expose_value=False,
        callback=_cli_callback("file"),
        help="File holding an ansible-vault password (an executable file is run and its "
        "output used). Repeatable.",
    ),
    click.option(
        "--ask-vault-pass",
        "--ask-vault-password",
        is_flag=True,
        expose_value=False,
        callback=_cli_callback("ask"),
        help="Ask for the ansible-vault password on the terminal.",
    ),
    click.option(
        "--vault-id",
        multiple=True,
        expose_value=False,
        callback=_cli_callback("id"),
        help="LABEL@FILE or LABEL@prompt: a vault password with its vault id. Repeatable.",
    ),
]


# ------------------------------------------------------------------ the format


@dataclass(frozen=True)
class Envelope:
    version: str
    label: str | None
    salt: bytes
    mac: bytes
    ciphertext: bytes


def is_vaulted(text: str | bytes) -> bool:
    head = text[: len(HEADER)]
    return (head.decode("ascii", "replace") if isinstance(head, bytes) else head) == HEADER


def parse_envelope(text: str, where: Location) -> Envelope:
    lines = text.strip().splitlines()
    if not lines:
        raise InputError("an empty vault value", where)
    parts = [part.strip() for part in lines[0].strip().split(";")]
    if parts[0] != HEADER or len(parts) < 3:
        raise InputError(f"not ansible-vault data: the first line must start with {HEADER};", where)
    version, cipher = parts[1], parts[2]
    if version not in ("1.1", "1.2"):
        raise InputError(
            f"ansible-vault format {version!r} is not supported (1.1 and 1.2 are)", where
        )
    if cipher != CIPHER:
        raise InputError(f"ansible-vault cipher {cipher!r} is not supported (AES256 is)", where)
    label = parts[3] if len(parts) >= 4 and parts[3] else None
    body = "".join(line.strip() for line in lines[1:])
    try:
        inner = binascii.unhexlify(body)
        salt_hex, mac_hex, cipher_hex = inner.split(b"\n", 2)
        salt = binascii.unhexlify(salt_hex)
        mac = binascii.unhexlify(mac_hex)
        ciphertext = binascii.unhexlify(cipher_hex.strip())
    except (binascii.Error, ValueError):
        raise InputError("ansible-vault data is damaged (not the hex the format holds)", where)
    if len(mac) != 32 or not ciphertext or len(ciphertext) % 16:
        raise InputError("ansible-vault data is damaged (wrong lengths)", where)
    return Envelope(version, label, salt, mac, ciphertext)


def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=2 * KEY_LENGTH + IV_LENGTH,
        salt=salt,
        iterations=ITERATIONS,
    )
    derived = kdf.derive(password)
    return derived[:KEY_LENGTH], derived[KEY_LENGTH : 2 * KEY_LENGTH], derived[2 * KEY_LENGTH :]


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, "sha256").digest()


def _try(envelope: Envelope, password: bytes) -> bytes | None:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    aes_key, mac_key, iv = _keys(password, envelope.salt)
    if not hmac.compare_digest(_mac(mac_key, envelope.ciphertext), envelope.mac):
        return None  # a wrong password, or data changed since it was written
    decryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).decryptor()
    padded = decryptor.update(envelope.ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


def decrypt_bytes(text: str, where: Location, keyring: Keyring | None = None) -> bytes:
    """The plaintext of one vault (a file's text or a `!vault` value), or an InputError
    naming `where` (never the password or any plaintext)."""
    keyring = keyring or KEYRING
    envelope = parse_envelope(text, where)
    if not keyring.secrets:
        raise InputError(
            "this is encrypted with ansible-vault, and no vault password was given",
            where,
            hint="give one with --vault-password-file FILE, --ask-vault-pass or "
            "--vault-id LABEL@FILE (or vault_password_file in ansible.cfg)",
        )
    for secret in keyring.ordered(envelope.label):
        plain = _try(envelope, secret.password)
        if plain is not None:
            return plain
    label = f" (vault id {envelope.label!r})" if envelope.label else ""
    raise InputError(
        f"cannot decrypt this ansible-vault data{label}: no vault password given fits it, "
        "or the data was changed since it was encrypted",
        where,
        hint=f"passwords tried: {keyring.describe()}",
    )


def decrypt(text: str, where: Location, keyring: Keyring | None = None) -> str:
    plain = decrypt_bytes(text, where, keyring)
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the decrypted ansible-vault data is not UTF-8 text", where)


def encrypt(
    plaintext: bytes, password: bytes, label: str | None = None, salt: bytes | None = None
) -> str:
    """`plaintext` in Ansible's vault format (1.2 with a label, else 1.1): the format
    `ansible-vault encrypt` writes, so `ansible-vault decrypt` reads it."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt = salt if salt is not None else os.urandom(SALT_LENGTH)
    aes_key, mac_key, iv = _keys(password, salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    inner = b"\n".join(
        binascii.hexlify(part) for part in (salt, _mac(mac_key, ciphertext), ciphertext)
    )
    body = binascii.hexlify(inner).decode("ascii")
    header = f"{HEADER};1.2;{CIPHER};{label}" if label else f"{HEADER};1.1;{CIPHER}"
    return "\n".join([header, *(body[i : i + 80] for i in range(0, len(body), 80))]) + "\n"
