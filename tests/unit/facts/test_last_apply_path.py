"""PROVISION_HOST_RECORD moves the last apply's record on hosts (tests whose hosts are this
machine); anything but a plain absolute path is ignored, and the path is always quoted."""

from __future__ import annotations

import pytest

from provision.changecontrol.audit import record_script
from provision.facts.host import LAST_APPLY_RECORD, LastApplyFact, last_apply_record

IGNORED = [
    "",
    "relative/last.json",
    "-rf /",
    "/tmp/../etc/passwd",
    "/tmp/..",
    "/tmp/a\nb",
    "/tmp/a\rb",
    "/tmp/a\x85b",
    "/tmp/a\u2028b",
    "/tmp/a\x00b",
    "/tmp/a\x1bb",
    "/tmp/é",
    "/" + "a" * 2000,
]


@pytest.mark.parametrize("value", IGNORED, ids=repr)
def test_anything_but_a_plain_absolute_path_keeps_the_default(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "\x00" in value:  # the environment cannot hold NUL: that case is the OS's
        pytest.skip("os.environ refuses NUL")
    monkeypatch.setenv("PROVISION_HOST_RECORD", value)
    assert last_apply_record() == LAST_APPLY_RECORD


@pytest.mark.parametrize("value", ["/tmp/x y/last.json", "/tmp/it's;$(id)/r.json", "/r"])
def test_an_absolute_path_is_used_and_quoted(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_HOST_RECORD", value)
    assert last_apply_record() == value
    import shlex

    assert shlex.quote(value) in LastApplyFact().command()
    assert shlex.quote(value) in record_script({"a": 1})


def test_unset_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISION_HOST_RECORD", raising=False)
    assert last_apply_record() == "/var/lib/provision/last-apply.json"
