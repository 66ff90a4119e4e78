"""`provision lint --ansible PATH`: which tasks of an Ansible role or playbook run as
they are, and for the others the Ansible feature, its file:line and what to write
instead. Reads files only; no inventory, no host."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from provision.ansible.jinjacheck import problems_in, task_problems
from provision.ansible.modules import ELSEWHERE, canonical, module_of, unsupported
from provision.ansible.modules.spec import Call, translate_names
from provision.errors import InputError, Location, ProvisionError
from provision.project.yamlfile import load_yaml, where_of

# Ansible task keywords with no counterpart here, and what to write instead.
KEYWORD_HINTS = {
    "async": "run the task synchronously (provision has no background tasks)",
    "poll": "run the task synchronously",
    "until": "a read-only check (assert) after the change; provision does not retry",
    "retries": "remove it (with `until`)",
    "delay": "remove it (with `until`)",
    "delegate_to": "only `delegate_to: localhost` for controller-side steps",
    "delegate_facts": "not supported",
    "local_action": "a task with `delegate_to: localhost`",
    "strategy": "provision runs every host in parallel; remove it",
    "serial": "rolling batches are a command-line option of provision",
    "throttle": "remove it",
    "any_errors_fatal": "remove it: a failed host stops only itself",
    "max_fail_percentage": "remove it",
    "debugger": "remove it",
    "connection": "set the connection in the inventory",
    "args": "write the arguments under the module",
    "no_log": "`secret: true` (its values are masked everywhere)",
    "diff": "`provision plan` always shows diffs",
    "module_defaults": "give the arguments in each task",
    "collections": "write modules by their full name (ansible.builtin.X)",
    "with_first_found": "name the file",
    "with_fileglob": "list the files",
}
PLAY_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
BLOCK_KEYS = ("block", "rescue", "always")


@dataclass
class Finding:
    """One task: runs as it is (`problems` empty), or what must change."""

    location: Location
    name: str
    module: str
    becomes: str
    problems: list[tuple[str, str]]  # (feature and what is wrong, what to write instead)


def _task_keys() -> frozenset[str]:
    """The task keywords this build of provision accepts."""
    from provision.project import compile as compile_module

    return frozenset((*compile_module.TASK_KEYS, *compile_module.BLOCK_KEYS))


def _native_types() -> dict[str, Any]:
    from provision.tasks.base import task_types

    return task_types()


def lint_task(task: Any, where: Location) -> Finding:
    """What it takes for one task (not a block) to run here."""
    if not isinstance(task, dict):
        return Finding(where, "?", "", "", [("a task must be a mapping", "")])
    keys = _task_keys()
    natives = _native_types()
    name = str(task.get("name") or "")
    candidates = [k for k in task if isinstance(k, str) and k not in keys]
    modules = [k for k in candidates if k in natives or canonical(k) or "." in k]
    if not modules:
        modules = [k for k in candidates if k not in KEYWORD_HINTS and k not in BLOCK_KEYS][:1]
    problems: list[tuple[str, str]] = []
    module = modules[0] if modules else ""
    becomes = ""
    for key in candidates:
        if key == module or key in BLOCK_KEYS:
            continue
        key_where = where_of(task, key, where.file)
        hint = KEYWORD_HINTS.get(key, "")
        if key.startswith("with_") and not hint:
            hint = "`loop:` over the same list"
        problems.append((f"{key_where}: task keyword `{key}` is not supported", hint))
    problems += task_problems(task, where, skip=BLOCK_KEYS)
    if not module:
        if not any(k in task for k in BLOCK_KEYS):
            problems.append((f"{where}: the task names no module", ""))
        return Finding(where, name, "", "", problems)
    module_where = where_of(task, module, where.file)
    translated = module_of(module)
    short = canonical(module)
    if translated is not None and not (module in natives and _native_fits(module, task)):
        lines = getattr(task[module], "key_lines", None) or {}
        try:
            call = Call(translated, module, module_where)
            translate_names(call, task[module], lines)
            route = translated.route
            becomes = route(task[module], call) if route else translated.target
        except InputError as exc:
            problems.append((str(exc).split("\n")[0], exc.hint or ""))
    elif module in natives:
        becomes = module
    elif short in ELSEWHERE:
        becomes = short  # a keyword of the run (compile.py), or a native type
        if short == "meta" and task[module] != "flush_handlers":
            problems.append(
                (
                    f"{module_where}: `meta: {task[module]}` is not supported",
                    "only `meta: flush_handlers`",
                )
            )
    else:
        exc = unsupported(module, module_where)
        message = str(exc).split("\n")[0]
        if "." not in module:
            message = f"{module_where}: unknown module or keyword `{module}`"
        problems.append((message, exc.hint or ""))
    return Finding(where, name, module, becomes, problems)


def _native_fits(key: str, task: dict[str, Any]) -> bool:
    from provision.ansible.modules import _only_ansible_fits

    return not _only_ansible_fits(_native_types()[key], key, task, _native_types())


INCLUDE_TASKS = ("include_tasks", "import_tasks")
INCLUDE_ROLES = ("include_role", "import_role")
_COLLECTIONS = ("ansible.builtin.", "ansible.legacy.")


def _short(key: Any) -> str:
    text = str(key)
    for prefix in _COLLECTIONS:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _static(name: Any) -> str | None:
    """A file or role name written without Jinja (one that can be followed), else None."""
    if not isinstance(name, str) or not name.strip() or "{{" in name or "{%" in name:
        return None
    return name.strip()


def _argument(value: Any, key: str) -> Any:
    """`key` of a module's arguments: a mapping's, or `key=value` in its one-line form."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, str):
        for word in value.split():
            name, equals, text = word.partition("=")
            if equals and name == key:
                return text.strip("'\"")
    return None


