"""The cache of compiled template code across runs (project/codecache.py): a hit renders
exactly as a miss; a bad file is ignored and replaced; a directory others could write to
is not used; no secret reaches the disk; the cache is bounded."""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project import codecache, templating, vault
from provision.project.compile import compile_run
from provision.reporting.mask import forget_vault_values


def _clear_memory() -> None:
    templating._compiled_once.cache_clear()
    templating._compiled_shell_once.cache_clear()


def new_process() -> codecache.CodeCache | None:
    """What a new run sees: the previous run's cache saved, nothing in memory."""
    cache = codecache.active()
    if cache is not None:
        cache.save()
    codecache.reset()
    _clear_memory()
    return codecache.active()


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv(codecache.ENV_VAR, str(folder))
    codecache.reset()
    codecache._WATCHED.clear()
    forget_vault_values()
    _clear_memory()
    yield folder
    codecache.reset()
    codecache._WATCHED.clear()
    forget_vault_values()
    _clear_memory()


def the_file(folder: Path) -> Path:
    return folder / codecache.FILE_NAME


def entries(folder: Path) -> dict[bytes, bytes]:
    cache = codecache.CodeCache(folder, codecache.fingerprint())
    return cache._read(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))


# ------------------------------------------------------------------ a hit renders as a miss

VARIABLES = {
    "name": "web1",
    "items": ["a", "b", "c"],
    "mapping": {"k": "v", "n": 2},
    "number": 7,
    "text": "line one\nline two",
    "empty": "",
}

TEMPLATES = [
    "plain {{ name }}",
    "{{ name | upper }}-{{ items | join(',') }}",
    "{{ mapping | dictsort }}",
    "{% for i in items %}{{ loop.index }}={{ i }};{% endfor %}",
    "{% for k, v in mapping.items() %}{{ k }}:{{ v }}\n{% endfor %}",
    "{%- for i in items -%}\n  {{ i }}\n{%- endfor %}",
    "{% macro greet(who, punct='!') %}hi {{ who }}{{ punct }}{% endmacro %}{{ greet(name) }}",
    "{% set x %}inner {{ number * 2 }}{% endset %}[{{ x | trim }}]",
    "{% if number is odd %}odd{% elif number is even %}even{% else %}?{% endif %}",
    "{# a comment #}{{ text | indent(2) }}",
    "{% raw %}{{ not rendered }}{% endraw %} {{ name }}",
    "{{ 'a' ~ name ~ 'b' }} {{ 3 ** 2 }} {{ 'x' * 3 }}",
    "{{ items | map('upper') | list }} {{ items | select('ne', 'b') | list }}",
    "{{ mapping | to_json }} {{ mapping | to_nice_yaml }}",
    "{{ text | regex_replace('line', 'L') }} {{ name | b64encode }}",
    "{{ empty | default('dflt', true) }} {{ missing | default('none') }}",
    "{{ 'abc' | upper }} {{ [3, 1, 2] | sort }} {{ 'folded' | replace('f', 'F') }}",
    "{{ 'pw' | password_hash('sha512', 'fixedsalt') }}",
    "{{ name }}\r\nwindows\rmac\vvt\fff\x85nel\u2028ls\u2029ps {{ number }}",
    "unicode é 中文 🙂 {{ name }}",
    "trailing newline {{ name }}\n",
    "- leading dash {{ name }}",
    "quotes ' \" {{ name }} \\ backslash",
    "{{ range(3) | list }} {{ lipsum(1) | length > 0 }}",
]


def _render_all() -> list[str]:
    variables = templating.Variables(VARIABLES)
    out = []
    for source in TEMPLATES:
        out.append(repr(templating.render_string(source, variables)))
        out.append(templating.render_template_file(source, variables, "t.j2"))
    return out


