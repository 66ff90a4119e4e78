"""The Ansible filters and lookups roles use most, inside the bounded sandbox.

Every filter here runs behind `templating._guarded_filter` (an input of at most
MAX_FILTER_INPUT_CHARS / _ITEMS, the render clock checked before the call) and bounds its
own output where it can grow past its input (`regex_replace`, `combine`). Regular
expressions pass the `regexsafe` check first. Lookups read files only inside the role or
the playbook's folder, and nothing on the controller is ever run (`pipe` and the like are
refused with a message that says what to write instead).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import posixpath
import re
import secrets
import string
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from provision.errors import InputError
from provision.project import regexsafe

# What `{{ omit }}` renders to: a task argument whose value is exactly this is dropped.
OMIT = "__omit_place_holder__" + secrets.token_hex(20)
ANSIBLE_MANAGED = "Ansible managed"
MAX_OUTPUT_CHARS = 16 * 1024 * 1024  # as templating.MAX_RENDER_CHARS
MAX_LOOKUP_BYTES = 1024 * 1024
MAX_HASH_ROUNDS = 1_000_000
HASH_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
SALT_CHARS = string.ascii_letters + string.digits + "./"


class FilterError(ValueError):
    """A filter refused its input (becomes an input error with the template's location)."""


class OutputTooLarge(OverflowError):
    pass


# ---------------------------------------------------------------- regular expressions


def _regex(pattern: Any, ignorecase: bool = False, multiline: bool = False) -> re.Pattern:
    if not isinstance(pattern, str):
        raise FilterError(f"a regular expression must be text, found {type(pattern).__name__}")
    flags = (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise FilterError(f"invalid regular expression {pattern!r}: {exc}") from None
    risk = regexsafe.backtracking_risk(pattern)
    if risk:
        raise FilterError(
            f"regular expression {pattern!r} is refused: {risk} (it could run for ever); "
            + regexsafe.SAFE_HINT
        )
    return compiled


def regex_replace(
    value: Any,
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
    mandatory_count: int = 0,
) -> str:
    compiled = _regex(pattern, ignorecase, multiline)
    text = str(value)
    size = len(text)

    def expand(match: re.Match) -> str:
        nonlocal size
        try:
            out = match.expand(str(replacement))
        except (re.error, IndexError) as exc:
            raise FilterError(f"regex_replace: bad replacement {replacement!r}: {exc}") from None
        size += len(out) - (match.end() - match.start())
        if size > MAX_OUTPUT_CHARS:
            raise OutputTooLarge(
                f"regex_replace would make more than {MAX_OUTPUT_CHARS} characters"
            )
        return out

    result, made = compiled.subn(expand, text, count=count)
    if mandatory_count and made != mandatory_count:
        raise FilterError(f"regex_replace: {made} replacements, {mandatory_count} required")
    return result


def regex_search(value: Any, pattern: str = "", *groups: Any, **flags: Any) -> Any:
    """The first match (None if none), or a list of the named or numbered `groups`
    (`'\\\\1'`, `'\\\\g<name>'`) of it, as Ansible returns them."""
    compiled = _regex(pattern, bool(flags.get("ignorecase")), bool(flags.get("multiline")))
    match = compiled.search(str(value))
    if match is None:
        return None
    if not groups:
        return match.group()
    found = []
    for item in groups:
        text = str(item)
        numbered = re.fullmatch(r"\\(\d+)", text)
        named = re.fullmatch(r"\\g<(\w+)>", text)
        try:
            if numbered:
                found.append(match.group(int(numbered.group(1))))
            elif named:
                found.append(match.group(named.group(1)))
            else:
                raise FilterError(f"regex_search: {text!r} is not '\\\\N' or '\\\\g<name>'")
        except (IndexError, re.error):
            raise FilterError(f"regex_search: the expression has no group {text}") from None
    return found


def regex_findall(
    value: Any, pattern: str = "", ignorecase: bool = False, multiline: bool = False
) -> list:
    return _regex(pattern, ignorecase, multiline).findall(str(value))


def regex_escape(value: Any, re_type: str = "python") -> str:
    """Ansible's `regex_escape`: Python `re` escaping, or POSIX basic (`posix_basic`)."""
    text = str(value)
    if re_type == "python":
        return re.escape(text)
    if re_type == "posix_basic":
        return re.sub(r"([].[^$*\\])", r"\\\1", text)
    raise FilterError(f"regex_escape: re_type {re_type!r} is not 'python' or 'posix_basic'")


# ---------------------------------------------------------------- encodings and formats


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(str(value).encode(encoding, "surrogateescape")).decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    try:
        raw = base64.b64decode(str(value).encode("ascii"), validate=False)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise FilterError(f"b64decode: not base64 text ({exc})") from None
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise FilterError(f"b64decode: the decoded bytes are not {encoding} text") from None


def plain(value: Any) -> Any:
    """A value as plain dicts, lists and strs (for JSON and YAML output)."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def to_json(
    value: Any,
    indent: int | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
    **_: Any,
) -> str:
    return json.dumps(plain(value), indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)


def to_nice_json(
    value: Any, indent: int = 4, sort_keys: bool = True, ensure_ascii: bool = True, **_: Any
) -> str:
    return json.dumps(
        plain(value),
        indent=indent,
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
        separators=(",", ": "),
    )


def from_json(value: Any) -> Any:
    try:
        return json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise FilterError(f"from_json: not JSON: {exc.msg} at line {exc.lineno}") from None


class _Dumper(yaml.SafeDumper):
    pass


def to_yaml(value: Any, indent: int = 2, default_flow_style: bool | None = None, **_: Any) -> str:
    return yaml.dump(
        plain(value),
        Dumper=_Dumper,
        allow_unicode=True,
        indent=indent,
        default_flow_style=default_flow_style,
        sort_keys=True,
    )


def to_nice_yaml(value: Any, indent: int = 4, **_: Any) -> str:
    return to_yaml(value, indent=indent, default_flow_style=False)


def from_yaml(value: Any) -> Any:
    from provision.project.yamlfile import parse_yaml

    try:
        return plain(parse_yaml(str(value), "from_yaml"))
    except InputError as exc:
        raise FilterError(f"from_yaml: {exc.message} ({exc.location})") from None


# ---------------------------------------------------------------- logic and data


def to_bool(value: Any) -> bool:
    """Ansible's `bool`: yes/on/1/true (any case) are true, no/off/0/false false; any
    other value is true only if it equals 1."""
    check: Any = value
    if isinstance(value, str):
        check = value.lower()
    elif isinstance(value, int):  # bool too
        check = str(value).lower()
    try:
        if check in ("1", "true", "yes", "on"):
            return True
        if check in ("0", "false", "no", "off"):
            return False
        return bool(check == 1)
    except TypeError:
        return False


def ternary(value: Any, true_value: Any, false_value: Any, none_value: Any = None) -> Any:
    if value is None and none_value is not None:
        return none_value
    return true_value if value else false_value


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined):
        name = getattr(value, "_undefined_name", None)
        raise FilterError(msg or f"mandatory variable {name!r} is not defined")
    return value


def _merge(base: dict, extra: Mapping, recursive: bool, list_merge: str, steps: list[int]) -> dict:
    result = dict(base)
    for key, value in extra.items():
        steps[0] += 1
        if steps[0] > 1_000_000:
            raise OutputTooLarge("combine: more than 1000000 keys merged")
        old = result.get(key)
        if recursive and isinstance(old, Mapping) and isinstance(value, Mapping):
            result[key] = _merge(dict(old), value, recursive, list_merge, steps)
        elif isinstance(old, list) and isinstance(value, list) and list_merge != "replace":
            if list_merge == "keep":
                continue
            if list_merge == "append":
                result[key] = old + value
            elif list_merge == "prepend":
                result[key] = value + old
            elif list_merge == "append_rp":
                result[key] = [x for x in old if x not in value] + value
            else:  # prepend_rp
                result[key] = value + [x for x in old if x not in value]
        else:
            result[key] = value
    return result


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict:
    if list_merge not in ("replace", "keep", "append", "prepend", "append_rp", "prepend_rp"):
        raise FilterError(f"combine: list_merge {list_merge!r} is not one Ansible knows")
    flat: list[Any] = []
    for term in terms:
        flat += term if isinstance(term, list | tuple) else [term]
    result: dict = {}
    steps = [0]
    for term in flat:
        if not isinstance(term, Mapping):
            raise FilterError(f"combine: expects mappings, found {type(term).__name__}")
        result = _merge(result, term, recursive, list_merge, steps)
    return result


def dict2items(value: Any, key_name: str = "key", value_name: str = "value") -> list[dict]:
    if not isinstance(value, Mapping):
        raise FilterError(f"dict2items: expects a mapping, found {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict:
    if not isinstance(value, list | tuple):
        raise FilterError(f"items2dict: expects a list, found {type(value).__name__}")
    result = {}
    for item in value:
        if not isinstance(item, Mapping) or key_name not in item or value_name not in item:
            raise FilterError(
                f"items2dict: each item must be a mapping with {key_name!r} and {value_name!r}"
            )
        result[item[key_name]] = item[value_name]
    return result


# ---------------------------------------------------------------- paths and hashes


def basename(value: Any) -> str:
    return posixpath.basename(str(value))


def dirname(value: Any) -> str:
    return posixpath.dirname(str(value))


def hash_filter(value: Any, algorithm: str = "sha1") -> str:
    if algorithm not in HASH_ALGORITHMS:
        raise FilterError(f"hash: {algorithm!r} is not one of {', '.join(HASH_ALGORITHMS)}")
    return hashlib.new(algorithm, str(value).encode("utf-8"), usedforsecurity=False).hexdigest()


@jinja2.pass_context  # never folded at compile time: a fresh salt on every call
def password_hash(
    context: Any,
    value: Any,
    hashtype: str = "sha512",
    salt: Any = None,
    salt_size: int | None = None,
    rounds: int | None = None,
    ident: str | None = None,
) -> str:
    """crypt(3) SHA-512 (or SHA-256) hashes exactly as Ansible makes them with passlib
    (here its maintained fork, libpass): passlib's default rounds unless told (Ansible's
    `$6$rounds=656000$...`), a 16-character salt from `secrets` unless given. With a
    salt the result is the same on every run (and cached: the default rounds take
    about a second)."""
    if str(hashtype) not in ("sha512", "sha512_crypt", "sha256", "sha256_crypt"):
        raise FilterError(f"password_hash: {hashtype!r} is not supported (sha512, sha256 are)")
    if rounds is not None and (
        not isinstance(rounds, int) or not 1000 <= rounds <= MAX_HASH_ROUNDS
    ):
        raise FilterError(f"password_hash: rounds must be a number from 1000 to {MAX_HASH_ROUNDS}")
    if salt is None:
        size = 16 if salt_size is None else salt_size
        if not isinstance(size, int) or not 1 <= size <= 16:
            raise FilterError("password_hash: salt_size must be from 1 to 16")
        salt = "".join(secrets.choice(SALT_CHARS) for _ in range(size))
    salt = str(salt)
    if not salt or len(salt) > 16 or any(c not in SALT_CHARS for c in salt):
        raise FilterError("password_hash: a salt is 1 to 16 of the characters a-z A-Z 0-9 . /")
    return _crypt(str(value), str(hashtype)[:6], salt, rounds)


@functools.lru_cache(maxsize=256)
def _crypt(password: str, scheme: str, salt: str, rounds: int | None) -> str:
    from passlib.hash import sha256_crypt, sha512_crypt

    handler = sha512_crypt if scheme == "sha512" else sha256_crypt
    options: dict[str, Any] = {"salt": salt}
    if rounds is not None:
        options["rounds"] = rounds
    return handler.using(**options).hash(password)


def shell_quote(value: Any) -> str:
    import shlex

    return shlex.quote(str(value))


FILTERS: dict[str, Callable[..., Any]] = {
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "regex_escape": regex_escape,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": from_json,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "bool": to_bool,
    "ternary": ternary,
    "mandatory": mandatory,
    "combine": combine,
    "dict2items": dict2items,
    "items2dict": items2dict,
    "basename": basename,
    "dirname": dirname,
    "hash": hash_filter,
    "password_hash": password_hash,
    "quote": shell_quote,
}


# ---------------------------------------------------------------- lookups


class LookupRefused(ValueError):
    pass


REFUSED_LOOKUPS = {
    "pipe": "it runs a command on the controller",
    "lines": "it runs a command on the controller",
    "url": "it fetches a URL from the controller",
    "password": "it writes files on the controller",
    "passwordstore": "it runs `pass` on the controller",
    "community.general.passwordstore": "it runs `pass` on the controller",
    "ansible.builtin.pipe": "it runs a command on the controller",
    "ansible.builtin.lines": "it runs a command on the controller",
    "ansible.builtin.url": "it fetches a URL from the controller",
    "ansible.builtin.password": "it writes files on the controller",
}
REFUSED_HINT = (
    "compute the value before the run and pass it with -e, or read it on the host with a "
    "registered read-only command"
)


class _Layered(Mapping):
    """A template context's own variables over its parent's (nothing resolved eagerly)."""

    def __init__(self, own: Mapping[str, Any], parent: Mapping[str, Any]) -> None:
        self._own = own
        self._parent = parent

    def __getitem__(self, key: str) -> Any:
        if key in self._own:
            return self._own[key]
        return self._parent[key]

    def __contains__(self, key: object) -> bool:
        return key in self._own or key in self._parent

    def __iter__(self) -> Iterator[str]:
        yield from self._own
        yield from (k for k in self._parent if k not in self._own)

    def __len__(self) -> int:
        return len(set(self._own) | set(self._parent))


def _context_value(context: Any, name: str) -> str | None:
    try:
        value = context.resolve_or_missing(name)
    except Exception:  # noqa: BLE001 - an unresolvable variable is just not there
        return None
    if value is jinja2.utils.missing or not isinstance(value, str) or not value:
        return None
    return value


class ProjectDir(str):
    """`playbook_dir` / `role_path` as compile sets them. A template, task `vars:`,
    `set_fact` or `loop_var` can redefine those names, but only with a plain string: the
    lookups search only folders of this type, so an override cannot move them out of the
    project (`{% set playbook_dir = '/' %}` read any file on the controller)."""

    __slots__ = ()


def search_folders(context: Any, subfolder: str) -> list[tuple[Path, Path]]:
    """(folder, root) pairs to look in, in order: the role's `subfolder` and the role,
    then the playbook folder's `subfolder` and the folder; each file must stay in root."""
    found: list[tuple[Path, Path]] = []
    for name in ("role_path", "playbook_dir"):
        base = _context_value(context, name)
        if base and not isinstance(base, ProjectDir):
            raise LookupRefused(
                f"lookup: `{name}` was redefined ({base!r}); lookups read files only from "
                "the role's and the playbook's own folders, so leave `role_path` and "
                "`playbook_dir` as provision sets them"
            )
        if base:
            root = Path(os.path.realpath(base))
            found += [(root / subfolder, root), (root, root)]
    return found


def find_file(context: Any, term: Any, subfolder: str, what: str) -> Path:
    from provision.project.paths import is_inside

    if not isinstance(term, str) or not term:
        raise LookupRefused(f"lookup('{what}'): a file name must be non-empty text")
    if "\x00" in term or re.search(r"[\x00-\x1f\x7f]", term):
        raise LookupRefused(f"lookup('{what}'): the file name {term!r} holds control characters")
    if term.startswith(("/", "~")):
        raise LookupRefused(
            f"lookup('{what}', {term!r}): give a path relative to the role's {subfolder}/ "
            "or the playbook's folder (absolute paths are refused: the project must hold it)"
        )
    folders = search_folders(context, subfolder)
    if not folders:
        raise LookupRefused(f"lookup('{what}'): no role or playbook folder to look in")
    for folder, root in folders:
        candidate = folder / term
        if not os.path.lexists(candidate):
            continue
        real = Path(os.path.realpath(candidate))
        if not is_inside(real, root):
            raise LookupRefused(
                f"lookup('{what}', {term!r}) leaves {root} (through `..` or a symlink)"
            )
        if real.is_file():
            return real
    places = ", ".join(str(folder) for folder, _ in folders)
    raise LookupRefused(f"lookup('{what}'): {term!r} not found in {places}")


def read_lookup_file(path: Path, what: str) -> str:
    from provision.project.yamlfile import read_bytes

    try:
        data = read_bytes(path, f"lookup('{what}') file", MAX_LOOKUP_BYTES)
    except InputError as exc:
        raise LookupRefused(exc.message) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LookupRefused(f"lookup('{what}'): {path} is not UTF-8 text") from None
    if text.startswith("$ANSIBLE_VAULT;"):
        from provision.errors import Location
        from provision.project import vault
        from provision.reporting.mask import add_vault_value

        text = vault.decrypt(text, Location(str(path), 1))
        add_vault_value(text)
    return text


def _lookup_env(context: Any, terms: list[Any], kwargs: dict) -> list[Any]:
    default = kwargs.get("default", "")
    return [os.environ.get(str(term), default) for term in terms]


def _lookup_file(context: Any, terms: list[Any], kwargs: dict) -> list[Any]:
    out = []
    for term in terms:
        text = read_lookup_file(find_file(context, term, "files", "file"), "file")
        if kwargs.get("rstrip", True):
            text = text.rstrip()
        if kwargs.get("lstrip", False):
            text = text.lstrip()
        out.append(text)
    return out


def _lookup_template(context: Any, terms: list[Any], kwargs: dict) -> list[Any]:
    from provision.project import templating

    variables = _Layered(context.vars, context.parent)
    extra = kwargs.get("template_vars")
    if isinstance(extra, Mapping):
        variables = _Layered(extra, variables)
    out = []
    for term in terms:
        path = find_file(context, term, "templates", "template")
        source = read_lookup_file(path, "template")
        out.append(templating.render_nested(source, variables))
    return out


LOOKUPS: dict[str, Callable[[Any, list[Any], dict], list[Any]]] = {
    "env": _lookup_env,
    "file": _lookup_file,
    "template": _lookup_template,
}


def _run_lookup(context: Any, name: Any, terms: tuple, kwargs: dict) -> list[Any]:
    key = str(name)
    short = key.removeprefix("ansible.builtin.")
    if key in REFUSED_LOOKUPS or short in REFUSED_LOOKUPS:
        why = REFUSED_LOOKUPS.get(key) or REFUSED_LOOKUPS[short]
        raise LookupRefused(f"lookup('{key}') is refused: {why}; {REFUSED_HINT}")
    handler = LOOKUPS.get(short)
    if handler is None:
        raise LookupRefused(
            f"lookup('{key}') is not supported; supported lookups: {', '.join(LOOKUPS)}"
        )
    flat: list[Any] = []
    for term in terms:
        flat += list(term) if isinstance(term, list | tuple) else [term]
    if len(flat) > 1000:
        raise LookupRefused(f"lookup('{key}'): more than 1000 terms")
    return handler(context, flat, kwargs)


@jinja2.pass_context
def lookup(context: Any, name: Any, *terms: Any, **kwargs: Any) -> Any:
    wantlist = bool(kwargs.pop("wantlist", False))
    kwargs.pop("errors", None)
    values = _run_lookup(context, name, terms, kwargs)
    if wantlist:
        return values
    if len(values) == 1:
        return values[0]
    return ",".join(str(v) for v in values)


@jinja2.pass_context
def query(context: Any, name: Any, *terms: Any, **kwargs: Any) -> list[Any]:
    kwargs.pop("wantlist", None)
    kwargs.pop("errors", None)
    return _run_lookup(context, name, terms, kwargs)


GLOBALS: dict[str, Any] = {
    "lookup": lookup,
    "query": query,
    "q": query,
    "omit": OMIT,
}


def drop_omitted(value: Any) -> Any:
    """A task's rendered arguments without those that rendered to `omit` (mappings and
    lists walked, as Ansible does)."""
    if isinstance(value, dict):
        return {k: drop_omitted(v) for k, v in value.items() if not _is_omit(v)}
    if isinstance(value, list):
        return [drop_omitted(v) for v in value if not _is_omit(v)]
    return value


def _is_omit(value: Any) -> bool:
    return isinstance(value, str) and value == OMIT


# the private registry's TLS and htpasswd filters (roles docker_registry*, docs/registry.md)
from provision.tls.filters import TLS_FILTERS  # noqa: E402

FILTERS.update(TLS_FILTERS)