def _role_of(file: Path) -> Path | None:
    """The role folder a task file belongs to (`ROLE/tasks/...` or `ROLE/handlers/...`)."""
    for parent in file.parents:
        if parent.name in ("tasks", "handlers") and (parent.parent / "tasks").is_dir():
            return parent.parent
    return None


@dataclass
class _Walk:
    """One lint run: task files and templates are each read once, where first met;
    static `include_tasks`/`import_tasks` files, `include_role`/`import_role` roles and
    `template` sources are followed, so their problems carry their own file:line."""

    base: Path  # the playbook's (or the task file's) folder
    findings: list[Finding]
    seen: set[Path]

    def task_file(self, path: Path) -> None:
        key = path.resolve()
        if key in self.seen:
            return
        self.seen.add(key)
        self.tasks(load_yaml(path, "task file"), path)

    def tasks(self, tasks: Any, file: Path) -> None:
        """Every task of a task list, blocks entered (the block itself is checked too)."""
        if tasks is None:
            return
        if not isinstance(tasks, list):
            self.findings.append(
                Finding(Location(str(file)), "?", "", "", [("a task list must be a list", "")])
            )
            return
        for index, task in enumerate(tasks):
            where = where_of(tasks, index, str(file))
            if isinstance(task, dict) and any(k in task for k in BLOCK_KEYS):
                keys = _task_keys()
                finding = lint_task(task, where)
                for key in BLOCK_KEYS:
                    if key in task and key not in keys:
                        finding.problems.insert(
                            0, (f"{where_of(task, key, str(file))}: `{key}` is not supported", "")
                        )
                finding.module = "block"
                self.findings.append(finding)
                for key in BLOCK_KEYS:
                    self.tasks(task.get(key), file)
            else:
                finding = lint_task(task, where)
                self.findings.append(finding)
                if isinstance(task, dict):
                    self.follow(task, finding, file)

    def follow(self, task: dict[str, Any], finding: Finding, file: Path) -> None:
        """The files a task names: an included task file, a role, a template."""
        for key, value in task.items():
            short = _short(key)
            at = where_of(task, key, str(file))
            if short in INCLUDE_TASKS:
                name = _static(value if isinstance(value, str) else _argument(value, "file"))
                if name is None:
                    continue
                found = self.find(name, self.task_folders(file))
                if found is None:
                    finding.problems.append(
                        (f"{at}: `{short}` names {name!r}, which is not found", "")
                    )
                else:
                    self.task_file(found)
            elif short in INCLUDE_ROLES:
                name = _static(_argument(value, "name"))
                if name is not None:
                    role = self.find_role(name, file)
                    if role is None:
                        finding.problems.append(
                            (f"{at}: `{short}` names role {name!r}, which is not found", "")
                        )
                    else:
                        self.role(role)
            elif short == "template":
                name = _static(_argument(value, "src"))
                if name is None:
                    continue
                found = self.find(name, self.template_folders(file))
                if found is None:
                    finding.problems.append(
                        (f"{at}: template {name!r} is not found", "put it in the role's templates/")
                    )
                else:
                    self.template(found)

    def task_folders(self, file: Path) -> list[Path]:
        role = _role_of(file)
        return [file.parent, *([role / "tasks"] if role else []), self.base]

    def template_folders(self, file: Path) -> list[Path]:
        role = _role_of(file)
        in_role = [role / "templates", role] if role else []
        return [
            *in_role,
            file.parent / "templates",
            file.parent,
            self.base / "templates",
            self.base,
        ]

    @staticmethod
    def find(name: str, folders: list[Path]) -> Path | None:
        for folder in folders:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        return None

    def find_role(self, name: str, file: Path | None = None) -> Path | None:
        own = _role_of(file) if file is not None else None
        bases = [self.base / "roles", self.base.parent / "roles", Path("roles")]
        if own is not None:
            bases.insert(0, own.parent)
        for base in bases:
            if (base / name).is_dir():
                return base / name
        return None

    def role(self, role: Path) -> None:
        for file in _task_files(role):
            self.task_file(file)
        templates = role / "templates"
        if templates.is_dir():
            for path in sorted(p for p in templates.rglob("*") if p.is_file()):
                self.template(path)

    def template(self, path: Path) -> None:
        key = path.resolve()
        if key in self.seen:
            return
        self.seen.add(key)
        where = Location(str(path), 1)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems = [(f"{where}: template cannot be read ({exc.__class__.__name__})", "")]
        else:
            problems = problems_in(text, where, expression=False, whole_file=True)
        self.findings.append(Finding(where, f"template {path.name}", TEMPLATE_FILE, "", problems))


