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

import argparse
import sys
from pathlib import Path

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
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end < start:
        raise ValueError(f"{DOC} has no generated part: put {BEGIN!r} and {END!r} around it")
    return text[: start + len(BEGIN)] + "\n\n" + generated() + "\n\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provision.audit.docgen")
    parser.add_argument("path", nargs="?", type=Path, default=DOC)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the file in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    options = parser.parse_args(argv)
    text = options.path.read_bytes().decode("utf-8")
    fresh = render(text)
    if options.write:
        if fresh != text:
            options.path.write_bytes(fresh.encode("utf-8"))
        return 0
    if options.check:
        if fresh != text:
            print(f"{options.path} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
