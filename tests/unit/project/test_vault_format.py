"""Ansible Vault data made by the real `ansible-vault` (ansible-core in the dev venv),
read by this tool: files 1.1 and 1.2 (vault ids), inline `!vault` values, password files
and scripts, wrong passwords and changed data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.tools.ansible_cli import ANSIBLE_VAULT, run_ansible_vault

from provision.errors import InputError, Location
from provision.project import vault
from provision.project.yamlfile import load_yaml
from provision.reporting.mask import Masker, forget_vault_values, vault_values

needs_ansible = pytest.mark.skipif(ANSIBLE_VAULT is None, reason="ansible-core not installed")

HOSTILE = [
    "plain-secret",
    "with 'single' and \"double\" quotes",
    "a\nb\r\nc\rd\ve\ff\x85g\u2028h\u2029i",
    "-leading-dash",
    "../../etc/passwd",
    "ctrl\x01\x1b[31mred\x7f",
    "ünïcödé ✓ 秘密",
    "x" * 100_000,
    "not first: $ANSIBLE_VAULT;1.1;AES256",
    "{{ lookup('pipe', 'id') }}",
]


@pytest.fixture(autouse=True)
def fresh() -> None:
    vault.KEYRING.clear()
    forget_vault_values()
    yield
    vault.KEYRING.clear()
    forget_vault_values()


def password_file(tmp_path: Path, text: str, name: str = "pw") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ansible_vault(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    return run_ansible_vault(*args, stdin=stdin, cwd=cwd or "/")


def keyring(*secrets: tuple[str, bytes]) -> vault.Keyring:
    ring = vault.Keyring()
    for label, password in secrets:
        ring.add(vault.VaultSecret(label, password, f"test:{label}"))
    return ring


# ---------------------------------------------------------------- files made by ansible-vault


@needs_ansible
@pytest.mark.parametrize("label", [None, "dev", "prod.eu-1"])
def test_file_encrypted_by_ansible_vault_is_read(tmp_path: Path, label: str | None) -> None:
    pw = password_file(tmp_path, "correct horse\n")
    data = tmp_path / "secrets.yml"
    data.write_text("db_password: s3cr3t-value\nusers: [alice, bob]\nport: 5432\n")
    source = f"{label}@{pw}" if label else str(pw)
    ansible_vault("encrypt", "--vault-id", source, str(data))
    text = data.read_text()
    assert text.startswith("$ANSIBLE_VAULT;1.2;AES256;" + label if label else "$ANSIBLE_VAULT;1.1")
    vault.KEYRING.add(vault.load_secret(str(pw), label))
    loaded = load_yaml(data, "vars file")
    assert loaded == {"db_password": "s3cr3t-value", "users": ["alice", "bob"], "port": 5432}
    assert loaded.where("users").line == 2  # lines of the plaintext
    masker = Masker()
    assert masker("x s3cr3t-value y alice 5432") == "x ******** y ******** ********"


@needs_ansible
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_encrypt_string_values_round_trip(tmp_path: Path, value: str) -> None:
    pw = password_file(tmp_path, "pw-Ünï\n")
    out = ansible_vault(
        "encrypt_string", "--vault-password-file", str(pw), "--stdin-name", "v", stdin=value
    )
    (tmp_path / "vars.yml").write_text(out)
    vault.KEYRING.add(vault.load_secret(str(pw)))
    assert load_yaml(tmp_path / "vars.yml", "vars file") == {"v": value}
    assert value in vault_values()


@needs_ansible
def test_our_encryption_is_read_by_ansible_vault(tmp_path: Path) -> None:
    pw = password_file(tmp_path, "pw")
    for label in (None, "ops"):
        text = vault.encrypt(b"key: value\xc3\xa9\n", b"pw", label)
        (tmp_path / "f.yml").write_text(text)
        ansible_vault("decrypt", "--vault-password-file", str(pw), str(tmp_path / "f.yml"))
        assert (tmp_path / "f.yml").read_bytes() == b"key: value\xc3\xa9\n"


@needs_ansible
def test_vault_ids_pick_the_matching_password(tmp_path: Path) -> None:
    dev = password_file(tmp_path, "dev-pass", "dev")
    prod = password_file(tmp_path, "prod-pass", "prod")
    parts = []
    for label, pw in (("dev", dev), ("prod", prod)):
        parts.append(
            ansible_vault(
                "encrypt_string",
                "--vault-id",
                f"{label}@{pw}",
                "--encrypt-vault-id",
                label,
                f"{label}-secret",
                "--name",
                f"{label}_value",
            )
        )
    (tmp_path / "vars.yml").write_text("".join(parts))
    vault.configure(vault.VaultSettings(ids=[f"prod@{prod}", f"dev@{dev}"]))
    assert load_yaml(tmp_path / "vars.yml", "x") == {
        "dev_value": "dev-secret",
        "prod_value": "prod-secret",
    }
    # a label that fits no password's: every password is still tried, as Ansible does
    vault.KEYRING.clear()
    vault.configure(vault.VaultSettings(ids=[f"other@{dev}", f"x@{prod}"]))
    assert load_yaml(tmp_path / "vars.yml", "x")["prod_value"] == "prod-secret"


# ---------------------------------------------------------------- failures


@needs_ansible
def test_wrong_password_names_file_and_line(tmp_path: Path) -> None:
    pw = password_file(tmp_path, "right")
    out = ansible_vault(
        "encrypt_string", "--vault-password-file", str(pw), "top-secret-1", "--name", "token"
    )
    (tmp_path / "vars.yml").write_text("a: 1\nb: 2\n" + out)
    vault.KEYRING.add(vault.VaultSecret("default", b"wrong", "wrongfile"))
    with pytest.raises(InputError) as caught:
        load_yaml(tmp_path / "vars.yml", "vars file")
    assert caught.value.location == Location(str(tmp_path / "vars.yml"), 3)
    assert "cannot decrypt" in str(caught.value)
    assert "wrongfile" in str(caught.value)
    assert "wrong" not in caught.value.message and "top-secret" not in str(caught.value)


@needs_ansible
def test_no_password_given(tmp_path: Path) -> None:
    pw = password_file(tmp_path, "right")
    data = tmp_path / "v.yml"
    data.write_text("x: 1\n")
    ansible_vault("encrypt", "--vault-password-file", str(pw), str(data))
    with pytest.raises(InputError, match="no vault password was given") as caught:
        load_yaml(data, "vars file")
    assert caught.value.location == Location(str(data), 1)


def tamper(text: str, index: int) -> str:
    lines = text.splitlines()
    body = list(lines[1])
    body[index] = "0" if body[index] != "0" else "1"
    lines[1] = "".join(body)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["salt", "hmac", "ciphertext"])
def test_tampered_data_is_refused_before_decrypting(where: str) -> None:
    text = vault.encrypt(b"secret-payload", b"pw", salt=b"s" * 32)
    inner = bytes.fromhex("".join(text.splitlines()[1:])).split(b"\n")
    index = {"salt": 0, "hmac": 1, "ciphertext": 2}[where]
    part = bytearray(bytes.fromhex(inner[index].decode()))
    part[-1] ^= 1
    inner[index] = part.hex().encode()
    changed = text.splitlines()[0] + "\n" + b"\n".join(inner).hex() + "\n"
    with pytest.raises(InputError, match="cannot decrypt"):
        vault.decrypt(changed, Location("f", 1), keyring(("default", b"pw")))


BROKEN = {
    "not hex": "$ANSIBLE_VAULT;1.1;AES256\nzz\n",
    "odd hex": "$ANSIBLE_VAULT;1.1;AES256\nabc\n",
    "two parts": "$ANSIBLE_VAULT;1.1;AES256\n" + b"aa\nbb".hex() + "\n",
    "empty": "",
    "version 2.0": "$ANSIBLE_VAULT;2.0;AES256\n00\n",
    "cipher AES": "$ANSIBLE_VAULT;1.1;AES\n00\n",
    "short header": "$ANSIBLE_VAULT;1.1\n00\n",
    "other text": "hello\n",
    "huge hex": "$ANSIBLE_VAULT;1.1;AES256\n" + "00" * 50_000 + "\n",
    "control chars": "$ANSIBLE_VAULT;1.1;AES256\n\x00\x1b\u2028\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_envelopes_are_input_errors(text: str) -> None:
    with pytest.raises(InputError) as caught:
        vault.decrypt(text, Location("vars.yml", 7), keyring(("default", b"pw")))
    assert caught.value.location == Location("vars.yml", 7)


def test_inline_vault_must_be_a_scalar(tmp_path: Path) -> None:
    (tmp_path / "v.yml").write_text("x: !vault [a, b]\n")
    with pytest.raises(InputError, match="must be the text") as caught:
        load_yaml(tmp_path / "v.yml", "vars file")
    assert caught.value.location.line == 1


def test_own_round_trip_and_fixed_salt_is_repeatable() -> None:
    ring = keyring(("default", b"p"))
    for plain in [b"", b"a", b"x" * 15, b"x" * 16, b"x" * 17, "é\n\u2028".encode()]:
        text = vault.encrypt(plain, b"p")
        assert vault.decrypt_bytes(text, Location("f"), ring) == plain
    assert vault.encrypt(b"a", b"p", salt=b"1" * 32) == vault.encrypt(b"a", b"p", salt=b"1" * 32)
    assert vault.encrypt(b"a", b"p") != vault.encrypt(b"a", b"p")  # a fresh salt each time


# ---------------------------------------------------------------- where passwords come from


def test_password_file_is_stripped_like_ansible(tmp_path: Path) -> None:
    pw = password_file(tmp_path, "  pass word \n\n")
    assert vault.load_secret(str(pw)).password == b"pass word"


def test_executable_password_file_is_run(tmp_path: Path) -> None:
    script = tmp_path / "get-pass"
    script.write_text("#!/bin/sh\nprintf 'from-script\\n'\n")
    script.chmod(0o700)
    assert vault.load_secret(str(script)).password == b"from-script"


def test_client_script_gets_the_vault_id(tmp_path: Path) -> None:
    script = tmp_path / "pass-client.sh"
    script.write_text('#!/bin/sh\nprintf "%s:%s" "$1" "$2"\n')
    script.chmod(0o700)
    assert vault.load_secret(str(script), "prod").password == b"--vault-id:prod"


@pytest.mark.parametrize(
    "body, message",
    [
        ("#!/bin/sh\necho secret-out >&2\nexit 3\n", "exit code 3"),
        ("#!/bin/sh\nhead -c 70000 /dev/zero | tr '\\0' a\n", "more than"),
    ],
)
def test_failing_scripts(tmp_path: Path, body: str, message: str) -> None:
    script = tmp_path / "s"
    script.write_text(body)
    script.chmod(0o700)
    with pytest.raises(InputError, match=message) as caught:
        vault.load_secret(str(script))
    assert "secret-out" not in str(caught.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("\n \n", "empty"),
    ],
)
def test_empty_passwords_refused(tmp_path: Path, text: str, message: str) -> None:
    pw = password_file(tmp_path, text)
    with pytest.raises(InputError, match=message):
        vault.KEYRING.add(vault.load_secret(str(pw)))


@pytest.mark.parametrize(
    "text",
    ["@file", "label@", "bad label!@file", "../x@file", "a\nb@file", "-x@f" + "y" * 0],
)
def test_bad_vault_ids(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError):
        vault.load_secrets(vault.VaultSettings(ids=[text], base=tmp_path))


def test_missing_password_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        vault.load_secret(str(tmp_path / "nope"))


def test_prompt_without_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(InputError, match="needs a terminal"):
        vault.load_secret("prompt")


def test_ansible_cfg_settings_give_way_to_cli(tmp_path: Path) -> None:
    cfg = password_file(tmp_path, "from-cfg", "cfgpw")
    vault.configure(vault.VaultSettings(password_files=["cfgpw"], base=tmp_path))
    assert [s.password for s in vault.KEYRING.secrets] == [b"from-cfg"]
    vault.KEYRING.clear()
    vault.KEYRING.from_cli = True
    vault.configure(vault.VaultSettings(password_files=[str(cfg)]))
    assert vault.KEYRING.secrets == []
    assert "from-cfg" not in repr(vault.load_secret(str(cfg)))


PASSWORDS = [
    "p w",
    "pässwörd 秘密",
    "tab\there",
    "x" * 4096,
    "-leading-dash",
    "quote'\"`$(id)",
    "crlf-ended\r\n",
    "ctrl\x01\x1b",
]


@needs_ansible
@pytest.mark.parametrize("password", PASSWORDS, ids=range(len(PASSWORDS)))
def test_hostile_passwords_as_ansible_reads_them(tmp_path: Path, password: str) -> None:
    pw = tmp_path / "pw"
    pw.write_bytes(password.encode("utf-8"))
    out = ansible_vault("encrypt_string", "--vault-password-file", str(pw), "v1", "--name", "v")
    (tmp_path / "vars.yml").write_text(out)
    vault.KEYRING.add(vault.load_secret(str(pw)))
    assert load_yaml(tmp_path / "vars.yml", "vars file") == {"v": "v1"}
