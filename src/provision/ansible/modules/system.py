"""sysctl, service/systemd/systemd_service, user, group, mount, lvg, lvol, filesystem,
firewalld."""

from __future__ import annotations

from typing import Any

from provision.ansible.modules.spec import A, Call, Module

_NEVER_REMOVED = "provision never removes volumes or filesystems: do it by hand"


def _sysctl(args: dict[str, Any], call: Call) -> dict[str, Any]:
    value = args.get("value")
    if isinstance(value, bool):  # YAML `value: yes`: Ansible writes 1/0
        args["value"] = "1" if value else "0"
    elif isinstance(value, int | float):
        args["value"] = str(value)
    return args


SYSCTL = Module(
    "sysctl",
    "ansible.posix",
    "sysctl",
    (
        A("name", aliases=("key",)),
        A("value", aliases=("val",)),
        A("state"),
        A("sysctl_file", to="file"),
        A("reload", to="", only=True, refuse="provision always sets the live value too"),
        A("sysctl_set", to=""),
        A("ignoreerrors", refuse="not supported: a key the kernel lacks fails the task"),
    ),
    "the live value is always set (Ansible's `reload: true` default does the same);"
    " `sysctl_file` defaults to /etc/sysctl.conf, as in Ansible",
    fixed={"file": "/etc/sysctl.conf"},
    prepare=_sysctl,
    finish=_sysctl,
)

_SERVICE_COMMON = (
    A("name", aliases=("unit",)),
    A("state"),
    A("enabled"),
)
_SYSTEMD_ARGS = (
    *_SERVICE_COMMON,
    A("daemon_reload", aliases=("daemon-reload",)),
    A(
        "masked",
        refuse="not supported: mask a unit with ansible.builtin.file state: link to /dev/null",
    ),
    A("scope", to="", only="system"),
    A("no_block", to="", only=False),
    A("force", refuse="not supported"),
    A("daemon_reexec", aliases=("daemon-reexec",), refuse="not supported"),
)
_SYSTEMD_DOC = (
    "`restarted`/`reloaded` act every time (use them in handlers); a restart handler is"
    " skipped when its unit was started after the notifying change"
)


def _systemd(fqcn_name: str) -> Module:
    return Module(fqcn_name, "ansible.builtin", "service", _SYSTEMD_ARGS, _SYSTEMD_DOC)


SERVICE = Module(
    "service",
    "ansible.builtin",
    "service",
    (
        *_SERVICE_COMMON,
        A(
            "daemon_reload",
            refuse="ansible.builtin.service has no daemon_reload; use"
            " ansible.builtin.systemd_service",
        ),
        A("use", to="", only="auto"),
        A("arguments", aliases=("args",), refuse="not supported: systemd units take no arguments"),
        A("pattern", refuse="not supported"),
        A("runlevel", refuse="not supported"),
        A("sleep", refuse="not supported"),
    ),
    "systemd units only",
)


def _groups(args: dict[str, Any], call: Call) -> dict[str, Any]:
    groups = args.get("groups")
    if isinstance(groups, str) and "{{" not in groups and "{%" not in groups:
        args["groups"] = [g.strip() for g in groups.split(",") if g.strip()]
    return args


_ACCOUNT = "not supported by provision's user type"
USER = Module(
    "user",
    "ansible.builtin",
    "user",
    (
        A("name", aliases=("user",)),
        A("state"),
        A("groups"),
        A("append"),
        A("shell"),
        A("home"),
        A("system"),
        A("create_home", aliases=("createhome",)),
        *(
            A(k, refuse=_ACCOUNT)
            for k in (
                "uid",
                "group",
                "comment",
                "password",
                "password_lock",
                "update_password",
                "remove",
                "force",
                "expires",
                "generate_ssh_key",
                "ssh_key_bits",
                "ssh_key_type",
                "ssh_key_file",
                "ssh_key_comment",
                "ssh_key_passphrase",
                "move_home",
                "non_unique",
                "skeleton",
                "local",
                "login_class",
                "seuser",
                "umask",
                "password_expire_max",
                "password_expire_min",
                "password_expire_warn",
                "uid_min",
                "uid_max",
            )
        ),
    ),
    "`groups` is a list or a comma-separated string; `append: false` (Ansible's default)"
    " makes `groups` the exact list",
    fixed={"append": False},
    prepare=_groups,
    finish=_groups,
)

