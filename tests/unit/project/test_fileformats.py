"""Values rendered into line-oriented files: format × line-break kind × place, tables.

Each refused case must raise InputError naming the template file, its line and the
expression, and never quote the value. Accepted cases check the exact bytes written.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from provision.errors import InputError, Location
from provision.project.fileformats import (
    LINE_BREAKS,
    infer_format,
    line_problem,
    resolve_marks,
)
from provision.project.templating import render_template_file
from provision.tasks.base import TaskContext, task_types

ROLES = Path(__file__).resolve().parents[3] / "roles"

BREAKS = list(LINE_BREAKS)  # \n \r \v \f U+0085 U+2028 U+2029
CONTROLS = ["\x00", "\x08", "\x1b", "\x1c", "\x1e", "\x7f", "\x9b"]
BAD = BREAKS + CONTROLS
SECRET = "S3cr3t-v4lue"

# format -> place -> (template, line of the {{ v }})
TEMPLATES: dict[str, dict[str, tuple[str, int]]] = {
    "ini": {
        "value": ("[main]\nname = {{ v }}\n", 2),
        "key": ("[main]\n{{ v }} = 1\n", 2),
        "section": ("# c\n[{{ v }}]\nx=1\n", 2),
        "comment": ("[main]\n# set by {{ v }}\nx=1\n", 2),
    },
    "repo": {
        "value": ("[r]\nname=R\nbaseurl={{ v }}\n", 3),
        "key": ("[r]\n{{ v }}=1\n", 2),
        "section": ("[{{ v }}]\nname=R\n", 1),
        "comment": ("# repo {{ v }}\n[r]\n", 1),
    },
    "systemd": {
        "value": ('[Service]\nEnvironment="HTTP_PROXY={{ v }}"\n', 2),
        "key": ("[Service]\n{{ v }}=1\n", 2),
        "section": ("[{{ v }}]\nDescription=x\n", 1),
        "comment": ("# unit for {{ v }}\n[Unit]\n", 1),
    },
    "sysctl": {
        "value": ("# app\nnet.core.somaxconn = {{ v }}\n", 2),
        "key": ("{{ v }} = 1\n", 1),
        "comment": ("# for {{ v }}\nvm.swappiness = 10\n", 1),
    },
    "lines": {
        "value": ("a\n10.0.0.1 {{ v }}\n", 2),
        "start": ("{{ v }}\n", 1),
    },
}
PLACES = [(fmt, place) for fmt, places in TEMPLATES.items() for place in places]


def _render(fmt: str, template: str, value: object) -> str:
    return render_template_file(template, {"v": value}, "roles/r/templates/f.j2", fmt=fmt)


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
@pytest.mark.parametrize(("fmt", "place"), PLACES, ids=[f"{f}-{p}" for f, p in PLACES])
def test_a_break_or_control_is_refused_everywhere(fmt: str, place: str, char: str) -> None:
    template, line = TEMPLATES[fmt][place]
    value = f"ok{char}{SECRET}=x"
    with pytest.raises(InputError) as caught:
        _render(fmt, template, value)
    error = caught.value
    assert error.location == Location("roles/r/templates/f.j2", line)
    text = str(error)
    assert "`{{ v }}`" in text
    assert "at character 3" in text
    assert SECRET not in text, "an input error must not quote the value"


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
def test_raw_format_takes_anything(char: str) -> None:
    assert _render("raw", "a={{ v }}\n", f"x{char}y") == f"a=x{char}y\n"


KEY_REFUSED = ["a b", "a=b", "[x]", "x;y", "#x", "a\tb", "ключ", "a:b"]


@pytest.mark.parametrize("value", KEY_REFUSED)
@pytest.mark.parametrize("fmt", ["ini", "repo", "systemd", "sysctl"])
def test_a_value_where_a_key_goes_must_be_a_key(fmt: str, value: str) -> None:
    template, line = TEMPLATES[fmt]["key"]
    with pytest.raises(InputError, match="sits where a key goes") as caught:
        _render(fmt, template, value)
    assert caught.value.location == Location("roles/r/templates/f.j2", line)


@pytest.mark.parametrize("value", ["a]", "a[b", "main] [evil", "]"])
@pytest.mark.parametrize("fmt", ["ini", "systemd", "repo"])
def test_a_section_name_has_no_brackets(fmt: str, value: str) -> None:
    template, _ = TEMPLATES[fmt]["section"]
    with pytest.raises(InputError, match=r"\[section\] header"):
        _render(fmt, template, value)


@pytest.mark.parametrize("value", ["a b", "a/b", "a=b", "a,b"])
def test_a_repo_section_is_a_repo_id(value: str) -> None:
    with pytest.raises(InputError, match="is not a repo id"):
        _render("repo", "[{{ v }}]\nname=R\n", value)


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("ini", "proxy_username"),
        ("ini", "a.b-c_9"),
        ("systemd", "LimitNOFILE"),
        ("sysctl", "net.ipv4.ip_forward"),
        ("sysctl", "net/ipv4/conf/*/rp_filter"),
        ("repo", "gpgcheck"),
    ],
)
def test_a_key_is_accepted_where_a_key_goes(fmt: str, value: str) -> None:
    template, _ = TEMPLATES[fmt]["key"]
    assert value in _render(fmt, template, value)


ACCEPTED_VALUES = ["http://u:p@proxy:3128", "a\tb", "ünïcødé ✓", "x = y", "[not a section]", ""]


@pytest.mark.parametrize("value", ACCEPTED_VALUES)
@pytest.mark.parametrize("fmt", ["ini", "repo", "sysctl", "lines"])
def test_a_one_line_value_is_written_as_it_is(fmt: str, value: str) -> None:
    template, _ = TEMPLATES[fmt]["value"]
    assert _render(fmt, template, value) == template.replace("{{ v }}", value)


SYSTEMD_ESCAPES = [
    ("100%", "100%%"),
    ('a"b', 'a\\"b'),
    ("a\\b", "a\\\\b"),
    ("end\\", "end\\\\"),
    ('x" "LD_PRELOAD=/tmp/e.so', 'x\\" \\"LD_PRELOAD=/tmp/e.so'),
    ("%n %i", "%%n %%i"),
    ("plain", "plain"),
]


@pytest.mark.parametrize(("value", "written"), SYSTEMD_ESCAPES)
def test_systemd_values_are_escaped(value: str, written: str) -> None:
    text = _render("systemd", '[Service]\nEnvironment="HTTP_PROXY={{ v }}"\n', value)
    assert text == f'[Service]\nEnvironment="HTTP_PROXY={written}"\n'
    assert parse_systemd_environment(text) == {"HTTP_PROXY": value}


def test_systemd_exec_values_escape_dollar() -> None:
    text = _render("systemd", "[Service]\nExecStart=/bin/app --home={{ v }}\n", "$HOME")
    assert text == "[Service]\nExecStart=/bin/app --home=$$HOME\n"


@pytest.mark.parametrize("key", ["Environment", "ExecStart", "ExecStartPre", "PassEnvironment"])
@pytest.mark.parametrize("value", ["a b", "a\tb", "x LD_PRELOAD=/tmp/e.so"])
def test_systemd_word_split_values_outside_quotes_refuse_whitespace(key: str, value: str) -> None:
    with pytest.raises(InputError, match=f"outside double quotes in `{key}=`"):
        _render("systemd", f"[Service]\n{key}=A={{{{ v }}}}\n", value)


def test_systemd_other_settings_take_spaces() -> None:
    text = _render("systemd", "[Unit]\nDescription={{ v }}\n", "My app 100%")
    assert text == "[Unit]\nDescription=My app 100%%\n"


def test_systemd_quoted_words_take_spaces() -> None:
    text = _render("systemd", '[Service]\nEnvironment="NO_PROXY={{ v }}"\n', "a b")
    assert parse_systemd_environment(text) == {"NO_PROXY": "a b"}


def test_an_error_names_the_right_one_of_several_expressions() -> None:
    template = '[Service]\nEnvironment="A={{ a }}" "B={{ b }}" "C={{ c }}"\n'
    for bad in "abc":
        values = {name: "ok" for name in "abc"}
        values[bad] = "x\ny"
        with pytest.raises(InputError) as caught:
            render_template_file(template, values, "t.j2", fmt="systemd")
        assert f"the value of `{{{{ {bad} }}}}`" in str(caught.value)


def test_values_in_a_loop_are_checked_on_the_template_line() -> None:
    template = "[main]\n{% for k in keys %}\n{{ k }}=1\n{% endfor %}\n"
    with pytest.raises(InputError) as caught:
        render_template_file(template, {"keys": ["a", "b\n[evil]"]}, "t.j2", fmt="ini")
    assert caught.value.location == Location("t.j2", 3)


def test_a_reserved_mark_character_in_a_value_is_refused() -> None:
    with pytest.raises(InputError, match="reserved character"):
        _render("ini", "[m]\nx={{ v }}\n", "a\ue002b")


def test_resolve_marks_without_marks_is_identity() -> None:
    assert resolve_marks("[a]\nb=c\n", "ini") == "[a]\nb=c\n"


JSON_REFUSED = ['a"b', "a\\b", "a\nb", "a\x00b", {"k": 1}, ["x"]]


@pytest.mark.parametrize("value", JSON_REFUSED, ids=repr)
def test_json_values_that_would_break_out_are_refused(value: object) -> None:
    with pytest.raises(InputError, match="tojson"):
        _render("json", '{"a": "{{ v }}"}\n', value)


@pytest.mark.parametrize("value", ['a"b', "a\nb", {"k": [1, "x"]}, None, True, 3.5])
def test_json_values_through_tojson_are_taken(value: object) -> None:
    import json

    text = _render("json", '{"a": {{ v | tojson }}}\n', value)
    assert json.loads(text) == {"a": value}


def test_json_bare_numbers_and_booleans_are_json() -> None:
    text = render_template_file(
        '{"n": {{ n }}, "b": {{ b }}}', {"n": 3, "b": True}, "t", fmt="json"
    )
    assert text == '{"n": 3, "b": true}'


INFERRED = [
    ("/etc/yum.repos.d/docker-ce.repo", "repo"),
    ("/etc/dnf/dnf.conf", "ini"),
    ("/etc/yum.conf", "ini"),
    ("/etc/systemd/system/docker.service.d/http-proxy.conf", "systemd"),
    ("/etc/systemd/system/app.service", "systemd"),
    ("/etc/systemd/system/app.socket", "systemd"),
    ("/etc/systemd/system/app.timer", "systemd"),
    ("/usr/lib/systemd/system/app.service", "systemd"),
    ("/etc/systemd/journald.conf", "systemd"),
    ("/etc/systemd/journald.conf.d/10-size.conf", "systemd"),
    ("/etc/sysctl.d/99-docker.conf", "sysctl"),
    ("/etc/sysctl.conf", "sysctl"),
    ("/usr/lib/sysctl.d/50-default.conf", "sysctl"),
    ("/etc/docker/daemon.json", "json"),
    ("/opt/app/settings.ini", "ini"),
    ("//etc/systemd/system/x.service.d/y.conf", "systemd"),
    ("///etc/systemd/system/x.service", "systemd"),
    ("/etc/systemd/system/../system/x.service", "systemd"),
    ("/lib/systemd/system/app.service", "systemd"),
    ("/usr/local/lib/systemd/system/app.service", "systemd"),
    ("/usr/local/lib/systemd/system/app.service.d/override.conf", "systemd"),
    ("/run/systemd/system/app.timer", "systemd"),
    ("/run/systemd/system/app.service.d/x.conf", "systemd"),
    ("/etc/cron.d/backup", "lines"),
    ("/etc/sudoers", "lines"),
    ("/etc/sudoers.d/deploy", "lines"),
    ("/etc/fstab", "lines"),
    ("/etc/hosts", "lines"),
    ("/etc/environment", "lines"),
    ("/etc/modules-load.d/br_netfilter.conf", "lines"),
    ("/etc/security/limits.d/90-docker.conf", "lines"),
    ("/etc/sysconfig/docker", "lines"),
    ("/etc/profile.d/proxy.sh", "lines"),
    ("/etc/ssh/sshd_config.d/50-x.conf", "lines"),
    ("/etc/motd", "lines"),
    ("/etc/systemd/system/notes.txt", "lines"),
    ("/etc/sysctl.d/README", "lines"),
    ("//etc/hosts", "lines"),
    ("/etc/pki/tls/certs/ca.pem", "raw"),
    ("/etc/pki/tls/private/host.key", "raw"),
    ("/etc/pki/rpm-gpg/RPM-GPG-KEY-docker.asc", "raw"),
    ("/opt/app/notes.conf", "raw"),
    ("/srv/www/index.html", "raw"),
    ("/etcetera/x.conf", "raw"),
]


@pytest.mark.parametrize(("dest", "fmt"), INFERRED)
def test_the_format_is_inferred_from_the_destination(dest: str, fmt: str) -> None:
    assert infer_format(dest) == fmt


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
def test_line_problem_names_each_kind(char: str) -> None:
    problem = line_problem(f"ab{char}")
    assert problem is not None and "at character 3" in problem


def test_line_problem_takes_tabs_and_text() -> None:
    assert line_problem("a\tb ünï ✓ \"'%$\\") is None


# --- the tasks: template, copy, line, repo -----------------------------------------


def _task(type_name: str, args: dict, raw: dict | None = None, variables: dict | None = None):
    cls = task_types()[type_name]
    location = Location("roles/r/tasks/main.yml", 2)
    params = cls.coerce(args, location)
    context = TaskContext(location, None, variables or {}, raw_args=raw or args)
    return cls(params, context)


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
@pytest.mark.parametrize("arg", ["line", "section"])
def test_line_task_arguments_refuse_breaks(arg: str, char: str) -> None:
    args = {"path": "/etc/dnf/dnf.conf", "line": "proxy=x", "section": "main"}
    args[arg] = f"a{char}{SECRET}"
    raw = dict(args, **{arg: "{{ value }}"})
    with pytest.raises(InputError) as caught:
        _task("line", args, raw)
    assert f"`{arg}` (from `{{{{ value }}}}`) contains" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert caught.value.location == Location("roles/r/tasks/main.yml", 2)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("[evil]", "[section] header"),
        ("gpg check=0", "not a key"),
        ("justtext", "has no `=`"),
    ],
)
def test_line_task_into_an_ini_file_checks_the_key(line: str, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        _task("line", {"path": "/etc/dnf/dnf.conf", "line": line, "section": "main"})


def test_line_task_format_lines_writes_any_one_line() -> None:
    task = _task("line", {"path": "/etc/dnf/dnf.conf", "line": "[x]", "format": "lines"})
    assert task.params.line == "[x]"


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
@pytest.mark.parametrize("arg", ["id", "description", "baseurl", "gpgkey"])
def test_repo_task_arguments_refuse_breaks(arg: str, char: str) -> None:
    args = {"id": "internal", "baseurl": "http://m/", "description": "D", "gpgkey": "http://k"}
    args[arg] = f"a{char}{SECRET}"
    with pytest.raises(InputError) as caught:
        _task("repo", args)
    assert f"`{arg}`" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("repo_id", ["a b", "a]", "[evil", "", "a/b"])
def test_repo_id_must_be_a_repo_id(repo_id: str) -> None:
    with pytest.raises(InputError, match="not a repo id"):
        _task("repo", {"id": repo_id, "baseurl": "http://m/"})


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
def test_copy_content_values_are_checked_for_the_inferred_format(char: str) -> None:
    raw = {
        "dest": "/etc/systemd/system/app.service.d/x.conf",
        "content": "[Service]\nLimitNOFILE={{ n }}\n",
    }
    variables = {"n": f"1{char}ExecStartPre=/bin/true"}
    rendered = dict(raw, content=raw["content"].replace("{{ n }}", variables["n"]))
    with pytest.raises(InputError) as caught:
        _task("copy", rendered, raw, variables)
    text = str(caught.value)
    assert "copy.content (line 2)" in text and "`{{ n }}`" in text


def test_copy_content_is_escaped_for_systemd() -> None:
    raw = {
        "dest": "/etc/systemd/system/app.service.d/x.conf",
        "content": '[Service]\nEnvironment="P={{ p }}"\n',
    }
    task = _task("copy", dict(raw, content="ignored"), raw, {"p": "a%b"})
    assert task.content == b'[Service]\nEnvironment="P=a%%b"\n'
    assert task.params.content == '[Service]\nEnvironment="P=a%%b"\n'


def test_copy_content_that_is_one_expression_is_the_whole_file() -> None:
    raw = {"dest": "/etc/systemd/system/app.service", "content": "{{ unit }}"}
    unit = "[Unit]\nDescription=x\n"
    task = _task("copy", dict(raw, content=unit), raw, {"unit": unit})
    assert task.content == unit.encode()


def test_copy_format_raw_opts_out() -> None:
    raw = {"dest": "/etc/sysctl.d/x.conf", "content": "a={{ v }}\n", "format": "raw"}
    task = _task("copy", dict(raw, content="a=1\nb=2\n"), raw, {"v": "1\nb=2"})
    assert task.content == b"a=1\nb=2\n"


# --- the docker_engine role's drop-in ---------------------------------------------


DROP_IN = ROLES / "docker_engine" / "templates" / "http-proxy.conf.j2"


def _drop_in(**values: str) -> str:
    variables = {"docker_http_proxy": "", "docker_https_proxy": "", "docker_no_proxy": ""}
    variables.update(values)
    return render_template_file(DROP_IN.read_text(), variables, str(DROP_IN), fmt="systemd")


@pytest.mark.parametrize("char", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
@pytest.mark.parametrize("name", ["docker_http_proxy", "docker_https_proxy", "docker_no_proxy"])
def test_docker_drop_in_refuses_a_break_naming_the_variable(name: str, char: str) -> None:
    values = {"docker_http_proxy": "http://p:3128", name: f"x{char}ExecStartPre=/bin/touch /p"}
    with pytest.raises(InputError) as caught:
        _drop_in(**values)
    assert f"`{{{{ {name} }}}}`" in str(caught.value)
    assert str(caught.value).startswith(f"{DROP_IN}:")


@pytest.mark.parametrize(
    "proxy",
    ["http://u:p%41ss@p:3128", 'http://u:"q"@p', "http://u:a\\b@p", 'x" "LD_PRELOAD=/e.so', "a b"],
)
def test_docker_drop_in_keeps_each_value_one_assignment(proxy: str) -> None:
    text = _drop_in(docker_http_proxy=proxy, docker_https_proxy="https://h", docker_no_proxy="l")
    assert parse_systemd_environment(text) == {
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": "https://h",
        "NO_PROXY": "l",
    }


def test_docker_engine_role_declares_the_drop_in_systemd() -> None:
    tasks = (ROLES / "docker_engine" / "tasks" / "main.yml").read_text()
    assert "src: http-proxy.conf.j2" in tasks and "format: systemd" in tasks
    assert "replace('%'" not in tasks, "escaping by hand would escape twice"


# --- a small parser of systemd assignments (shared with the fuzz test) -----------------


def parse_systemd_environment(text: str) -> dict[str, str]:
    """The environment that systemd reads from `Environment=` lines (quotes, C escapes, %%)."""
    env: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.startswith("Environment="):
            continue
        for word in systemd_words(line[len("Environment=") :]):
            key, _, value = word.partition("=")
            env[key] = value.replace("%%", "%")
    return env


def systemd_words(text: str) -> list[str]:
    """Words as systemd's extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) splits them."""
    escapes = {"n": "\n", "t": "\t", "s": " ", "\\": "\\", '"': '"', "'": "'"}
    words: list[str] = []
    word: list[str] | None = None
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            word = word if word is not None else []
            word.append(escapes.get(text[index + 1], text[index + 1]))
            index += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            else:
                word.append(char)  # type: ignore[union-attr]
        elif char in "\"'":
            quote = char
            word = word if word is not None else []
        elif char in " \t":
            if word is not None:
                words.append("".join(word))
            word = None
        else:
            word = word if word is not None else []
            word.append(char)
        index += 1
    if quote:
        raise ValueError("unterminated quote")
    if word is not None:
        words.append("".join(word))
    return words


