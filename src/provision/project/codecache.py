"""A cache, across runs, of the Python code Jinja compiles from template text.

Each CLI run is a new process: without this cache every distinct template string of a
play is compiled again on every run (about half of a warm run's compile phase at one
host). The cache holds the code object Jinja generates for a source text (`marshal`),
never a rendered value: rendering from a cached code object is rendering from a freshly
compiled one (`templating._load_or_compile`).

Where: one file, `jinja-code.bin`, in `$PROVISION_CACHE_DIR`, else
`$XDG_CACHE_HOME/provision`, else `~/.cache/provision`. `PROVISION_CACHE_DIR=` (empty)
turns the cache off, and so does any problem with the place (no HOME, not writable): the
run then compiles as it always did, silently. The file is read once, at the first
template compiled, and written once, when the process exits, only if entries were added
or dropped.

Loading marshalled code is running code, so the cache is used only from a directory
that nobody else can write to: it is created 0700, opened with O_NOFOLLOW (a symlink is
refused), and must be a directory owned by this process's user with no group or other
write bit. Otherwise the cache is off. The file is opened through the directory's file
descriptor without following symlinks, must be a regular file owned by the same user,
is written to a temporary file (0600) in the same directory and renamed over the old
one. A file that is too large, truncated, corrupt (its SHA-256 is checked before
`marshal` reads it), or made by another provision, Jinja or Python version is treated
as empty and replaced at the end of the run. It holds at most MAX_ENTRIES entries and
MAX_BYTES bytes: when a run would go past either, the file starts afresh with that
run's entries.

The key of an entry is a hash of: this schema number, provision's version, the bytes
of templating.py (the sandbox's rewriting of loops and shell strings is there), Jinja's
version, Python's bytecode magic number, the environment (its name, class, delimiters,
options, finalize, extensions, and the calling convention of every filter and test),
and the source text.

Secrets never reach the disk. The rule, enforced here and by the callers:

1. Nothing compiled or looked up inside a `secret_scope()` is written, and an entry
   already in the file for such a source is dropped from it (so is an entry read in
   this run whose source holds a secret known now, see 2). Compile opens the scope
   for a `secret: true` or `no_log` task (everything of it: arguments, loop, name, at
   compile and at plan time) and for the variables a play or role declares under
   `secrets:` and the connection passwords (their source, and the sources of the
   variables they read on the way); templating.Variables opens it whenever it renders
   a connection password variable, or through `hostvars` a variable any play declares
   secret (another host's, even one outside the run).
2. A source in which the project's Masker (reporting/mask.py) finds anything to mask,
   with every secret known to the process when the file is written, is not written:
   every value decrypted from an ansible-vault (a vault variable whose plaintext is a
   template, a vault-encrypted vars or template file read by a lookup), another host's
   password read through `hostvars`, and the secret values compile collected
   (`watch_secrets`). So a source that contains a known secret as a substring (or in
   the other forms the Masker knows) is never written.
3. Jinja folds constant expressions at compile time. A template in which a filter or
   test that is not one of Jinja's own (a provision filter: password_hash, the TLS
   filters...) was folded is not written: its code would hold a computed value, not
   only text of the source.

Not covered: a secret shorter than the Masker's MIN_SECRET_LENGTH characters, and a
secret the project does not know is one (a literal password in a task not marked
`secret: true`; that text is in the project's files already).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SCHEMA = 1
FILE_NAME = "jinja-code.bin"
MAGIC = b"PVJCODE1"
MAX_ENTRIES = 2_000
MAX_BYTES = 8 * 1024 * 1024
ENV_VAR = "PROVISION_CACHE_DIR"
_HEADER = len(MAGIC) + 32 + 32  # magic, fingerprint, SHA-256 of the body

_SECRET_SCOPE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "provision_secret_scope", default=False
)


@contextlib.contextmanager
def secret_scope(active: bool = True) -> Iterator[None]:
    """While open (and `active`), templates compiled or looked up are never written."""
    if not active:
        yield
        return
    token = _SECRET_SCOPE.set(True)
    try:
        yield
    finally:
        _SECRET_SCOPE.reset(token)


def secret_method(flag: Callable[[Any], bool]) -> Callable[[Callable], Callable]:
    """A method run inside `secret_scope(flag(self))`."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with secret_scope(bool(flag(self))):
                return method(self, *args, **kwargs)

        return wrapper

    return decorate


