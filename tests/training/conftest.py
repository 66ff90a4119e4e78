"""The container lab's session fixture, shared with tests/lab (see tests/lab/conftest.py)."""

from tests.lab.conftest import lab_hosts  # noqa: F401 - a fixture, used by name
