"""docs/ansible.md's module table, generated from the module declarations.

python -m provision.ansible.docgen --write docs/ansible.md   # regenerate in place
python -m provision.ansible.docgen --check docs/ansible.md   # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provision.ansible.modules import MODULES
from provision.ansible.modules.spec import Module

DOC = Path("docs/ansible.md")
BEGIN = (
    "<!-- generated from src/provision/ansible/modules/*.py: do not edit here; run"
    " `python -m provision.ansible.docgen --write docs/ansible.md` -->"
)
END = "<!-- end of generated module table -->"


def _accepted(module: Module) -> str:
    parts = []
    for a in module.args:
        if a.refused:
            continue
        text = f"`{a.name}`"
        if a.aliases:
            text += " (" + ", ".join(f"`{x}`" for x in a.aliases) + ")"
        if a.restricted:
            only = a.only
            shown = str(only).lower() if isinstance(only, bool) else str(only).replace("\n", "\\n")
            text += f" only `{shown}`"
        parts.append(text)
    return ", ".join(parts)


def _refused(module: Module) -> str:
    return ", ".join(f"`{a.name}`" for a in module.args if a.refused) or "—"


def table() -> str:
    rows = [
        "| module | becomes | accepted arguments | refused arguments | differences from Ansible |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(MODULES):
        m = MODULES[name]
        target = "`directory` / `file`" if m.route is not None else f"`{m.target}`"
        doc = m.doc.replace("|", "\\|") or "—"
        rows.append(f"| `{m.fqcn}` | {target} | {_accepted(m)} | {_refused(m)} | {doc} |")
    return "\n".join(rows)


def render(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end < start:
        raise ValueError(f"{DOC} has no generated part: put {BEGIN!r} and {END!r} around it")
    return text[: start + len(BEGIN)] + "\n\n" + table() + "\n\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provision.ansible.docgen")
    parser.add_argument("path", nargs="?", type=Path, default=DOC)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    options = parser.parse_args(argv)
    text = options.path.read_text(encoding="utf-8")
    fresh = render(text)
    if options.write:
        if fresh != text:
            options.path.write_text(fresh, encoding="utf-8")
        return 0
    if options.check:
        if fresh != text:
            print(f"{options.path} is stale: run python -m provision.ansible.docgen --write")
            return 1
        return 0
    sys.stdout.write(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
