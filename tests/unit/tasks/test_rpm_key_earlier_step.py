"""rpm_key of a host path that an earlier task of the run writes: the probe read the file
before that task ran, so the import is planned from what the earlier task leaves there."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import Location
from provision.facts.kinds import FileFact, FileState
from provision.facts.rpm_keys import InstalledKey, RpmKeys
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp
from provision.tasks.base import TaskContext
from provision.tasks.rpm_key import RpmKey

KEYS = Path(__file__).resolve().parents[1] / "facts" / "openpgp"
FINGERPRINT = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"  # ed25519.asc
PATH = "/etc/pki/rpm-gpg/KEY"


def _task(key: str = PATH) -> RpmKey:
    where = Location("site.yml", 1)
    args = RpmKey.parse({"key": key, "fingerprint": FINGERPRINT}, where)
    task = RpmKey(RpmKey.coerce(args, where), TaskContext(where, None, {}, False))
    task.validate()
    return task


def _state(task: RpmKey, probed: RpmKeys, file: FileState | None) -> HostState:
    facts = {f: probed for f in task.facts()}
    if file is not None:
        facts[FileFact(PATH)] = file
    return HostState(facts)


def _good() -> bytes:
    return (KEYS / "ed25519.asc").read_bytes()


MISSING = RpmKeys((), None, "no such file: " + PATH)


@pytest.mark.parametrize(
    ("probed", "file", "outcome", "words"),
    [
        # downloaded by an earlier step (get_url): content unknown until apply
        (MISSING, FileState(True, content=None, known=False), Deferred, "at apply"),
        # written by an earlier step with known content (copy): checked now
        (MISSING, FileState(True, content=_good()), Change, "fingerprint checked"),
        (MISSING, FileState(True, content=b"<html>login</html>"), Failed, "refusing"),
        # nobody else reads the file: the probe's answer stands
        (MISSING, None, Failed, "no such file"),
        (RpmKeys((), _good()), None, Change, "fingerprint checked"),
        # the probe read the same bytes an earlier step leaves: nothing to redo
        (RpmKeys((), _good()), FileState(True, content=_good()), Change, "import"),
        # removed by an earlier step: the probe's answer stands
        (RpmKeys((), _good()), FileState(False), Change, "import"),
    ],
)
def test_key_file_from_an_earlier_step(probed, file, outcome, words) -> None:
    task = _task()
    result = task.plan(_state(task, probed, file))
    assert isinstance(result, outcome), result
    text = str(getattr(result, "summary", "")) + getattr(result, "message", "")
    assert words in text, result


def test_an_imported_key_is_not_deferred() -> None:
    task = _task()
    installed = InstalledKey("gpg-pubkey-d916b83a", (FINGERPRINT,), _good().decode())
    state = _state(task, RpmKeys((installed,)), FileState(True, content=None, known=False))
    assert isinstance(task.plan(state), NoOp)


def test_a_url_key_is_never_deferred() -> None:
    task = _task("https://example.com/gpg")
    result = task.plan(_state(task, RpmKeys((), _good()), None))
    assert isinstance(result, Change)
