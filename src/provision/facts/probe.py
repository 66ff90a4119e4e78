"""The probe: all of a host's facts in ONE remote script, run concurrently, split by length."""

from __future__ import annotations

import secrets
from typing import Any

from provision.facts.base import Fact, FactError


def probe_script(facts: list[Fact]) -> tuple[str, str]:
    """(script, marker). Each fact runs in its own background job writing to a private
    temp dir; then every fact's exit code, output lengths and output are printed in order."""
    marker = "@@provision-" + secrets.token_hex(8)
    lines = [
        "LC_ALL=C; export LC_ALL",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH",
        "d=$(mktemp -d) || exit 97",
        "trap 'rm -rf \"$d\"' EXIT",
    ]
    quick = [i for i, f in enumerate(facts) if not f.slow]
    slow = [i for i, f in enumerate(facts) if f.slow]

    def job(index: int) -> str:
        return (
            f'( {facts[index].command()}\n) </dev/null >"$d/{index}.o" 2>"$d/{index}.e";'
            f' echo $? >"$d/{index}.r"'
        )

    for index in slow:
        lines.append(f"{{ {job(index)}; }} &")
    if quick:
        lines.append("{ " + "; ".join(job(i) for i in quick) + "; } &")
    lines.append("wait")
    # The answers, in order. One `wc -c` for every output's length and the shell's own
    # `read` for the exit codes: 1 process per fact (its `cat`) instead of 4 (cat, wc, wc,
    # cat), ~0.1 CPU-s less on the host for 20 facts. In a subshell in the temp dir, so
    # file names hold no space and what runs after the probe keeps its directory. A length
    # wc does not give (its line missing) is printed as "x", which parse_probe refuses.
    if not facts:
        return "\n".join(lines) + "\n", marker  # (no `wc` without files: it would read stdin)
    indices = " ".join(str(i) for i in range(len(facts)))
    files = " ".join(f"{i}.o {i}.e" for i in range(len(facts)))
    lines.append('( cd "$d" || exit 97')
    lines.append(f"set -- $(wc -c {files} 2>/dev/null)")
    lines.append(f"for i in {indices}; do")
    lines.append('  r=; read -r r <"$i.r"')
    lines.append('  if [ "$2" = "$i.o" ] && [ "$4" = "$i.e" ]; then o=$1 e=$3; shift 4;')
    lines.append("  else o=x e=x; fi")
    lines.append(f'  printf "{marker} %s %s %s %s\\n" "$i" "$r" "$o" "$e"; cat "$i.o" "$i.e"')
    lines.append("done )")
    return "\n".join(lines) + "\n", marker


def parse_probe(facts: list[Fact], marker: str, output: bytes) -> dict[Fact, Any]:
    """Split the probe's output and parse each fact; a garbled answer raises FactError."""
    values: dict[Fact, Any] = {}
    position = 0
    head = marker.encode() + b" "
    for index, fact in enumerate(facts):
        if output[position : position + len(head)] != head:
            raise FactError(f"probe output is garbled at fact {index} ({fact.describe()})")
        end_of_line = output.find(b"\n", position)
        fields = output[position + len(head) : end_of_line].split() if end_of_line > 0 else []
        if len(fields) != 4 or not all(f.isdigit() for f in fields) or int(fields[0]) != index:
            raise FactError(f"probe output is garbled at fact {index} ({fact.describe()})")
        rc, out_len, err_len = (int(x) for x in fields[1:])
        start = end_of_line + 1
        if start + out_len + err_len > len(output):
            raise FactError(f"probe output is cut short at fact {index} ({fact.describe()})")
        stdout = output[start : start + out_len]
        stderr = output[start + out_len : start + out_len + err_len]
        position = start + out_len + err_len
        values[fact] = fact.parse(rc, stdout, stderr)
    return values