GROUP = Module(
    "group",
    "ansible.builtin",
    "group",
    (
        A("name"),
        A("state"),
        A("gid"),
        A("system"),
        A("local", refuse="not supported"),
        A("non_unique", refuse="not supported"),
        A("force", refuse="not supported"),
        A("gid_min", refuse="not supported"),
        A("gid_max", refuse="not supported"),
    ),
)

MOUNT = Module(
    "mount",
    "ansible.posix",
    "mount",
    (
        A("path", aliases=("name",)),
        A("src"),
        A("fstype"),
        A("opts"),
        A("dump"),
        A("passno"),
        A("state"),
        A("fstab"),
        A("backup", refuse="not supported"),
        A("boot", to="", only=True),
        A("opts_no_log", refuse="not supported"),
    ),
    "states mounted, present, absent (unmounted, remounted, ephemeral, absent_from_fstab"
    " are refused); the fstab line holds `src` as written",
    fixed={"by_uuid": False},
)

LVG = Module(
    "lvg",
    "community.general",
    "lvm_vg",
    (
        A("vg"),
        A("pvs"),
        A("pesize"),
        A("state", refuse=""),
        A("force", refuse=_NEVER_REMOVED),
        A("vg_options", refuse="not supported"),
        A("pv_options", refuse="not supported"),
        A("pvresize", refuse="not supported"),
        A("remove_extra_pvs", to="", only=False),
    ),
    "state present only",
)

LVOL = Module(
    "lvol",
    "community.general",
    "lvm_lv",
    (
        A("vg"),
        A("lv"),
        A("size"),
        A("state"),
        A("force", refuse=_NEVER_REMOVED),
        A("shrink", to="", only=False, refuse="provision never shrinks a volume"),
        A(
            "resizefs",
            refuse="grow the filesystem with community.general.filesystem resizefs: true",
        ),
        A("opts", refuse="not supported"),
        A("pvs", refuse="not supported"),
        A("active", to="", only=True),
        A("snapshot", refuse="not supported"),
        A("thinpool", refuse="not supported"),
    ),
    "state present only; a size is never shrunk",
)

FILESYSTEM = Module(
    "filesystem",
    "community.general",
    "filesystem",
    (
        A("dev", aliases=("device",)),
        A("fstype", aliases=("type",)),
        A("resizefs"),
        A("state", to="", only="present", refuse=_NEVER_REMOVED),
        A("force", to="", only=False, refuse="provision never makes a filesystem over another"),
        A("opts", refuse="not supported"),
        A("uuid", refuse="not supported: the UUID is chosen at plan time"),
    ),
    "xfs and ext4",
)

FIREWALLD = Module(
    "firewalld",
    "ansible.posix",
    "firewalld",
    (
        A("service"),
        A("port"),
        A("zone"),
        A("permanent"),
        A("immediate"),
        A("state"),
        A("offline", to="", only=False),
        A("timeout", to="", only=0),
        *(
            A(k, refuse="not supported: services and ports only")
            for k in (
                "source",
                "interface",
                "rich_rule",
                "masquerade",
                "icmp_block",
                "icmp_block_inversion",
                "port_forward",
                "target",
                "protocol",
                "forward",
            )
        ),
    ),
    "services and ports of a zone; runtime and/or permanent as Ansible's `permanent`/`immediate`",
)

MODULES = (
    SYSCTL,
    _systemd("systemd"),
    _systemd("systemd_service"),
    SERVICE,
    USER,
    GROUP,
    MOUNT,
    LVG,
    LVOL,
    FILESYSTEM,
    FIREWALLD,
)