TEMPLATE_FILE = "template file"


def walk(tasks: Any, file: str) -> Iterator[Finding]:
    """Every task of a task list, blocks entered, static includes and templates followed."""
    run = _Walk(Path(file).parent, [], set())
    run.tasks(tasks, Path(file))
    yield from run.findings


def _task_files(role: Path) -> list[Path]:
    files = []
    for folder in ("tasks", "handlers"):
        base = role / folder
        if base.is_dir():
            files += sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml"))
    return files


def lint_path(path: Path) -> list[Finding]:
    """A role folder (its tasks/, handlers/ and templates/), a playbook, or a task file;
    static includes, roles and templates they name are followed."""
    if path.is_dir():
        if not _task_files(path):
            raise InputError(f"{path} has no tasks/ or handlers/ YAML files", Location(str(path)))
        run = _Walk(path.parent, [], set())
        run.role(path)
        return run.findings
    run = _Walk(path.parent, [], set())
    data = load_yaml(path, "playbook")
    if (
        isinstance(data, list)
        and data
        and all(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data)
    ):
        for play in data:
            _lint_play(play, path, run)
        return run.findings
    run.seen.add(path.resolve())
    run.tasks(data, path)
    return run.findings


def _lint_play(play: dict[str, Any], path: Path, run: _Walk) -> None:
    findings = run.findings
    where = where_of(play, None, str(path))
    if "import_playbook" in play:
        findings.append(
            Finding(
                where,
                "",
                "import_playbook",
                "",
                [
                    (
                        f"{where}: `import_playbook` is not supported",
                        "run each playbook, or merge them",
                    )
                ],
            )
        )
        return
    from provision.project.playbook import PLAY_KEYS

    for key in play:
        if key not in PLAY_KEYS and key not in PLAY_SECTIONS:
            findings.append(
                Finding(
                    where_of(play, key, str(path)),
                    f"play {play.get('name', '')}",
                    "",
                    "",
                    [
                        (
                            f"{where_of(play, key, str(path))}: play keyword `{key}` is not"
                            " supported",
                            KEYWORD_HINTS.get(key, ""),
                        )
                    ],
                )
            )
    for section in PLAY_SECTIONS:
        run.tasks(play.get(section), path)
    for entry in play.get("roles") or []:
        name = _static(entry.get("role") or entry.get("name") if isinstance(entry, dict) else entry)
        if name is not None:
            role = run.find_role(name)
            if role is not None:
                run.role(role)


def report(findings: list[Finding]) -> tuple[str, int]:
    lines = []
    templates = [f for f in findings if f.module == TEMPLATE_FILE]
    findings = [f for f in findings if f.module != TEMPLATE_FILE] + templates
    for f in findings:
        label = f.name or f.module or "task"
        if not f.problems:
            via = f" ({f.module} → {f.becomes})" if f.becomes and f.becomes != f.module else ""
            lines.append(f"ok      {f.location}  {label}{via}")
            continue
        lines.append(f"change  {f.location}  {label}")
        for problem, hint in f.problems:
            lines.append(f"          {problem}")
            if hint:
                lines.append(f"          instead: {hint}")
    tasks = [f for f in findings if f.module != TEMPLATE_FILE]
    need = sum(1 for f in tasks if f.problems)
    summary = f"{len(tasks)} tasks: {len(tasks) - need} run as they are, {need} need a change"
    bad_templates = sum(1 for f in templates if f.problems)
    if templates:
        summary += (
            f"; {len(templates)} templates: {len(templates) - bad_templates} render as they "
            f"are, {bad_templates} need a change"
        )
    lines.append(summary)
    return "\n".join(lines), (1 if need or bad_templates else 0)


@click.command()
@click.option(
    "--ansible",
    "path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="An Ansible role folder, playbook or task file.",
)
def lint(path: Path) -> None:
    """List which tasks of an Ansible role or playbook run as they are (exit 0 when all do)."""
    try:
        text, code = report(lint_path(path))
    except ProvisionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(text)
    sys.exit(code)