def in_secret_scope() -> bool:
    return _SECRET_SCOPE.get()


_WATCHED: list[Any] = []


def watch_secrets(values: list[Any]) -> None:
    """A list of secret values (kept by reference: values added to it later count too),
    none of which may appear in a source written to the cache. Nothing when the cache is
    off."""
    if active() is not None:
        _WATCHED.append(values)


def default_directory() -> Path | None:
    """The cache's directory from the environment, or None (the cache is off)."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        return Path(value) if value and os.path.isabs(value) else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "provision"
    home = os.path.expanduser("~")
    if not home or home == "~" or not os.path.isabs(home):
        return None
    return Path(home) / ".cache" / "provision"


def open_private_directory(path: Path) -> int | None:
    """A file descriptor of `path` (created 0700 if missing), or None when it is not a
    real directory (a symlink is refused) owned by this user and writable only by it."""
    try:
        if not path.parent.is_dir():
            os.makedirs(path.parent, mode=0o700, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        os.close(fd)
        return None
    return fd


class CodeCache:
    """The entries of one cache file: read at the first lookup, written by `save`."""

    def __init__(self, directory: Path, fingerprint: bytes) -> None:
        self.directory = directory
        self.fingerprint = hashlib.sha256(fingerprint).digest()
        self._lock = threading.RLock()
        self._loaded = False
        self._usable = True
        self._entries: dict[bytes, bytes] = {}
        self._new: dict[bytes, tuple[bytes, str]] = {}
        self._tainted: set[bytes] = set()
        self._used: dict[bytes, str] = {}  # the entries read this run, with their source
        self._changed = False
        self.hits = 0
        self.misses = 0

    def key(self, env_id: str, source: str) -> bytes:
        digest = hashlib.blake2b(self.fingerprint, digest_size=20)
        digest.update(env_id.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(source.encode("utf-8", "surrogatepass"))
        return digest.digest()

    # ------------------------------------------------------------------ lookups

    def get(self, env_id: str, source: str) -> tuple[types.CodeType, Any] | None:
        """The cached (code, extra) of `source`, or None."""
        key = self.key(env_id, source)
        with self._lock:
            if in_secret_scope():
                self._tainted.add(key)
                return None
            self._load()
            data = self._entries.get(key)
            if data is None:
                self.misses += 1
                return None
            try:
                code, extra = marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                code = None
            if not isinstance(code, types.CodeType):
                del self._entries[key]
                self._changed = True  # the file is written again without it
                self.misses += 1
                return None
            self.hits += 1
            self._used[key] = source
            return code, extra

    def put(self, env_id: str, source: str, code: types.CodeType, extra: Any = None) -> None:
        key = self.key(env_id, source)
        with self._lock:
            if in_secret_scope():
                self._tainted.add(key)
                return
            if key in self._entries:
                return
            try:
                self._new[key] = (marshal.dumps((code, extra)), source)
            except ValueError:
                return

    def taint(self, env_id: str, source: str) -> None:
        """`source` was met in a secret scope: never written, dropped from the file."""
        with self._lock:
            self._tainted.add(self.key(env_id, source))

    # ------------------------------------------------------------------ the file

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        fd = open_private_directory(self.directory)
        if fd is None:
            self._usable = False
            return
        try:
            self._entries = self._read(fd)
        finally:
            os.close(fd)

    def _read(self, dir_fd: int) -> dict[bytes, bytes]:
        try:
            fd = os.open(FILE_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return {}
        try:
            info = os.fstat(fd)
            if (
                not stat.S_ISREG(info.st_mode)
                or info.st_uid != os.geteuid()
                or info.st_size > MAX_BYTES + _HEADER
            ):
                return {}
            chunks = []
            size = 0
            while size <= MAX_BYTES + _HEADER:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
        except OSError:
            return {}
        finally:
            os.close(fd)
        return self._parse(data)

    def _parse(self, data: bytes) -> dict[bytes, bytes]:
        if len(data) < _HEADER or len(data) > MAX_BYTES + _HEADER:
            return {}
        if not data.startswith(MAGIC):
            return {}
        fingerprint = data[len(MAGIC) : len(MAGIC) + 32]
        checksum = data[len(MAGIC) + 32 : _HEADER]
        body = data[_HEADER:]
        if fingerprint != self.fingerprint or hashlib.sha256(body).digest() != checksum:
            return {}
        try:
            entries = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return {}
        if not isinstance(entries, dict) or len(entries) > MAX_ENTRIES:
            return {}
        if not all(isinstance(k, bytes) and isinstance(v, bytes) for k, v in entries.items()):
            return {}
        return entries

    def pending(self) -> dict[bytes, bytes] | None:
        """What `save` would write now (None when nothing changed)."""
        with self._lock:
            masker = _masker()

            def holds_secret(source: str) -> bool:
                return bool(masker) and masker(source) != source

            fresh = {
                key: data
                for key, (data, source) in self._new.items()
                if key not in self._tainted and not holds_secret(source)
            }
            # an entry read this run whose source is now known to hold a secret goes too
            unwanted = self._tainted | {k for k, s in self._used.items() if holds_secret(s)}
            dropped = unwanted & self._entries.keys()
            if not fresh and not dropped and not self._changed:
                return None
            kept = {k: v for k, v in self._entries.items() if k not in unwanted}
            merged = {**kept, **fresh}
            if len(merged) > MAX_ENTRIES or _size(merged) > MAX_BYTES:
                merged = _bounded(fresh)
            return merged

    def save(self) -> bool:
        """Write the file if entries were added or dropped; True when it was written."""
        with self._lock:
            if not self._loaded or not self._usable:
                return False
            entries = self.pending()
            if entries is None:
                return False
            body = marshal.dumps(entries)
            data = MAGIC + self.fingerprint + hashlib.sha256(body).digest() + body
            fd = open_private_directory(self.directory)
            if fd is None:
                return False
            try:
                _write_atomically(fd, data)
            except OSError:
                return False
            finally:
                os.close(fd)
            self._entries = entries
            self._new.clear()
            self._changed = False
            return True


def _size(entries: dict[bytes, bytes]) -> int:
    return sum(len(k) + len(v) + 16 for k, v in entries.items())


def _bounded(entries: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """The first entries of `entries` that fit in MAX_ENTRIES and MAX_BYTES."""
    kept: dict[bytes, bytes] = {}
    size = 0
    for key, value in entries.items():
        size += len(key) + len(value) + 16
        if len(kept) >= MAX_ENTRIES or size > MAX_BYTES:
            break
        kept[key] = value
    return kept


def _write_atomically(dir_fd: int, data: bytes) -> None:
    temp = f".{FILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temp, flags, 0o600, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
        os.replace(temp, FILE_NAME, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise


def _masker() -> Any:
    """A Masker of every secret the process knows now (vault values included)."""
    from provision.reporting.mask import Masker

    values = [value for watched in _WATCHED for value in list(watched)]
    return Masker(dict.fromkeys(v for v in values if isinstance(v, str)))


# ------------------------------------------------------------------ the process's cache


def fingerprint() -> bytes:
    """What every key of this process shares: versions and the templating code."""
    import jinja2

    from provision import __version__

    templating = Path(__file__).with_name("templating.py")
    try:
        own = hashlib.sha256(templating.read_bytes()).digest()
    except OSError:
        own = b"?"
    parts = [
        str(SCHEMA).encode(),
        __version__.encode(),
        own,
        jinja2.__version__.encode(),
        importlib.util.MAGIC_NUMBER,
        sys.implementation.cache_tag.encode(),
    ]
    return b"\0".join(parts)


_ACTIVE: CodeCache | None = None
_STARTED = False
_START_LOCK = threading.Lock()


def active() -> CodeCache | None:
    """The process's cache (made at first use, saved at exit), or None when it is off."""
    global _ACTIVE, _STARTED
    if _STARTED:
        return _ACTIVE
    with _START_LOCK:
        if not _STARTED:
            directory = default_directory()
            if directory is not None:
                _ACTIVE = CodeCache(directory, fingerprint())
                atexit.register(_save_at_exit)
            _STARTED = True
    return _ACTIVE


def _save_at_exit() -> None:
    cache = _ACTIVE
    if cache is not None:
        with contextlib.suppress(Exception):
            cache.save()


def reset(cache: CodeCache | None = None, started: bool = False) -> None:
    """For tests: forget the process's cache (the next use reads the environment again,
    unless `started`, when `cache` is used as it is)."""
    global _ACTIVE, _STARTED
    _ACTIVE = cache
    _STARTED = started
