"""The plan key: the controller's secret that keys every digest a plan file must not give
away (secret-bearing inputs, probed facts, the commands' content).

Why a key kept outside the plan file: a plain SHA-256 of a short secret (or of a small
vars file holding it) can be reversed by guessing; a keyed hash cannot, as long as the key
is not next to it. A key derived from anything in the plan file (e.g. an input's own
hash) would be in the file, so it would protect nothing. The key therefore lives on the
controller (`.provision/plan.key`, created 0600 on first use) or comes from the
environment (PROVISION_PLAN_KEY, e.g. from a CI secret store) so that the runner that
applies can recompute the digests the runner that planned wrote. A plan records only
the key's id, so apply can say "made with another key" instead of "everything drifted".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from provision.errors import InputError

KEY_ENV = "PROVISION_PLAN_KEY"
KEY_FILE_ENV = "PROVISION_PLAN_KEY_FILE"
KEY_NAME = "plan.key"


class PlanKey:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise InputError("the plan key is shorter than 16 bytes")
        self._key = key

    @property
    def key_id(self) -> str:
        """Names the key without giving it away."""
        return hmac.new(self._key, b"provision plan key id", hashlib.sha256).hexdigest()[:16]

    def digest(self, data: bytes) -> str:
        return "hmac-sha256:" + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never print the key
        return f"PlanKey(id={self.key_id})"


def load_key(state_dir: Path, create: bool) -> PlanKey:
    """PROVISION_PLAN_KEY (text), else PROVISION_PLAN_KEY_FILE, else .provision/plan.key
    (made with 32 random bytes, mode 0600, when `create`)."""
    text = os.environ.get(KEY_ENV)
    if text:
        return PlanKey(text.encode())
    path = Path(os.environ.get(KEY_FILE_ENV) or state_dir / KEY_NAME)
    if not path.exists():
        if not create:
            raise InputError(
                f"no plan key at {path}: this plan was made on another controller",
                hint=f"copy its key there (mode 0600) or set {KEY_ENV} / {KEY_FILE_ENV}",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode())
    try:
        return PlanKey(path.read_bytes().strip())
    except OSError as exc:
        raise InputError(f"cannot read the plan key {path}: {exc.strerror}")