def test_the_systemd_word_parser_itself() -> None:
    assert systemd_words('"A=1 2" B=3 "C=\\"x\\""') == ["A=1 2", "B=3", 'C="x"']
    with pytest.raises(ValueError):
        systemd_words('"A=1')


def test_an_ini_value_parses_back_to_itself() -> None:
    text = _render("repo", "[r]\nname=R\nbaseurl={{ v }}\ngpgcheck=1\n", "http://m/ x=1 [y]")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert dict(parser["r"]) == {"name": "R", "baseurl": "http://m/ x=1 [y]", "gpgcheck": "1"}


# --- the line task converges whatever separators the file holds --------------------------

OTHER_SEPARATORS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize(
    "char", OTHER_SEPARATORS, ids=[f"U+{ord(c):04X}" for c in OTHER_SEPARATORS]
)
def test_edit_lines_keeps_other_separators_and_converges(char: str) -> None:
    from provision.tasks.line import edit_lines

    before = f"[main]\nnote=a{char}b\nproxy=old\n"
    after = edit_lines(before, "proxy=new", r"^proxy=", "present", "main")
    assert after == f"[main]\nnote=a{char}b\nproxy=new\n"
    assert edit_lines(after, "proxy=new", r"^proxy=", "present", "main") == after


def test_edit_lines_on_crlf_keeps_crlf_and_converges() -> None:
    from provision.tasks.line import edit_lines

    after = edit_lines("[main]\r\nproxy=old\r\n", "proxy=new", r"^proxy=", "present", "main")
    assert after == "[main]\r\nproxy=new\r\n"
    assert edit_lines(after, "proxy=new", r"^proxy=", "present", "main") == after
    present = "[main]\r\nproxy=new\r\n"
    assert edit_lines(present, "proxy=new", None, "present", "main") == present
    mixed = "[main]\nnote=a\r\nproxy=old\n"
    assert edit_lines(mixed, "proxy=new", r"^proxy=", "present", "main") == (
        "[main]\nnote=a\r\nproxy=new\n"
    )
    added = edit_lines("[main]\r\nx=1\r\n", "y=2", None, "present", "main")
    assert added == "[main]\r\nx=1\r\ny=2\r\n"
    removed = edit_lines("[main]\r\nx=1\r\ny=2\r\n", None, "^y=", "absent", "main")
    assert removed == "[main]\r\nx=1\r\n"


