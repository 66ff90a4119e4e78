"""The TLS filters import provision.tls.siteca (and cryptography's x509) only when one of
them runs: every run renders templates, few issue certificates."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from provision.project.jinjafilters import FilterError
from provision.tls import filters, siteca


def fresh(code: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_template_filters_load_without_siteca_and_x509() -> None:
    got = fresh(
        "import json, sys\n"
        "import provision.project.jinjafilters as f\n"
        "before = [m for m in ('provision.tls.siteca', 'cryptography.x509') if m in sys.modules]\n"
        "f.FILTERS['registry_users_valid']([{'name': 'a', 'password': 'pw-1234567'}])\n"
        "print(json.dumps({'before': before, 'filters': sorted(k for k in f.FILTERS"
        " if k in ('registry_tls', 'site_ca', 'registry_htpasswd', 'registry_users_valid')),"
        " 'after': 'provision.tls.siteca' in sys.modules}))"
    )
    assert got == {
        "before": [],
        "filters": ["registry_htpasswd", "registry_tls", "registry_users_valid", "site_ca"],
        "after": True,
    }


def test_the_defaults_are_siteca_s() -> None:
    assert filters.DEFAULT_DAYS == siteca.DEFAULT_DAYS
    assert filters.DEFAULT_RENEW_DAYS == siteca.DEFAULT_RENEW_DAYS


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: filters.registry_users_valid("x"), "must be a list"),
        (lambda: filters.registry_users_valid([{"name": "a"}, {"name": "a"}]), ""),
        (lambda: filters.registry_htpasswd([], "short"), "the seed must be a secret text"),
        (lambda: filters.registry_tls("/nonexistent-dir", "h", 5), "must be a list of host"),
        (lambda: filters.registry_tls("/d", "h", ["h"], days=0), "days must be a whole number"),
        (lambda: filters.registry_tls("/d", "h", ["h"], days=True), "days must be a whole"),
        (lambda: filters.registry_tls("/d", "h", ["h"], cert_file="/c"), "needs its cert file"),
        (lambda: filters.site_ca("/d", ca_cert_file="/nonexistent/ca.pem"), "No such file"),
    ],
)
def test_bad_input_is_still_a_filter_error(call: Any, expected: str) -> None:
    with pytest.raises(FilterError) as caught:
        call()
    assert expected in str(caught.value)
