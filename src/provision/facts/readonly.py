"""Read-only facts a playbook registers: a user's read-only command (`command`/`shell`
with `changed_when: false`) and Ansible's `stat`, both read in the one probe.

A read-only command's output is bounded (MAX_OUTPUT_BYTES per stream) and passed back
framed by length, so no byte it prints can break the probe's framing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import CaseFacts, FactError, FactKind, text

MAX_OUTPUT_BYTES = 64 * 1024  # per stream of a registered read-only command


def as_user(user: str, script: str) -> str:
    """`script` run by `sh` as `user` (from root, which needs no password: runuser)."""
    return shlex.join(["runuser", "-u", user, "--", "sh", "-c", script])


def env_prefix(environment: tuple[tuple[str, str], ...]) -> str:
    """`export NAME=value; ...` for a task's `environment:` (names checked by compile,
    values quoted here)."""
    return "".join(f"export {name}={shlex.quote(value)}; " for name, value in environment)


@dataclass(frozen=True)
class CommandOutput:
    """A read-only command's answer: exit code and its (bounded) output streams."""

    rc: int
    stdout: bytes
    stderr: bytes
    stdout_cut: bool = False
    stderr_cut: bool = False


@dataclass(frozen=True)
class ReadCommandFact(FactKind):
    """A registered read-only command of the user's, run in the probe; its output is
    bounded and passed back framed by length (any byte may appear in it)."""

    kind = "read_command"
    verbatim = True
    script: str  # shell text: run with sh (`shell`) or argv joined with quotes (`command`)
    chdir: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    local: bool = False  # `delegate_to: localhost`: read on the controller, not the host
    slow: bool = True

    def command(self) -> str:
        limit = MAX_OUTPUT_BYTES + 1
        cd = f"cd -- {shlex.quote(self.chdir)} 2>/dev/null || exit 96" if self.chdir else ":"
        return "\n".join(
            [
                cd,
                "t=$(mktemp -d) || exit 97",
                "trap 'rm -rf \"$t\"' EXIT",
                'mkfifo "$t/f" || exit 97',
                f'head -c {limit} <"$t/f" >"$t/e" &',
                f"{{ ( {env_prefix(self.environment)}{self.script}",
                f') </dev/null 2>"$t/f"; echo $? >"$t/r"; }} | head -c {limit} >"$t/o"',
                "wait",
                'printf "%s %s %s\\n" "$(cat "$t/r")" "$(wc -c <"$t/o")" "$(wc -c <"$t/e")"',
                'cat "$t/o" "$t/e"',
            ]
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> CommandOutput:
        if rc in (96, 97):
            reason = "its chdir does not exist" if rc == 96 else "no temporary folder"
            raise FactError(f"{self.describe()}: cannot run ({reason}): {text(stderr)[-200:]}")
        head, newline, rest = stdout.partition(b"\n")
        fields = head.split()
        if not newline or len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise FactError(f"{self.describe()}: its answer could not be read")
        code, out_len, err_len = (int(f) for f in fields)
        if out_len + err_len != len(rest):
            raise FactError(f"{self.describe()}: its answer is cut short")
        out, err = rest[:out_len], rest[out_len:]
        return CommandOutput(
            code,
            out[:MAX_OUTPUT_BYTES],
            err[:MAX_OUTPUT_BYTES],
            out_len > MAX_OUTPUT_BYTES,
            err_len > MAX_OUTPUT_BYTES,
        )

    def describe(self) -> str:
        return f"read-only command {self.script}"

    def case_value(self, case: CaseFacts) -> CommandOutput:
        """`commands: {SCRIPT: {rc, stdout, stderr}}`."""
        spec: dict[str, Any] = case.section("commands").get(self.script) or {}
        return CommandOutput(
            int(spec.get("rc", 0)),
            str(spec.get("stdout", "")).encode(),
            str(spec.get("stderr", "")).encode(),
        )


@dataclass(frozen=True)
class StatInfo:
    exists: bool
    kind: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    owner: str = ""
    group: str = ""
    size: int = 0
    mtime: int = 0
    link_target: str = ""


STAT_FLAGS = {
    "regular file": "isreg",
    "regular empty file": "isreg",
    "directory": "isdir",
    "symbolic link": "islnk",
    "character special file": "ischr",
    "block special file": "isblk",
    "fifo": "isfifo",
    "socket": "issock",
}


@dataclass(frozen=True)
class StatFact(FactKind):
    """`stat` of one path (lstat unless `follow`), as Ansible's stat module reads it."""

    kind = "stat"
    path: str
    follow: bool = False
    local: bool = False  # `delegate_to: localhost`: read on the controller, not the host
    slow: bool = False

    def command(self) -> str:
        p = shlex.quote(self.path)
        flag = "-L " if self.follow else ""
        return (
            f"if [ -e {p} ] || [ -L {p} ]; then "
            f"stat {flag}-c '%F|%a|%u|%g|%U|%G|%s|%Y' -- {p} || exit 3; "
            f"if [ -L {p} ]; then readlink -- {p} | head -c 4096; fi; else echo ABSENT; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> StatInfo:
        if rc != 0:
            raise FactError(f"cannot stat {self.path}: {text(stderr)[-200:]}")
        first, _, rest = text(stdout).partition("\n")
        if first.strip() == "ABSENT":
            return StatInfo(False)
        parts = first.split("|")
        if len(parts) != 8 or not all(parts[i].isdigit() for i in (2, 3, 6, 7)):
            raise FactError(f"unexpected stat output for {self.path}: {first!r}")
        try:
            mode = int(parts[1], 8)
        except ValueError:
            raise FactError(f"unexpected stat mode for {self.path}: {parts[1]!r}")
        return StatInfo(
            True,
            parts[0],
            mode,
            int(parts[2]),
            int(parts[3]),
            parts[4],
            parts[5],
            int(parts[6]),
            int(parts[7]),
            rest.rstrip("\n"),
        )

    def describe(self) -> str:
        return f"stat {self.path}"

    def case_value(self, case: CaseFacts) -> StatInfo:
        spec = case.section("stats").get(self.path)
        if not spec:
            return StatInfo(False)
        return StatInfo(
            True, spec.get("kind", "regular file"), int(str(spec.get("mode", "644")), 8)
        )


MAX_LIST_BYTES = 4 * 1024 * 1024  # the package or service list of a host


@dataclass(frozen=True)
class PackageListFact(FactKind):
    """Every installed rpm (Ansible's `package_facts`): name, epoch, version, release,
    arch; no rpm on the host gives no package."""

    kind = "package_list"
    slow: bool = True

    def command(self) -> str:
        return (
            "command -v rpm >/dev/null 2>&1 || exit 127; "
            "rpm -qa --qf '%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n' "
            f"| head -c {MAX_LIST_BYTES + 1}"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[tuple[str, ...], ...]:
        if rc == 127:
            return ()
        if rc != 0:
            raise FactError(f"cannot list the installed packages: {text(stderr)[-200:]}")
        if len(stdout) > MAX_LIST_BYTES:
            raise FactError(f"the package list is larger than {MAX_LIST_BYTES} bytes")
        rows = []
        for line in text(stdout).splitlines():
            fields = line.split("\t")
            if len(fields) != 5 or not fields[0]:
                raise FactError(f"unexpected rpm output: {line[:200]!r}")
            rows.append(tuple(fields))
        return tuple(rows)

    def describe(self) -> str:
        return "package facts"

    def case_value(self, case: CaseFacts) -> tuple[tuple[str, ...], ...]:
        return tuple(
            (name, "(none)", str(v), "1", "x86_64") for name, v in case.section("packages").items()
        )


@dataclass(frozen=True)
class ServiceListFact(FactKind):
    """Every systemd service with its state and enablement (Ansible's `service_facts`)."""

    kind = "service_list"
    slow: bool = True

    def command(self) -> str:
        return (
            "command -v systemctl >/dev/null 2>&1 || exit 127; "
            "{ echo @@units; systemctl list-units --type=service --all --no-legend "
            "--no-pager --plain; echo @@files; systemctl list-unit-files --type=service "
            f"--no-legend --no-pager; }} | head -c {MAX_LIST_BYTES + 1}"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> dict[str, tuple[str, str]]:
        if rc == 127:
            return {}
        if len(stdout) > MAX_LIST_BYTES:
            raise FactError(f"the service list is larger than {MAX_LIST_BYTES} bytes")
        states: dict[str, str] = {}
        statuses: dict[str, str] = {}
        section = ""
        for line in text(stdout).splitlines():
            if line in ("@@units", "@@files"):
                section = line
                continue
            fields = line.split()
            if not fields or not fields[0].endswith(".service"):
                continue
            if section == "@@units" and len(fields) >= 4:
                states[fields[0]] = "running" if fields[3] == "running" else "stopped"
            elif section == "@@files" and len(fields) >= 2:
                statuses[fields[0]] = fields[1]
        if not section:
            raise FactError(f"cannot list the services: {text(stderr)[-200:]}")
        names = sorted(set(states) | set(statuses))
        return {n: (states.get(n, "stopped"), statuses.get(n, "unknown")) for n in names}

    def describe(self) -> str:
        return "service facts"

    def case_value(self, case: CaseFacts) -> dict[str, tuple[str, str]]:
        return {
            f"{name}.service" if not name.endswith(".service") else name: ("running", "enabled")
            for name in case.section("services")
        }


# -- commands proven read-only ---------------------------------------------------------
#
# Ansible's check mode runs a command only when it says `check_mode: false`; a registered
# command with only `changed_when: false` is read during `plan` when its words prove it
# changes nothing: its program is one of these, with arguments that only read. Anything
# else (a program not listed, a shell feature that could write or run more) is left for
# apply, where it runs at its place.

# Programs that only read whatever their arguments are: none of their options writes a
# file, runs another program or changes the system (`sort -o`, `sed -i`, `awk system()`,
# `tee`, `xargs`, `env`, `find -exec` are why those are not here).
_ANY_ARGS = frozenset(
    (
        "cat head wc grep egrep fgrep test [ echo printf true false id whoami groups "
        "uname getenforce sestatus stat ls readlink realpath basename dirname pwd nproc "
        "free df lsblk findmnt uptime getent netstat sha1sum sha224sum sha256sum "
        "sha384sum sha512sum md5sum cksum cmp diff which lsmod modinfo lscpu arch "
        "systemd-detect-virt ps pgrep pidof xfs_info tail cut tr column jq yes seq exit "
        "printenv "
    ).split()
)


@dataclass(frozen=True)
class _Options:
    """The options a program may be given while it only reads: `flags` take no value,
    `valued` take one (`--name=V`, `--name V`, `-nV`, `-n V`). Anything else, including
    an abbreviation of a long option (getopt and argparse accept unique prefixes, so
    `--sys` is `--system`), makes the command unproven."""

    flags: frozenset[str]
    valued: frozenset[str] = frozenset()
    clusters: bool = True  # short options may be grouped (`-qa`); False: `ip -br`, `find`
    optional: frozenset[str] = frozenset()  # a value only when attached: `-n20`, `--boot=1`


def _opts(flags: str, valued: str = "", clusters: bool = True, optional: str = "") -> _Options:
    return _Options(
        frozenset(flags.split()), frozenset(valued.split()), clusters, frozenset(optional.split())
    )


def _parse(args: list[str], spec: _Options) -> list[str] | None:
    """The words (operands) of `args` when every option is one `spec` allows, else None."""
    words: list[str] = []
    index = 0
    operands_only = False
    while index < len(args):
        arg = args[index]
        index += 1
        if operands_only or arg == "-" or not arg.startswith("-"):
            words.append(arg)
            continue
        if arg == "--":
            operands_only = True
            continue
        if arg.startswith("--") or not spec.clusters:
            name, equals, _ = arg.partition("=")
            if (name in spec.flags and not equals) or name in spec.optional:
                continue
            if name in spec.valued:
                if not equals:
                    if index >= len(args):
                        return None
                    index += 1
                continue
            return None
        for position in range(1, len(arg)):
            option = "-" + arg[position]
            if option in spec.flags:
                continue
            if option in spec.optional:
                break
            if option in spec.valued:
                if position == len(arg) - 1:
                    if index >= len(args):
                        return None
                    index += 1
                break
            return None
    return words


_SYSTEMCTL = _opts(
    "-a --all -l --full --no-pager --no-legend --plain -q --quiet --value --failed "
    "--system --user -r --recursive --reverse --after --before --with-dependencies "
    "--show-types --no-ask-password",
    "-t --type -p --property -P --state -n --lines -o --output --timestamp --legend",
)
_SYSTEMCTL_READS = frozenset(
    (
        "is-active is-enabled is-failed is-system-running show status cat list-units "
        "list-unit-files list-timers list-dependencies list-sockets get-default "
    ).split()
)
_RPM = _opts(
    "-q --query -a --all -i --info -l --list -f --file -c --configfiles -d --docfiles "
    "-R --requires --provides --conflicts --obsoletes --recommends --suggests "
    "--supplements --enhances --whatprovides --whatrequires --whatrecommends "
    "--whatsuggests --whatconflicts --whatobsoletes --changelog --changes --last -s "
    "--state --dump --scripts --triggers --triggerscripts -g --group -p --package "
    "--nosignature --nodigest --noghost --noconfig --fileprovides --filesbypkg --xml -v "
    "--verbose --quiet",
    "--qf --queryformat",
)
# rpm's query format: `%{TAG}`, `%-20{TAG}`, `%{TAG:format}` with rpm's own formats only
# (`%(...)`, `%{lua:...}`, `%{load:...}` are macros: they run code when expanded)
_RPM_TAG = re.compile(
    r"%%|%-?[0-9]*\{[A-Za-z][A-Za-z0-9_]*(:(armor|arraysize|base64|date|day|depflags|"
    r"deptype|fflags|hex|humaniec|humansi|json|octal|perms|permissions|pgpsig|shescape|"
    r"string|triggertype|vflags|xml|yaml))?\}"
)
_SYSCTL = _opts(
    "-a --all -A -X -n --values -N --names -e --ignore -b --binary -q --quiet -h --help "
    "-V --version --deprecated",
    "-r --pattern",
)
_JOURNALCTL = _opts(
    "--no-pager -q --quiet -r --reverse -a --all -x --catalog -k --dmesg --utc "
    "--no-hostname --no-full -l --full --list-boots --disk-usage -m --merge --system "
    "--user -e --pager-end --show-cursor",
    "-u --unit --user-unit -o --output -p --priority -t --identifier -S "
    "--since -U --until -g --grep --output-fields -F --field --facility --cursor "
    "--after-cursor -D --directory --file",
    optional="-b --boot -n --lines --case-sensitive",
)
_DATE = _opts(
    "-u --utc --universal -R --rfc-email --debug",
    "-d --date -r --reference --rfc-3339",
    optional="-I --iso-8601",
)
_CTL_TOOLS = _opts(
    "--no-pager --no-ask-password --static --transient --pretty -a --all --value",
    "-p --property",
)
_CTL_READS = frozenset(
    "status show list-timezones timesync-status show-timesync list-locales list-keymaps".split()
)
_HOSTNAME = _opts(
    "-f --fqdn --long -s --short -d --domain -i --ip-address -I --all-ip-addresses -A "
    "--all-fqdns -a --alias -y --yp --nis"
)
_IP = _opts(
    "-4 -6 -o -oneline -j -json -p -pretty -d -details -s -stats -statistics -c -color "
    "-br -brief -h -human -human-readable -r -resolve -a -all",
    "-f -family -n -netns",
    clusters=False,
)
_IP_OBJECTS = frozenset(
    (
        "a addr address link l r ro route rule ru n neigh neighbor neighbour maddr "
        "maddress netns tunnel tuntap nexthop vrf netconf tcp_metrics tcpmetrics addrlabel "
        "ntable token"
    ).split()
)
_IP_READS = frozenset({"show", "list", "ls", "lst", "get"})
_DNF = _opts(
    "-q --quiet -C --cacheonly --installed --available --updates --upgrades --extras "
    "--obsoletes --recent --all --showduplicates --show-duplicates -i --info -l --list "
    "--nevra --resolve --recursive --requires --provides --conflicts --recommends "
    "--suggests --supplements --enhances --userinstalled --duplicates --unneeded "
    "--srpm --source --location --installonly --disabled --enabled --latest",
    "--enablerepo --disablerepo --repo --repoid --qf --queryformat --whatprovides "
    "--whatrequires --whatrecommends --whatsuggests --whatconflicts --whatobsoletes "
    "--whatdepends --arch --archlist --latest-limit -x --exclude",
)
_DNF_READS = frozenset({"list", "info", "repolist", "repoquery", "repoinfo"})
_CONTAINER = _opts(
    "-a --all -q --quiet --no-trunc -s --size --digests --noheading",
    "-f --format --filter -n --last --type",
)
_CONTAINER_READS = frozenset({"info", "version", "ps", "images", "inspect"})
_CONTAINER_OBJECT_READS = frozenset({"ls", "list", "inspect"})
_LVM = _opts(
    "-a --all --noheadings --nosuffix --readonly -v -q --binary --aligned --unbuffered "
    "--nameprefixes --rows --unquoted --segments -m --maps -c --columns -C --colon -s "
    "--short",
    "-o --options -O --sort --units --separator -S --select --reportformat --headings",
)
_FIND_WRITES = frozenset(
    {"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"}
)

TEMPLATED = "PROVISIONTEMPLATEDVALUE"  # stands for a `{{ value }}` while a command is checked
GLOB = "PROVISIONGLOBBEDWORD"  # stands for an unquoted `*`, `?` or `[..]` of a shell script
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.S)


_SAFE_ENVIRONMENT = re.compile(r"LANG|LANGUAGE|LC_[A-Z]+|TZ|COLUMNS|LINES|NO_COLOR|SYSTEMD_COLORS")


def environment_reads_only(environment: dict[str, str]) -> bool:
    """Whether a read-only command's `environment:` keeps it read-only: only locale, time
    zone and output-width names (`PATH` picks which `cat` runs, `LD_PRELOAD`/`BASH_ENV`/
    `PAGER`/`GCONV_PATH`/`LOCPATH` load or run other code)."""
    return all(_SAFE_ENVIRONMENT.fullmatch(name) for name in environment)


def argv_reads_only(argv: list[str]) -> bool:
    """Whether running `argv` (no shell) is proven to change nothing on the host. A
    templated word (TEMPLATED) or a word the shell globs (GLOB: it may expand to an
    option, a file named `-delete`) is allowed only as an argument of a program that
    reads whatever its arguments are; any other program's options are checked against
    the list of the options that only read (no abbreviations)."""
    if not argv or TEMPLATED in argv[0] or GLOB in argv[0]:
        return False
    folder, _, program = argv[0].rpartition("/")
    if folder not in ("", "/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        return False
    args = argv[1:]
    if program in _ANY_ARGS:
        return True
    if any(TEMPLATED in word or GLOB in word for word in args):
        return False
    if program == "systemctl":
        words = _parse(args, _SYSTEMCTL)
        return bool(words) and words[0] in _SYSTEMCTL_READS
    if program == "rpm":
        words = _parse(args, _RPM)
        return (
            words is not None
            and bool(args)
            and (args[0] in ("--query", "-q") or (args[0].startswith("-q") and args[0][1] != "-"))
            and all(_RPM_TAG.sub("", a).count("%") == 0 for a in args)
        )
    if program == "sysctl":
        words = _parse(args, _SYSCTL)
        return words is not None and not any("=" in w for w in words)
    if program in ("docker", "podman"):
        if not args or args[0].startswith("-"):
            return False  # global options: another daemon, runtime, config
        words = _parse(args, _CONTAINER)
        if not words:
            return False
        if words[0] in _CONTAINER_READS:
            return True
        return (
            words[0] in ("network", "volume", "image", "container", "system")
            and len(words) > 1
            and (words[1] in _CONTAINER_OBJECT_READS or (words[0], words[1]) == ("system", "info"))
        )
    if program == "firewall-cmd":
        return bool(args) and all(
            a == "--state"
            or a == "--permanent"
            or a.startswith(("--get-", "--list-", "--query-", "--info-", "--zone="))
            for a in args
        )
    if program in ("dnf", "yum"):
        words = _parse(args, _DNF)
        return bool(words) and words[0] in _DNF_READS
    if program == "journalctl":
        return _parse(args, _JOURNALCTL) is not None
    if program == "find":
        return not any(a in _FIND_WRITES for a in args)
    if program == "date":
        words = _parse(args, _DATE)  # an operand other than +FORMAT sets the clock
        return words is not None and all(w.startswith("+") for w in words)
    if program in ("hostnamectl", "timedatectl", "localectl"):
        words = _parse(args, _CTL_TOOLS)
        return words is not None and (not words or (words[0] in _CTL_READS and len(words) == 1))
    if program == "hostname":
        return _parse(args, _HOSTNAME) == []
    if program == "ip":
        words = _parse(args, _IP)
        return (
            bool(words) and words[0] in _IP_OBJECTS and (len(words) == 1 or words[1] in _IP_READS)
        )
    if program in ("lvs", "vgs", "pvs", "lvdisplay", "vgdisplay", "pvdisplay"):
        return _parse(args, _LVM) is not None
    return False


_SHELL_SEPARATORS = frozenset({"|", "||", "&&", ";"})
_SHELL_SAFE_REDIRECTS = (
    ("2>", "/dev/null"),
    (">", "/dev/null"),
    ("2>&1",),
    (">&2",),
    ("2>>", "/dev/null"),
)


def command_reads_only(text: str, shell: bool) -> bool:
    """Whether a `command` (words, no shell) or `shell` (a script) text, as written (its
    `{{ }}` not rendered yet: each lands as one word), is proven to change nothing."""
    parts = _RAW.split(text)  # `{% raw %}...{% endraw %}`: literal text between
    for index in range(0, len(parts), 2):
        part = _EXPRESSION.sub(TEMPLATED, parts[index])
        if "{%" in part or "{#" in part or "{{" in part:
            return False
        parts[index] = part
    text = "".join(parts)
    if shell:
        return shell_reads_only(text)
    try:
        return argv_reads_only(shlex.split(text))
    except ValueError:
        return False


def _plain_shell(script: str) -> str | None:
    """The script with its line breaks outside quotes made `;`, its comments removed (a
    `#` that starts a word, to the end of its line, as sh reads it) and each unquoted glob
    character (`*`, `?`, a `[` inside a word) made GLOB, when it has no command
    substitution anywhere and, outside quotes, no subshell, group, here-document or `&>`
    (`$NAME` and `${NAME...}` are allowed: checked as templated words). None otherwise."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(script):
        c = script[index]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            if quote == "" and script[index + 1 : index + 2] in ("\n", "\r", ""):
                return None
            out.append(script[index : index + 2])
            index += 2
            continue
        elif c == "`" or script.startswith("$(", index):
            return None
        elif script.startswith("${", index):
            close = script.find("}", index)
            inner = script[index + 2 : close]
            if close < 0 or any(x in inner for x in ("`", "$(", "${", quote or "'", '"')):
                return None
            out.append("$" + inner.replace(" ", "_"))
            index = close + 1
            continue
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (not out or out[-1] in " \t;&|<>"):
            end = script.find("\n", index)
            index = len(script) if end < 0 else end
            continue
        elif c in "\n\r":
            c = ";"
        elif c in "*?" or (c == "[" and script[index + 1 : index + 2] not in ("", " ", "\t")):
            c = GLOB
        elif c in "(){}" or script.startswith(("&>", "<<"), index):
            return None
        out.append(c)
        index += 1
    return "".join(out) if quote == "" else None


def shell_reads_only(script: str) -> bool:
    """Whether a `shell` script is proven to change nothing: simple commands that each
    read only (`argv_reads_only`), joined by `|`, `||`, `&&`, `;`, with output sent
    nowhere but the terminal or /dev/null. No substitution, variable, subshell, group,
    background job, here-document or assignment."""
    plain = _plain_shell(script)
    if plain is None:
        return False
    script = plain
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = ""  # comments are gone: shlex would end one inside a word
        tokens = list(lexer)
    except ValueError:
        return False
    commands: list[list[str]] = [[]]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in _SHELL_SEPARATORS:
            commands.append([])
        elif token in (">", ">>", "2>", "2>>", ">|", "&", "<", "<&", ">&"):
            if token == "&":
                return False  # a background job
            target = tokens[index + 1] if index + 1 < len(tokens) else ""
            if token in ("<",):
                index += 2
                continue  # reading a file
            if token == ">&" and target in ("1", "2"):
                index += 2
                continue
            if target != "/dev/null":
                return False
            index += 2
            continue
        elif token == "2" and index + 1 < len(tokens) and tokens[index + 1].startswith(">"):
            pass  # the `2` of `2>`: shlex splits it off
        elif not token.strip(";&|<>"):
            return False  # any other operator: `|&` (a pipe), `<>` (opens for writing), `;;`
        elif "=" in token.split("/", 1)[0] and not commands[-1]:
            return False  # NAME=value before a command
        else:
            commands[-1].append(token.replace("$", TEMPLATED))
        index += 1
    commands = [argv for argv in commands if argv]  # `a;` and a final line break
    return bool(commands) and all(argv_reads_only(argv) for argv in commands)
