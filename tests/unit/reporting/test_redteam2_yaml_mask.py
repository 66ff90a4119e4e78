"""Red team 2: a secret written through `to_yaml` / `to_nice_yaml` (a config file built
from vault values, then shown in a plan's diff or a debug message) must be masked. YAML
folds a long line with spaces over two lines, doubles `'` inside single quotes and writes
some characters as its own escapes (`\\e`, `\\_`, `\\N`), and none of those forms was
masked."""

from __future__ import annotations

import pytest
import yaml

from provision.project.jinjafilters import to_nice_yaml, to_yaml
from provision.reporting.mask import Masker

SECRETS = {
    "long-passphrase": "correct horse battery staple and a very long passphrase that goes"
    " past eighty columns wide",
    "quote-colon": "it's: a-secret",
    "quote-hash": "pa'ss #word-secret",
    "escape": "abc\x1bdefghijk",
    "nbsp": "abc\xa0defghijk",
    "nel-inside-double": '"q" zz\x85yy-secret',
    "leading-space-quote": " 'spaced-secret'",
}


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
@pytest.mark.parametrize("dump", [to_yaml, to_nice_yaml], ids=["to_yaml", "to_nice_yaml"])
@pytest.mark.parametrize("shape", ["value", "list", "nested"])
def test_a_secret_dumped_as_yaml_is_masked(secret: str, dump: object, shape: str) -> None:
    data = {"value": {"pw": secret}, "list": {"l": [secret, "x"]}, "nested": {"a": {"b": secret}}}
    text = dump(data[shape])  # type: ignore[operator]
    masked = Masker([secret])(text)
    leaves = yaml.safe_load(masked.replace("********", "MASKED"))
    flat = str(leaves)
    assert secret not in flat
    for part in secret.split():
        if len(part) >= 6:
            assert part not in masked, (part, masked)
