"""docs/audit.md's table of checks, generated from the audit's table (checks.CHECKS).

Between the markers: one table per section (host, daemon, files), a row per check with
its id, level, scored or manual, title, how provision checks it, the remedy, and the
variable of this project's roles that applies it. Everything outside the markers is
hand-written and left as it is.

    python -m provision.audit.docgen --write docs/audit.md   # regenerate in place
    python -m provision.audit.docgen --check docs/audit.md   # exit 1 when it is stale
    python -m provision.audit.docgen docs/audit.md           # print the regenerated file
"""

from __future__ import annotations

import sys
from pathlib import Path

from provision import docsection
from provision.audit.checks import CHECKS, Check

DOC = Path("docs/audit.md")
COMMAND = f"python -m provision.audit.docgen --write {DOC}"
BEGIN = (
    "<!-- generated from the audit's table (src/provision/audit/checks.py): do not edit"
    f" here; edit the table, then run `{COMMAND}` -->"
)
END = "<!-- end of generated checks -->"
SECTIONS = {
    "1": "1 Host configuration",
    "2": "2 Docker daemon configuration",
    "3": "3 Docker daemon configuration files",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(check: Check) -> str:
    kind = "scored" if check.scored else "manual"
    cells = [
        f"**{check.id}**",
        str(check.level),
        kind,
        check.title,
        check.how,
        check.remedy,
        check.variable,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def generated() -> str:
    """The text between the markers."""
    parts = [f"{len(CHECKS)} checks, {sum(c.scored for c in CHECKS)} of them scored."]
    for section, heading in SECTIONS.items():
        rows = [
            f"### {heading}",
            "",
            "| id | level | kind | title | how provision checks it | remedy | variable |",
            "|---|---|---|---|---|---|---|",
        ]
        rows += [row(c) for c in CHECKS if c.section == section]
        parts.append("\n".join(rows))
    unknown = sorted({c.section for c in CHECKS} - set(SECTIONS))
    if unknown:
        raise ValueError(f"checks in sections without a heading: {unknown}")
    return "\n\n".join(parts)


def render(text: str) -> str:
    """The document with its generated part brought up to date."""
    return docsection.splice(text, BEGIN, END, generated(), DOC)


def main(argv: list[str] | None = None) -> int:
    return docsection.main(argv, "provision.audit.docgen", DOC, COMMAND, render)


if __name__ == "__main__":
    sys.exit(main())