FILTER_BLOCK_FORMATS = ["lines", "ini", "repo", "systemd", "sysctl", "json"]
INJECT = 'x"\nExecStartPre=/bin/touch /tmp/PWN\n#'
FILTER_BLOCKS = {
    "filter": '[Service]\n{% filter replace("Z", v) %}Environment="P=Z"{% endfilter %}\n',
    "filter-upper": "[Service]\n\n{% filter upper %}x={{ v }}{% endfilter %}\n",
    "set-filter": '[Service]\n{% set x | replace("Z", v) %}Environment=Z{% endset %}{{ x }}\n',
}


@pytest.mark.parametrize("fmt", FILTER_BLOCK_FORMATS)
@pytest.mark.parametrize("case", list(FILTER_BLOCKS))
def test_a_filter_block_is_refused_in_every_checked_format(fmt: str, case: str) -> None:
    source = FILTER_BLOCKS[case]
    line = 3 if case == "filter-upper" else 2
    with pytest.raises(InputError) as err:
        render_template_file(source, {"v": INJECT}, "t.j2", fmt=fmt)
    assert err.value.location == Location("t.j2", line)
    assert "t.j2" in str(err.value) and "{% filter %}" in str(err.value)
    assert "{{ value | filter }}" in str(err.value.hint)
    assert "PWN" not in str(err.value)


