"""dnf, yum, package → the `package` task type."""

from __future__ import annotations

from typing import Any

from provision.ansible.modules.spec import A, Call, Module

STATES = {"installed": "present", "removed": "absent"}


def _names(args: dict[str, Any], call: Call) -> dict[str, Any]:
    """`name: "a,b"` and `name: [a, "b,c"]` are the names a, b, c (as in Ansible); the same
    for `enablerepo` and `disablerepo`."""
    for key in ("name", "enablerepo", "disablerepo"):
        name = args.get(key)
        if isinstance(name, str):
            name = [name]
        if isinstance(name, list) and all(isinstance(n, str) for n in name):
            templated = any("{{" in n or "{%" in n for n in name)
            if not templated:  # after rendering, or written literally
                args[key] = [part.strip() for n in name for part in n.split(",") if part.strip()]
    return args


def _dnf_args() -> tuple[A, ...]:
    refused = {
        "exclude": "pin the versions you want in `name` (NAME-VERSION), or set excludepkgs in"
        " the repository",
        "disable_gpg_check": "provision never installs unsigned packages: import the key with"
        " ansible.builtin.rpm_key",
        "allow_downgrade": "pin the version with NAME-VERSION in `name`; downgrades are not done",
        "autoremove": "remove the packages by name with state: absent",
        "conf_file": "set the option in /etc/dnf/dnf.conf with ansible.builtin.lineinfile",
        "installroot": "provision manages the host's own root only",
        "list": "use ansible.builtin.package_facts",
        "download_only": "not supported: install the package",
        "download_dir": "not supported: install the package",
        "releasever": "not supported: the host's release is used",
        "skip_broken": "not supported: name the packages that can be installed",
        "nobest": "not supported",
        "bugfix": "use security: true, or name: '*' for every update",
        "update_only": "use state: latest on installed packages",
        "allowerasing": "remove the conflicting packages first with state: absent",
        "cacheonly": "not supported",
        "disable_plugin": "not supported",
        "enable_plugin": "not supported",
        "disable_excludes": "not supported",
        "install_weak_deps": "set install_weak_deps in /etc/dnf/dnf.conf with lineinfile",
        "install_repoquery": "not needed",
        "use_backend": "not needed: dnf is used",
        "lock_timeout": "not needed: provision waits up to 300 s for another dnf's lock",
        "best": "not supported",
    }
    return (
        A("name", aliases=("pkg",)),
        A("state", values=STATES),
        A("update_cache", to="", aliases=("expire-cache",)),
        A("security"),
        A("enablerepo"),
        A("disablerepo"),
        A("validate_certs", to="", only=True),
        A("sslverify", to="", only=True),
        *(A(k, refuse=v) for k, v in refused.items()),
    )


_DOC = (
    "`name` is a list or a comma-separated string; `state` installed/removed are present/"
    'absent; `name: "*"` with `state: latest` is the OS update. `update_cache` is accepted:'
    " dnf refreshes metadata older than its `metadata_expire` itself. `enablerepo`/"
    "`disablerepo` (a list or a comma-separated string) go on the install command as"
    " `--enablerepo=ID` words; not with `state: latest` (the plan reads pending updates"
    " from the repositories enabled on the host)."
)
MODULES = (
    Module("dnf", "ansible.builtin", "package", _dnf_args(), _DOC, prepare=_names, finish=_names),
    Module("yum", "ansible.builtin", "package", _dnf_args(), _DOC, prepare=_names, finish=_names),
    Module(
        "package",
        "ansible.builtin",
        "package",
        (
            A("name"),
            A("state", values=STATES),
            A("use", to="", only="auto", refuse=""),
        ),
        "as dnf; `use` may only be `auto`",
        prepare=_names,
        finish=_names,
    ),
)
