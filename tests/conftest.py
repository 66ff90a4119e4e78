"""The whole suite: no test run reads or writes the user's template code cache
(~/.cache/provision); tests of the cache give it their own tmp_path."""

from __future__ import annotations

import os

# Set at import, before any template compiles: provision subprocesses inherit it too.
os.environ["PROVISION_CACHE_DIR"] = ""
