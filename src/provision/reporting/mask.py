"""Secret masking applied to every string this tool prints or writes."""

from __future__ import annotations

import json
import shlex
from typing import Any

MASK = "********"
MIN_SECRET_LENGTH = 3


class Masker:
    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: list[str] = []
        for value in secrets or []:
            self.add(value)

    def add(self, value: str) -> None:
        """A secret, and the forms it takes when quoted for a shell or for JSON."""
        value = str(value)
        forms = {value, shlex.quote(value), json.dumps(value)[1:-1]}
        for form in forms:
            if len(form) >= MIN_SECRET_LENGTH and form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def deep(self, value: Any) -> Any:
        """Mask every string inside a JSON-like value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(str(k)): self.deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v) for v in value]
        return value
