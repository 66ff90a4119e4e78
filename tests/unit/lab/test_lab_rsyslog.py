"""The lab's rsyslog RPM: Debian's rsyslogd with the libraries and modules it needs, Rocky's
unit and configuration; every module the configuration loads is shipped."""

from __future__ import annotations

import re

from provision.lab.image import DATA, DEBS
from provision.lab.rpms import LIBDIR, RSYSLOG_MODULES, lab_packages, render_spec


def rsyslog():
    (package,) = [p for p in lab_packages() if p.name == "rsyslog"]
    return package


def test_payload_comes_from_the_debs_the_build_fetches() -> None:
    package = rsyslog()
    debs = {source.split(":")[1] for source in package.files.values() if source.startswith("deb:")}
    assert debs == {"rsyslog", "libestr0", "libfastjson4"}
    assert debs <= set(DEBS)
    assert package.files["/usr/sbin/rsyslogd"] == "deb:rsyslog:/usr/sbin/rsyslogd"
    for lib in ("libestr.so.0", "libfastjson.so.4"):
        assert f"{LIBDIR}/{lib}" in package.files


def test_served_not_preinstalled_in_baseos() -> None:
    package = rsyslog()
    assert package.repo == "baseos" and package.served and not package.preinstalled


def test_spec_owns_config_unit_and_directories() -> None:
    spec = render_spec(rsyslog(), "/stage")
    assert "%config(noreplace) /etc/rsyslog.conf" in spec
    assert "/usr/lib/systemd/system/rsyslog.service" in spec
    for directory in ("/etc/rsyslog.d", "/var/lib/rsyslog"):
        assert f"%dir {directory}" in spec


def test_every_loaded_module_is_shipped() -> None:
    config = (DATA / "rsyslog.conf.txt").read_text()
    loaded = re.findall(r'module\(load="([^"]+)"', config)
    assert "imjournal" in loaded
    for module in loaded:
        assert module.startswith("builtin:") or module in RSYSLOG_MODULES, module
    # omfwd's TCP path (the forwarding of role docker_logging) needs these
    assert {"lmnetstrms", "lmnsd_ptcp", "lmtcpclt", "lmnet"} <= set(RSYSLOG_MODULES)


def test_rocky_config_layout() -> None:
    config = (DATA / "rsyslog.conf.txt").read_text()
    assert 'global(workDirectory="/var/lib/rsyslog")' in config
    assert config.index('include(file="/etc/rsyslog.d/*.conf"') < config.index("/var/log/messages")
    unit = (DATA / "rsyslog.service").read_text()
    assert "ExecStart=/usr/sbin/rsyslogd -n $SYSLOGD_OPTIONS" in unit
    assert "Type=notify" in unit and "WantedBy=multi-user.target" in unit
