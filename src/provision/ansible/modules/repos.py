"""yum_repository → `repo`; rpm_key → `rpm_key` (pinned by fingerprint)."""

from __future__ import annotations

from typing import Any

from provision.ansible.modules.spec import A, Call, Module, templated

REPOS_DIR = "/etc/yum.repos.d"


def _repo_file(args: dict[str, Any], call: Call) -> dict[str, Any]:
    """Ansible's `file` is a base name under `reposdir` (default: the repo id): the
    target's `file` is the path, made once both are known (after rendering)."""
    name, folder = args.get("_file"), args.get("_reposdir", REPOS_DIR)
    if name is not None and not templated(name) and not templated(folder):
        name = str(name)
        if "/" in name or name in ("", ".", "..") or name.startswith("-"):
            raise call.error(f"`file` must be a file name without `/`, found {name!r}")
        if not isinstance(folder, str) or not folder.startswith("/"):
            raise call.error("`reposdir` must be an absolute path")
        args["file"] = f"{folder.rstrip('/')}/{name}.repo"
    elif name is None and "_reposdir" in args and not templated(args.get("id")):
        args["_file"] = args.get("id")
        return _repo_file(args, call)
    for key in ("baseurl", "gpgkey"):
        if isinstance(args.get(key), list):
            if len(args[key]) != 1:
                raise call.error(f"`{key}` with several URLs is not supported; give one")
            args[key] = args[key][0]
    return args


_NOT = "not supported by provision's repo type"
YUM_REPOSITORY = Module(
    "yum_repository",
    "ansible.builtin",
    "repo",
    (
        A("name", to="id"),
        A("description"),
        A("baseurl"),
        A("gpgkey"),
        A("gpgcheck"),
        A("enabled"),
        A("file", to=""),
        A("reposdir", to=""),
        A("state"),
        *(
            A(k, refuse=_NOT)
            for k in (
                "mirrorlist",
                "metalink",
                "exclude",
                "excludepkgs",
                "includepkgs",
                "priority",
                "cost",
                "proxy",
                "proxy_username",
                "proxy_password",
                "repo_gpgcheck",
                "sslverify",
                "sslcacert",
                "sslclientcert",
                "sslclientkey",
                "skip_if_unavailable",
                "module_hotfixes",
                "metadata_expire",
                "metadata_expire_filter",
                "gpgcakey",
                "enablegroups",
                "failovermethod",
                "http_caching",
                "include",
                "ip_resolve",
                "keepalive",
                "keepcache",
                "mirrorlist_expire",
                "password",
                "username",
                "protect",
                "retries",
                "s3_enabled",
                "throttle",
                "timeout",
                "ui_repoid_vars",
                "bandwidth",
                "async",
                "attributes",
                "mode",
                "owner",
                "group",
                "selevel",
                "serole",
                "setype",
                "seuser",
                "unsafe_writes",
                "deltarpm_metadata_percentage",
                "deltarpm_percentage",
            )
        ),
    ),
    "one `baseurl` and one `gpgkey`; `file` is a base name under `reposdir`",
    prepare=_repo_file,
    finish=_repo_file,
)


def _fingerprint(args: dict[str, Any], call: Call) -> dict[str, Any]:
    fingerprint = args.get("fingerprint")
    if isinstance(fingerprint, list):
        if len(fingerprint) != 1:
            raise call.error("give exactly one `fingerprint` (the key's own)")
        args["fingerprint"] = fingerprint[0]
    if "fingerprint" not in args and args.get("state", "present") != "absent":
        raise call.error(
            "provision imports a GPG key only pinned by its full fingerprint: add `fingerprint:`",
            hint="fingerprint: '060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35' (gpg"
            " --show-keys KEYFILE prints it)",
        )
    return args


RPM_KEY = Module(
    "rpm_key",
    "ansible.builtin",
    "rpm_key",
    (
        A("key"),
        A("fingerprint"),
        A("state"),
        A("validate_certs", to="", only=True),
    ),
    "`fingerprint` is required (a key is imported only when its full fingerprint is the"
    " pinned one); a URL is fetched on the host with curl",
    prepare=_fingerprint,
    finish=_fingerprint,
)

MODULES = (YUM_REPOSITORY, RPM_KEY)
