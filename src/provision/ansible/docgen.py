"""docs/ansible.md's module table, generated from the module declarations.

python -m provision.ansible.docgen --write docs/ansible.md   # regenerate in place
python -m provision.ansible.docgen --check docs/ansible.md   # exit 1 when it is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from provision import docsection
from provision.ansible.modules import MODULES
from provision.ansible.modules.spec import Module

DOC = Path("docs/ansible.md")
BEGIN = (
    "<!-- generated from src/provision/ansible/modules/*.py: do not edit here; run"
    " `python -m provision.ansible.docgen --write docs/ansible.md` -->"
)
END = "<!-- end of generated module table -->"
COMMAND = "python -m provision.ansible.docgen --write"


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
    """The document with its generated part brought up to date."""
    return docsection.splice(text, BEGIN, END, table(), DOC)


def main(argv: list[str] | None = None) -> int:
    return docsection.main(
        argv, "provision.ansible.docgen", DOC, "python -m provision.ansible.docgen --write", render
    )


if __name__ == "__main__":
    sys.exit(main())
