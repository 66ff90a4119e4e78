"""Where a `{{ value }}` may stand in a shell string: tables of accepted and refused places.

Accepted: the value is (part of) an unquoted word, and the rendered command, run by `sh`
and `bash`, gives it to the program as exactly the expected word(s). Refused: an
InputError that names the argument, the expression and the shell context, whatever the
value, before anything runs.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from provision.errors import InputError, Location
from provision.project import shellsafe
from provision.project.templating import render_string

EVIL = "x'; touch /tmp/provision-pwned-shellsafe; echo '\"$(id)`id`\n#\\"
VARS = {"v": EVIL, "w": "plain", "n": 3, "items": ["a b", "c;d"], "d": "/srv/app"}
SHELLS = [s for s in ("sh", "bash", "dash") if shutil.which(s)]
WHERE = Location("roles/r/tasks/main.yml", 7)


def render(source: str, variables: dict | None = None) -> str:
    return render_string(source, VARIABLES_OR(variables), WHERE, "command.unless", True)


def VARIABLES_OR(variables: dict | None) -> dict:  # noqa: N802 - reads as a constant
    return VARS if variables is None else variables


def words(script: str, shell: str) -> list[str]:
    """The words `printf '%s\\0'` prints when `script` (which calls it) runs in `shell`."""
    done = subprocess.run(
        [shell, "-c", script],
        capture_output=True,
        timeout=10,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, (script, done.stderr)
    return done.stdout.decode().split("\0")[:-1]


# (template, the words printf must receive) - the value lands as (part of) one word
ACCEPTED = [
    ("printf '%s\\0' {{ v }}", [EVIL]),
    ("printf '%s\\0' {{v}}", [EVIL]),
    ("printf '%s\\0' x {{- v -}} y", ["x" + EVIL + "y"]),
    ("printf '%s\\0' pre{{ v }}post", [f"pre{EVIL}post"]),
    ("printf '%s\\0' --opt={{ v }}", [f"--opt={EVIL}"]),
    ("printf '%s\\0' {{ v }}.conf /x/{{ w }}", [f"{EVIL}.conf", "/x/plain"]),
    ("printf '%s\\0' {{ v }} {{ v }}", [EVIL, EVIL]),
    ("printf '%s\\0' {{ v | quote }}", [EVIL]),
    ("printf '%s\\0' {{ v | quote | quote }}", [EVIL]),
    ("printf '%s\\0' {{ v | upper | quote }}", [EVIL.upper()]),
    ("printf '%s\\0' {{ items }}", [str(["a b", "c;d"])]),
    ("printf '%s\\0' {{ items | join(' ') }}", ["a b c;d"]),
    ("printf '%s\\0' {{ n }} {{ n + 1 }}", ["3", "4"]),
    ("printf '%s\\0' {{ '' }}", [""]),
    ("printf '%s\\0' '{% raw %}{{ v }}{% endraw %}' {{ w }}", ["{{ v }}", "plain"]),
    ("printf '%s\\0' 'lit'{{ v }}\"lit\"", [f"lit{EVIL}lit"]),
    ("printf '%s\\0' $(printf %s {{ v }})", None),  # word splitting of $( ) is the author's
    ("printf '%s\\0' \"$(printf %s {{ v }})\"", [EVIL.rstrip("\n")]),
    ('printf \'%s\\0\' "$(printf %s "$(printf %s {{ v }})")"', [EVIL.rstrip("\n")]),
    ("if true; then printf '%s\\0' {{ v }}; fi", [EVIL]),
    ("for i in 1; do printf '%s\\0' {{ v }}; done", [EVIL]),
    ("case a in a) printf '%s\\0' {{ v }};; esac", [EVIL]),
    ("case {{ v }} in *) printf '%s\\0' {{ w }};; esac", ["plain"]),
    ("printf '%s\\0' \"$(case a in a) printf %s {{ v }};; esac)\"", [EVIL.rstrip("\n")]),
    ("true && printf '%s\\0' {{ v }} || false", [EVIL]),
    ("true | printf '%s\\0' {{ v }}", [EVIL]),
    ("{ printf '%s\\0' {{ v }}; }", [EVIL]),
    ("(printf '%s\\0' {{ v }})", [EVIL]),
    ("printf '%s\\0' {{ v }} 2>&1", [EVIL]),
    ("printf '%s\\0' {{ v }} >/dev/stdout", [EVIL]),
    ("cat <<'EOF'\nliteral $x\nEOF\nprintf '%s\\0' {{ v }}", ["literal $x\n" + EVIL]),
    ("printf '%s\\0' {{ v }} # a comment after it", [EVIL]),
    ("printf '%s\\0' a#{{ v }}", [f"a#{EVIL}"]),
    ("[ -n {{ v }} ] && printf '%s\\0' {{ w }}", ["plain"]),
    ("test {{ w }} = plain && printf '%s\\0' ok", ["ok"]),
    ("printf '%s\\0' {% for i in items %}{{ i }} {% endfor %}", ["a b", "c;d"]),
    ("{% if n > 1 %}printf '%s\\0' {{ v }}{% else %}false{% endif %}", [EVIL]),
    ("{% set x %}{{ v }}!{% endset %}printf '%s\\0' {{ x }}", [EVIL + "!"]),
    ("{% macro m(a) %}<{{ a }}>{% endmacro %}printf '%s\\0' {{ m(v) }}", [f"<{EVIL}>"]),
    ("printf '%s\\0' \\\n  {{ v }}", [EVIL]),
    ("printf '%s\\0' ~{{ w }}", ["~plain"]),
    ("printf '%s\\0' $HOME{{ w }}", None),
    ("printf '%s\\0' \"${x:-a}\"{{ w }}", ["aplain"]),
    ("printf '%s\\0' `echo a`{{ w }}", ["aplain"]),
    ("printf '%s\\0' $((1+2)){{ w }}", ["3plain"]),
]


# (template, context named in the error) - refused whatever the value
REFUSED = [
    # red-team round: contexts that execute a word's content
    ("2>/dev/null eval {{ v }}", "eval"),
    ("2>&1 eval {{ v }}", "eval"),
    (">/dev/null eval {{ v }}", "eval"),
    ("</dev/null let {{ v }}", "eval"),
    ('"eval" {{ v }}', "eval"),
    ("''eval {{ v }}", "eval"),
    ("'eval' {{ v }}", "eval"),
    ("e=eval; $e {{ v }}", "dyncommand"),
    ("$(echo eval) {{ v }}", "dyncommand"),
    ("command eval {{ v }}", "eval"),
    ("builtin eval {{ v }}", "eval"),
    ("exec eval {{ v }}", "eval"),
    ("env X=1 eval {{ v }}", "eval"),
    ("nohup eval {{ v }}", "eval"),
    ("nice -n 5 eval {{ v }}", "dyncommand"),
    ("sudo -u root eval {{ v }}", "dyncommand"),
    ("timeout -s KILL 5 eval {{ v }}", "dyncommand"),
    ("env -u NAME eval {{ v }}", "dyncommand"),
    ("exec -a name eval {{ v }}", "dyncommand"),
    ("sudo -n -u root cat {{ v }}", "dyncommand"),
    ("time eval {{ v }}", "eval"),
    ("timeout 5 eval {{ v }}", "eval"),
    ("sudo eval {{ v }}", "eval"),
    ("doas eval {{ v }}", "eval"),
    ("command builtin eval {{ v }}", "eval"),
    ("echo $[ {{ v }} ]", "arith"),
    ("x={{ v }}; true", "name"),
    ("x={{ v }} y={{ w }}; true", "name"),
    ("a[{{ v }}]=1", "name"),
    ("x+={{ v }}", "name"),
    ("declare x={{ v }}", "name"),
    ("declare -i x={{ v }}", "name"),
    ("typeset {{ v }}", "name"),
    ("local -a x={{ v }}", "name"),
    ("export X={{ v }}", "name"),
    ("readonly X={{ v }}", "name"),
    ("integer x={{ v }}", "name"),
    ("printf -v {{ v }} %s x", "name"),
    ("read {{ v }}", "name"),
    ("read -r x {{ v }}", "name"),
    ("unset a{{ v }}", "name"),
    ("[ -v {{ v }} ]", "name"),
    ("test -v {{ v }}", "name"),
    ("let {{ v }}", "eval"),
    ("(( {{ v }} ))", "arith"),
    ("grep -q '{{ v }}' /etc/f", "single"),
    ("grep -q 'a {{ v }} b' /etc/f", "single"),
    ("grep -q '{{ v | quote }}' /etc/f", "single"),
    ("echo '\n{{ v }}'", "single"),
    ('grep -q "{{ v }}" /etc/f', "double"),
    ('echo "a {{ v }} b"', "double"),
    ('echo "$(echo x)" "{{ v }}"', "double"),
    ('echo "\\"{{ v }}"', "double"),
    ('echo "${x}{{ v }}"', "double"),
    ("echo $'{{ v }}'", "ansi"),
    ('echo $"{{ v }}"', "double"),
    ("echo `cat {{ v }}`", "backtick"),
    ('echo "`cat {{ v }}`"', "backtick"),
    ("echo `echo \\`{{ v }}\\``", "backtick"),
    ("echo ${x:-{{ v }}}", "param"),
    ("echo ${x#{{ v }}}", "param"),
    ('echo "${x:-{{ v }}}"', "param"),
    ("echo ${x:-${y:-{{ v }}}}", "param"),
    ("echo $(( {{ n }} + 1 ))", "arith"),
    ('echo "$(( {{ n }} ))"', "arith"),
    ("(( {{ n }} > 1 ))", "arith"),
    ("# {{ v }}", "comment"),
    ("true # {{ v }}", "comment"),
    ("true\n# note {{ v }}\ntrue", "comment"),
    ("echo $(true # {{ v }}\n)", "comment"),
    ("cat <<EOF\n{{ v }}\nEOF", "heredoc"),
    ("cat <<'EOF'\n{{ v }}\nEOF", "heredoc"),
    ("cat <<-EOF\n\tx {{ v }}\n\tEOF", "heredoc"),
    ("cat <<A <<B\na\nA\n{{ v }}\nB", "heredoc"),
    ("cat <<EOF; echo\nx\n{{ v }}\nEOF", "heredoc"),
    ("x=$(cat <<EOF\n{{ v }}\nEOF\n)", "heredoc"),
    ("cat << {{ w }}\nplain\nplain", "heredoc-word"),
    ("cat <<E{{ w }}\nx\nEplain", "heredoc-word"),
    ("echo \\{{ v }}", "escaped"),
    ("echo a\\{{ v }}", "escaped"),
    ("echo ${{ v }}", "dollar"),
    ("echo a${{ v }}", "dollar"),
    ("[[ $x -eq {{ n }} ]]", "test"),
    ("[[ -f {{ d }} ]] && true", "test"),
    ("if [[ {{ w }} == x ]]; then true; fi", "test"),
    ("eval {{ v }}", "eval"),
    ("eval echo {{ v }}", "eval"),
    ("true; let x={{ n }}", "eval"),
    ("trap {{ v }} EXIT", "eval"),
    ("unset {{ w }}", "name"),
    ("declare {{ w }}=1", "name"),
    ("read -r {{ w }}", "name"),
    ("{% if n %}'{% endif %}{{ v }}{% if n %}'{% endif %}", "single"),
    ('{% for i in [1] %}"{% endfor %}{{ v }}"', "double"),
    ("{% if n %}#{% endif %} {{ v }}", "comment"),
    ("echo 'a\n#' {{ w }} '\n{{ v }}'", "single"),
]


@pytest.mark.parametrize(("source", "expected"), ACCEPTED, ids=[s for s, _ in ACCEPTED])
def test_accepted_value_arrives_as_the_expected_words(source: str, expected: list[str] | None):
    script = render(source)
    assert shellsafe.MARK_OPEN not in script and shellsafe.MARK_CLOSE not in script
    if expected is None:
        return
    for shell in SHELLS:
        assert words(script, shell) == expected, (shell, script)


@pytest.mark.parametrize(("source", "context"), REFUSED, ids=[s for s, _ in REFUSED])
@pytest.mark.parametrize("value", [EVIL, "plain", ""], ids=["evil", "plain", "empty"])
def test_refused_whatever_the_value(source: str, context: str, value: str):
    with pytest.raises(InputError) as caught:
        render(source, {**VARS, "v": value})
    message = str(caught.value)
    assert message.startswith("roles/r/tasks/main.yml:7: command.unless: `{{")
    assert shellsafe.describe(context) in message
    assert "argv form" in message and "Quoting rules" in message
    assert EVIL not in message


@pytest.mark.parametrize(("source", "context"), REFUSED, ids=[s for s, _ in REFUSED])
def test_lexer_names_the_context(source: str, context: str):
    marked = source
    for expr in ("{{ v }}", "{{ n }}", "{{ w }}", "{{ d }}", "{{ v | quote }}"):
        marked = marked.replace(expr, shellsafe.placeholder(0))
    if "{%" in marked:
        pytest.skip("control flow: only the rendered text can be lexed")
    contexts = {landing.context for landing in shellsafe.landings(marked)}
    assert context in contexts


def test_the_issue_example_is_refused_and_says_how_to_write_it():
    with pytest.raises(InputError) as caught:
        render("grep -q '{{ v }}' /etc/f", {"v": "x; touch /tmp/p; true"})
    text = str(caught.value)
    assert "single quotes" in text
    assert "`grep -q {{ v }} /etc/f`" in text
    assert "the value is quoted for you" in text


def test_the_unquoted_form_is_one_word():
    assert render("grep -q {{ v }} /etc/f", {"v": "x; touch /tmp/p; true"}) == (
        "grep -q 'x; touch /tmp/p; true' /etc/f"
    )


def test_error_names_the_line_inside_a_multi_line_command():
    with pytest.raises(InputError) as caught:
        render("set -e\ntrue\ncat <<EOF\n{{ v }}\nEOF\n")
    assert "`{{ v }}` (line 4 of the command) lands inside a here-document" in str(caught.value)


@pytest.mark.parametrize("value", ["a\x00b", "\x00"], ids=["inner-nul", "only-nul"])
def test_a_nul_character_is_refused(value: str):
    with pytest.raises(InputError, match="NUL character"):
        render("echo {{ v }}", {"v": value})


def test_filter_blocks_are_refused():
    with pytest.raises(InputError, match="filter"):
        render("{% filter replace('X', v) %}echo X{% endfilter %}")


def test_placeholder_characters_in_the_source_are_refused():
    with pytest.raises(InputError, match="U\\+E000"):
        render("echo \ue000:0\ue001 {{ w }}")


def test_placeholder_characters_in_a_value_are_only_text():
    value = "\ue000:0\ue001 \ue000 \ue0000\ue001"
    assert words(render("printf '%s\\0' {{ v }}", {"v": value}), "bash") == [value]


def test_undefined_variable_is_still_an_input_error():
    with pytest.raises(InputError, match="undefined variable: nope"):
        render("echo {{ nope }}")


def test_raw_blocks_keep_go_templates_literal():
    source = "docker info --format '{% raw %}{{.Driver}}{% endraw %}'"
    assert render(source) == "docker info --format '{{.Driver}}'"


def test_quote_filter_is_idempotent_in_shell_strings():
    once = render("echo {{ v | quote }}")
    assert once == render("echo {{ v }}") == render("echo {{ v | quote | quote }}")


def test_quote_filter_in_text_templates_still_quotes():
    assert render_string("{{ v | quote }}", {"v": "a b"}) == "'a b'"