def test_a_hit_renders_exactly_as_a_miss(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(codecache.ENV_VAR, "")
    codecache.reset()
    without = _render_all()
    monkeypatch.setenv(codecache.ENV_VAR, str(cache_dir))
    codecache.reset()
    _clear_memory()
    first = _render_all()
    cache = new_process()
    assert cache is not None
    second = _render_all()
    assert cache.hits >= len(TEMPLATES) and cache.misses == 0, (cache.hits, cache.misses)
    assert without == first == second


FORMAT_CASES = [
    ("ini", "[s]\nkey = {{ name }}\nother = {{ number }}\n"),
    ("json", '{"a": "{{ name }}", "b": {{ number }}, "c": {{ items | tojson }}}\n'),
    ("raw", "{{ text }}\n"),
]


@pytest.mark.parametrize(("fmt", "source"), FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES])
def test_each_file_format_renders_the_same_from_the_cache(
    cache_dir: Path, fmt: str, source: str
) -> None:
    variables = templating.Variables(VARIABLES)
    first = templating.render_template_file(source, variables, "f", fmt=fmt)
    cache = new_process()
    second = templating.render_template_file(source, variables, "f", fmt=fmt)
    assert cache is not None and cache.hits == 1
    assert first == second


SHELL_CASES = [
    "echo {{ name }} {{ items | join(' ') }}",
    "test -f /etc/{{ name }}.conf || touch /etc/{{ name }}.conf",
    "printf '%s\\n' {{ text }}",
]


@pytest.mark.parametrize("source", SHELL_CASES)
def test_shell_strings_render_the_same_from_the_cache(cache_dir: Path, source: str) -> None:
    variables = templating.Variables(VARIABLES)
    first = templating.render_string(source, variables, None, "cmd", shell=True)
    cache = new_process()
    second = templating.render_string(source, variables, None, "cmd", shell=True)
    assert cache is not None and cache.hits == 1
    assert first == second


def test_a_misplaced_value_in_a_cached_shell_string_names_its_expression(
    cache_dir: Path,
) -> None:
    variables = templating.Variables(VARIABLES)
    source = 'echo ok {{ name }}\necho "x{{ number }}"'
    messages = []
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            templating.render_string(source, variables, None, "cmd", shell=True)
        messages.append(str(caught.value))
        new_process()
    assert messages[0] == messages[1]
    assert "`{{ number }}` (line 2 of the command)" in messages[0]


ERROR_CASES = [
    ("line one\n{{ name }}\n{{ nope }}\n", 3, "undefined variable: nope"),
    ("{% for i in items %}\n{{ i.missing.deeper }}\n{% endfor %}\n", 2, "undefined"),
    ("a\nb\n{{ 1 / 0 }}\n", 3, "division"),
    ("{% macro m() %}\n{{ gone }}\n{% endmacro %}\n{{ m() }}\n", 2, "gone"),
]


@pytest.mark.parametrize(("source", "line", "words"), ERROR_CASES)
def test_errors_from_cached_code_keep_their_file_and_line(
    cache_dir: Path, source: str, line: int, words: str
) -> None:
    variables = templating.Variables(VARIABLES)
    seen = []
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            templating.render_template_file(source, variables, "roles/r/templates/t.j2")
        error = caught.value
        assert error.location is not None
        seen.append((error.location.file, error.location.line, error.message))
        new_process()
    assert seen[0] == seen[1]
    assert seen[0][1] == line
    assert words in seen[0][2]


def test_a_syntax_error_is_never_cached(cache_dir: Path) -> None:
    for _ in range(2):
        with pytest.raises(InputError, match="syntax"):
            templating.render_string("{{ oops", templating.Variables({}))
        new_process()
    assert not the_file(cache_dir).exists()


# ------------------------------------------------------------------ bad files


def _valid_file(cache_dir: Path) -> bytes:
    templating.render_string("{{ name }} valid", templating.Variables(VARIABLES))
    new_process()
    return the_file(cache_dir).read_bytes()


def _with_body(body: bytes, fingerprint: bytes | None = None) -> bytes:
    fingerprint = fingerprint or hashlib.sha256(codecache.fingerprint()).digest()
    return codecache.MAGIC + fingerprint + hashlib.sha256(body).digest() + body