@pytest.mark.parametrize("fmt", FILTER_BLOCK_FORMATS)
def test_a_filter_block_in_copy_content_names_the_task(fmt: str) -> None:
    where = Location("roles/r/tasks/main.yml", 7)
    with pytest.raises(InputError) as err:
        render_template_file(
            FILTER_BLOCKS["filter"], {"v": "x"}, "t", what="content", fmt=fmt, where=where
        )
    assert err.value.location == where
    assert "(line 2)" in str(err.value)


def test_a_filter_block_is_fine_in_raw() -> None:
    out = render_template_file(FILTER_BLOCKS["filter"], {"v": "a\nb"}, "t.j2", fmt="raw")
    assert out == '[Service]\nEnvironment="P=a\nb"\n'


MACRO_SOURCES = {
    "macro": "[Service]\n{% macro m(a) %}Environment={{ a }}{% endmacro %}{{ m(v) }}\n",
    "call": "[Service]\n{% macro m() %}E={{ caller() }}{% endmacro %}"
    "{% call m() %}{{ v }}{% endcall %}\n",
    "set-block": "[Service]\n{% set x %}Environment={{ v }}{% endset %}{{ x }}\n",
}


@pytest.mark.parametrize("fmt", FILTER_BLOCK_FORMATS)
@pytest.mark.parametrize("case", list(MACRO_SOURCES))
def test_macro_call_and_set_block_output_cannot_add_a_line(fmt: str, case: str) -> None:
    with pytest.raises(InputError) as err:
        render_template_file(MACRO_SOURCES[case], {"v": INJECT}, "t.j2", fmt=fmt)
    assert err.value.location == Location("t.j2", 2)
    assert "PWN" not in str(err.value)