BAD_FILES = {
    "empty": lambda good: b"",
    "garbage": lambda good: b"\x00\xff" * 100,
    "truncated": lambda good: good[: len(good) // 2],
    "header only": lambda good: good[: len(codecache.MAGIC) + 64],
    "flipped byte": lambda good: good[:-10] + bytes([good[-10] ^ 1]) + good[-9:],
    "wrong magic": lambda good: b"XXXXXXXX" + good[8:],
    "foreign version": lambda good: _with_body(good[72:], hashlib.sha256(b"other").digest()),
    "not a dict": lambda good: _with_body(marshal.dumps([1, 2, 3])),
    "values not bytes": lambda good: _with_body(marshal.dumps({b"k": 1})),
    "entry not code": lambda good: _with_body(
        marshal.dumps({k: marshal.dumps(("x", None)) for k in marshal.loads(good[72:])})
    ),
    "entry not marshal": lambda good: _with_body(
        marshal.dumps({k: b"\xff\xfe" for k in marshal.loads(good[72:])})
    ),
    "oversized": lambda good: good + b"\0" * (codecache.MAX_BYTES + 1),
}


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_ignored_and_replaced(cache_dir: Path, make: object) -> None:
    good = _valid_file(cache_dir)
    the_file(cache_dir).write_bytes(make(good))  # type: ignore[operator]
    os.chmod(the_file(cache_dir), 0o600)
    variables = templating.Variables(VARIABLES)
    assert templating.render_string("{{ name }} valid", variables) == "web1 valid"
    cache = new_process()
    assert the_file(cache_dir).read_bytes() == good  # replaced by a good one
    assert templating.render_string("{{ name }} valid", variables) == "web1 valid"
    assert cache is not None and cache.hits == 1


def test_a_symlink_in_place_of_the_file_is_not_read(cache_dir: Path, tmp_path: Path) -> None:
    good = _valid_file(cache_dir)
    elsewhere = tmp_path / "planted"
    elsewhere.write_bytes(good)
    the_file(cache_dir).unlink()
    the_file(cache_dir).symlink_to(elsewhere)
    cache = codecache.active()
    assert cache is not None
    templating.render_string("{{ name }} valid", templating.Variables(VARIABLES))
    assert cache.hits == 0
    new_process()
    assert not the_file(cache_dir).is_symlink()  # replaced by a real file
    assert elsewhere.read_bytes() == good


def test_the_file_and_its_directory_are_private(cache_dir: Path) -> None:
    _valid_file(cache_dir)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(the_file(cache_dir).stat().st_mode) == 0o600
    assert [p.name for p in cache_dir.iterdir()] == [codecache.FILE_NAME]  # no temp left


def test_nothing_new_writes_nothing(cache_dir: Path) -> None:
    _valid_file(cache_dir)
    before = the_file(cache_dir).stat().st_mtime_ns
    os.utime(the_file(cache_dir), ns=(1, 1))
    templating.render_string("{{ name }} valid", templating.Variables(VARIABLES))
    new_process()
    assert the_file(cache_dir).stat().st_mtime_ns == 1 != before


# ------------------------------------------------------------------ where it may live


def _used(cache_dir: Path) -> bool:
    templating.render_string("{{ name }} placed", templating.Variables(VARIABLES))
    cache = codecache.active()
    written = cache.save() if cache is not None else False
    return written and the_file(cache_dir).exists()


def test_a_group_writable_directory_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    os.chmod(cache_dir, 0o770)
    assert not _used(cache_dir)
    assert list(cache_dir.iterdir()) == []


def test_an_other_writable_directory_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    os.chmod(cache_dir, 0o707)
    assert not _used(cache_dir)


def test_a_planted_file_in_a_group_writable_directory_is_not_read(cache_dir: Path) -> None:
    good = _valid_file(cache_dir)
    assert good
    os.chmod(cache_dir, 0o775)
    codecache.reset()
    _clear_memory()
    cache = codecache.active()
    templating.render_string("{{ name }} valid", templating.Variables(VARIABLES))
    assert cache is not None and cache.hits == 0


def test_a_symlinked_directory_is_not_used(cache_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    cache_dir.symlink_to(real)
    assert not _used(cache_dir)
    assert list(real.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_directory_owned_by_another_user_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, 4242, 4242)
    assert not _used(cache_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_file_owned_by_another_user_is_not_read(cache_dir: Path) -> None:
    _valid_file(cache_dir)
    os.chown(the_file(cache_dir), 4242, 4242)
    codecache.reset()
    _clear_memory()
    cache = codecache.active()
    templating.render_string("{{ name }} valid", templating.Variables(VARIABLES))
    assert cache is not None and cache.hits == 0


def test_a_directory_that_cannot_be_made_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv(codecache.ENV_VAR, str(blocker / "cache"))
    codecache.reset()
    assert templating.render_string("{{ name }} x", templating.Variables(VARIABLES)) == "web1 x"
    cache = codecache.active()
    assert cache is not None and not cache.save()


PLACES = [
    ({"PROVISION_CACHE_DIR": ""}, None),
    ({"PROVISION_CACHE_DIR": "relative/dir"}, None),
    ({"PROVISION_CACHE_DIR": "/abs/dir"}, "/abs/dir"),
    ({"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/provision"),
    ({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.cache/provision"),
    ({"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.cache/provision"),
    ({"HOME": ""}, "pwd"),
]


@pytest.mark.parametrize(("env", "expected"), PLACES)
def test_where_the_cache_lives(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None
) -> None:
    for name in ("PROVISION_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = codecache.default_directory()
    if expected == "pwd":  # HOME empty: expanduser falls back to the password database
        assert found is None or found.name == "provision"
    else:
        assert found == (Path(expected) if expected else None)


def test_the_suite_never_uses_the_real_home() -> None:
    assert os.environ.get(codecache.ENV_VAR) == ""  # tests/conftest.py


# ------------------------------------------------------------------ the bound


def test_past_the_bound_the_file_starts_afresh(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codecache, "MAX_ENTRIES", 5)
    variables = templating.Variables(VARIABLES)
    for number in range(4):
        templating.render_string(f"{{{{ name }}}} first {number}", variables)
    new_process()
    assert len(entries(cache_dir)) == 4
    for number in range(3):
        templating.render_string(f"{{{{ name }}}} second {number}", variables)
    new_process()
    assert len(entries(cache_dir)) == 3  # 7 > 5: only this run's entries
    for number in range(8):
        templating.render_string(f"{{{{ name }}}} third {number}", variables)
    new_process()
    assert len(entries(cache_dir)) == 5  # one run alone past the bound: its first 5


def test_past_the_byte_bound_the_file_starts_afresh(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = templating.Variables(VARIABLES)
    templating.render_string("{{ name }} one", variables)
    new_process()
    size = the_file(cache_dir).stat().st_size
    monkeypatch.setattr(codecache, "MAX_BYTES", int(size * 1.5))
    templating.render_string("{{ name }} two", variables)
    new_process()
    assert len(entries(cache_dir)) == 1


# ------------------------------------------------------------------ secrets never on disk

PASSWORD = b"pw"


@pytest.fixture
def keyring() -> Iterator[None]:
    vault.KEYRING.clear()
    vault.KEYRING.add(vault.VaultSecret("default", PASSWORD, "test"))
    yield
    vault.KEYRING.clear()


def _vaulted_value(plain: str) -> str:
    encrypted = vault.encrypt(plain.encode(), PASSWORD)
    return "!vault |\n" + "".join(f"        {line}\n" for line in encrypted.splitlines())


def _project(root: Path, play: str, tasks: str, host_vars: str = "", files: dict | None = None):
    (root / "roles/r/tasks").mkdir(parents=True)
    (root / "roles/r/templates").mkdir(parents=True)
    (root / "roles/r/tasks/main.yml").write_text(
        tasks + '- copy: {dest: /tmp/marker, content: "{{ suffix }}-NotSecretMarker"}\n'
    )
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    (root / "inventory.yml").write_text(
        "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      suffix: sfx\n" + host_vars
    )
    (root / "site.yml").write_text(play)
    compile_run(root / "inventory.yml", root / "site.yml")


def _on_disk(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


PLAY = "- hosts: h1\n  roles: [r]\n"

SECRET_CASES = {
    "vault var whose plaintext is a template": dict(
        secret="VaultTplSecret-31",
        host_vars="      db_url: "
        + _vaulted_value("postgres://u:VaultTplSecret-31@{{ suffix }}")
        + "",
        tasks='- copy: {dest: /tmp/a, content: "{{ db_url }}"}\n',
    ),
    "vault var as a substring of another source": dict(
        secret="VaultSubstr-Secret-42",
        host_vars="      token: " + _vaulted_value("VaultSubstr-Secret-42"),
        tasks='- copy: {dest: /tmp/a, content: "{{ suffix }} VaultSubstr-Secret-42 {{ token }}"}\n',
    ),
    "vault-encrypted template file (lookup)": dict(
        secret="VaultFileSecret-53",
        files={"roles/r/templates/secret.j2": "file {{ suffix }} VaultFileSecret-53\n"},
        encrypt=["roles/r/templates/secret.j2"],
        tasks="- copy: {dest: /tmp/a, content: \"{{ lookup('template', 'secret.j2') }}\"}\n",
    ),
    "secrets: variable whose value is a template": dict(
        secret="DeclaredSecret-64",
        play="- hosts: h1\n  secrets: [api_token]\n  roles: [r]\n",
        host_vars='      api_token: "DeclaredSecret-64-{{ suffix }}"\n',
        tasks='- copy: {dest: /tmp/a, content: "{{ api_token }}"}\n',
    ),
    "secret: true task": dict(
        secret="TaskSecret-75",
        tasks='- copy: {dest: /tmp/a, content: "pw={{ suffix }}TaskSecret-75"}\n  secret: true\n',
    ),
    "no_log task": dict(
        secret="NoLogSecret-86",
        tasks='- copy: {dest: /tmp/a, content: "pw={{ suffix }}NoLogSecret-86"}\n  no_log: true\n',
    ),
    "secret task in a block": dict(
        secret="BlockSecret-97",
        tasks='- block:\n    - copy: {dest: /tmp/a, content: "{{ suffix }}BlockSecret-97"}\n'
        "  no_log: true\n",
    ),
    "source holding a declared secret as a substring": dict(
        secret="Substring-Secret-108",
        play="- hosts: h1\n  secrets: [db_pw]\n  roles: [r]\n",
        host_vars="      db_pw: Substring-Secret-108\n",
        tasks='- copy: {dest: /tmp/a, content: "curl -u u:Substring-Secret-108 {{ suffix }}"}\n',
    ),
    "connection password as a template": dict(
        secret="ConnPw-119",
        host_vars='      ansible_become_password: "ConnPw-119{{ suffix }}"\n',
        tasks="",
    ),
}


# a secret of many lines: one of its lines, quoted in a task not marked secret, is
# masked as the whole is (reporting/mask.py splits at every kind of line break)
for _number, _break in enumerate(["\n", "\r\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]):
    _line = f"KeyLine-Secret-{300 + _number}"
    SECRET_CASES[f"one line of a many-line vault secret, lines split by {_break!r}"] = dict(
        secret=_line,
        host_vars="      tls_key: "
        + _vaulted_value(_break.join(["-----BEGIN KEY-----", "FirstLine-xyz", _line, "END"]))
        + "",
        tasks='- copy: {dest: /tmp/k, content: "{{ tls_key }}"}\n'
        f"- shell: \"grep -q '{_line}' /etc/{{{{ suffix }}}}\"\n",
    )


def _run_case(root: Path, case: dict) -> None:
    files = dict(case.get("files", {}))
    for name in case.get("encrypt", []):
        files[name] = vault.encrypt(files[name].encode(), PASSWORD)
    _project(root, case.get("play", PLAY), case["tasks"], case.get("host_vars", ""), files)


@pytest.mark.parametrize("case", SECRET_CASES.values(), ids=SECRET_CASES.keys())
def test_no_secret_reaches_the_disk(
    cache_dir: Path, tmp_path: Path, keyring: None, case: dict
) -> None:
    _run_case(tmp_path / "project", case)
    new_process()
    data = _on_disk(cache_dir)
    assert b"NotSecretMarker" in data  # the file was written, with the other templates
    assert case["secret"].encode() not in data
    # a second run, with the entries of the first, writes no secret either
    _run_case(tmp_path / "project2", case)
    new_process()
    assert case["secret"].encode() not in _on_disk(cache_dir)


def test_another_hosts_password_read_through_hostvars_is_not_written(
    cache_dir: Path, tmp_path: Path
) -> None:
    """h2 is not in the play: its password's template is met only through hostvars."""
    (tmp_path / "roles/r/tasks").mkdir(parents=True)
    (tmp_path / "roles/r/tasks/main.yml").write_text(
        "- copy: {dest: /tmp/a, content: \"{{ hostvars['h2'].ansible_password }}\"}\n"
        '- copy: {dest: /tmp/marker, content: "{{ suffix }}-NotSecretMarker"}\n'
    )
    (tmp_path / "inventory.yml").write_text(
        "all:\n  vars: {ansible_connection: local, suffix: sfx}\n  hosts:\n    h1:\n"
        '    h2: {ansible_password: "HostvarsPw-196{{ suffix }}"}\n'
    )
    (tmp_path / "site.yml").write_text("- hosts: h1\n  roles: [r]\n")
    compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    new_process()
    assert b"NotSecretMarker" in _on_disk(cache_dir)
    assert b"HostvarsPw-196" not in _on_disk(cache_dir)


def test_the_secret_check_can_fail(cache_dir: Path, tmp_path: Path) -> None:
    """The same task as a secret one, not marked secret: its text is on disk (so the
    tests above would see a secret written)."""
    _project(tmp_path, PLAY, '- copy: {dest: /tmp/a, content: "pw={{ suffix }}Plain-130"}\n')
    new_process()
    assert b"Plain-130" in _on_disk(cache_dir)


def test_a_value_declared_secret_later_drops_the_entries_holding_it(
    cache_dir: Path, tmp_path: Path
) -> None:
    tasks = '- copy: {dest: /tmp/a, content: "curl -u u:Declared-Later-185 {{ suffix }}"}\n'
    host_vars = "      db_pw: Declared-Later-185\n"
    _project(tmp_path / "a", PLAY, tasks, host_vars)
    new_process()
    assert b"Declared-Later-185" in _on_disk(cache_dir)
    play = "- hosts: h1\n  secrets: [db_pw]\n  roles: [r]\n"
    _project(tmp_path / "b", play, tasks, host_vars)
    new_process()
    assert b"Declared-Later-185" not in _on_disk(cache_dir)
    assert b"NotSecretMarker" in _on_disk(cache_dir)


def test_a_task_turned_secret_drops_its_entry(cache_dir: Path, tmp_path: Path) -> None:
    _project(tmp_path / "a", PLAY, '- copy: {dest: /tmp/a, content: "pw={{ suffix }}Later-141"}\n')
    new_process()
    assert b"Later-141" in _on_disk(cache_dir)
    _project(
        tmp_path / "b",
        PLAY,
        '- copy: {dest: /tmp/a, content: "pw={{ suffix }}Later-141"}\n  secret: true\n',
    )
    new_process()
    assert b"Later-141" not in _on_disk(cache_dir)
    assert b"NotSecretMarker" in _on_disk(cache_dir)


FOLDED_CASES = [
    "{{ ('FoldMe-152' | b64encode) ~ 'FoldMe-152' }}",
    "{{ ('FoldMe-152' | to_json) ~ '!' }}",
    "{{ ('FoldMe-152' is match('Fold')) ~ 'FoldMe-152' }}",
    "{{ ('2.0' is version('1.0', '>')) ~ 'FoldMe-152' }}",
]


@pytest.mark.parametrize("source", FOLDED_CASES)
def test_code_with_a_folded_provision_filter_or_test_is_not_cached(
    cache_dir: Path, source: str
) -> None:
    variables = templating.Variables(VARIABLES)
    templating.render_string(source, variables)
    templating.render_string("{{ 'JinjaFold-163' | upper }}!", variables)
    new_process()
    data = _on_disk(cache_dir)
    assert b"JINJAFOLD-163" in data  # Jinja's own filters fold into cached code
    assert b"FoldMe-152" not in data


def test_a_context_filter_is_not_folded_and_is_cached(cache_dir: Path) -> None:
    variables = templating.Variables(VARIABLES)
    first = templating.render_string("{{ 'pw-174' | password_hash('sha512', 'salt') }}!", variables)
    cache = new_process()
    again = templating.render_string("{{ 'pw-174' | password_hash('sha512', 'salt') }}!", variables)
    assert cache is not None and cache.hits == 1 and first == again
    assert first.encode()[:-1] not in _on_disk(cache_dir)  # code, not the value


def test_a_template_larger_than_the_bound_is_never_written_and_still_renders(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codecache, "MAX_BYTES", 4096)
    variables = templating.Variables(VARIABLES)
    source = "{{ name }}" + "-x" * 20_000
    first = templating.render_string(source, variables)
    new_process()
    assert entries(cache_dir) == {}
    assert templating.render_string(source, variables) == first == "web1" + "-x" * 20_000
