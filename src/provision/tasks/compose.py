"""`compose`: a Docker Compose project, brought up only when its rendered files, its
images or its running containers differ from what was brought up last.

The probe reads one fact per project (`ComposeFact`): the record this task wrote after
its last `docker compose up -d` (a hash of the rendered project, one hash per service,
the image id each service ran, the scale), the project's containers and the local
images. The plan compares the record with the project as rendered now, service by
service (`compare_services`, a pure function), so `plan` lists which services will be
created, recreated, scaled or started, and shows the diff of each compose file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, tail, text
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Diff,
    Disruption,
    Failed,
    HostState,
    NoOp,
    Outcome,
)
from provision.tasks import dockerproject
from provision.tasks.base import Assertion, TaskType, arg, verifies

RECORD_DIR = "/var/lib/provision/compose"
DEFAULT_FILE = "compose.yaml"
MAX_SCALE = 1000
MAX_FILES = 16

# Docker Compose's own rule for a project name (compose-spec: lowercase letters, digits,
# dashes and underscores, starting with a letter or digit).
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def project_name_problem(name: str) -> str | None:
    """Why `name` is not a Compose project name (None: it is)."""
    if PROJECT_NAME.fullmatch(name):
        return None
    shown = name if len(name) <= 80 else name[:80] + "..."
    return (
        f"project name {shown!r} is not valid: lowercase letters, digits, `-` and `_`,"
        " starting with a letter or digit, at most 63 characters"
    )


def file_name_problem(name: str) -> str | None:
    if FILE_NAME.fullmatch(name) and name not in (".", ".."):
        return None
    return (
        f"compose file name {name[:80]!r} is not valid: a plain file name in the project"
        " directory (letters, digits, `_.-`, not starting with `-` or `.`)"
    )


# ---------------------------------------------------------------- pure project logic


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _named(value: Any) -> list[str]:
    """The names a service's `networks`/`secrets`/`configs` refers to (list or mapping form)."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and "source" in item:
                names.append(str(item["source"]))
        return names
    return []


def _volume_names(value: Any) -> list[str]:
    """Named volumes a service mounts (`data:/var/lib/x`, `{type: volume, source: data}`)."""
    names = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            source = item.split(":", 1)[0] if ":" in item else ""
            if source and not source.startswith(("/", ".", "~", "$")):
                names.append(source)
        elif isinstance(item, dict) and item.get("type", "volume") == "volume":
            if item.get("source"):
                names.append(str(item["source"]))
    return names


def service_configs(docs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each service's configuration as one canonical string: its fragment in every file
    (in file order, so an override counts) plus the top-level networks, volumes, secrets
    and configs it refers to. Two projects whose string for a service is equal run that
    service identically; a differing string means Compose recreates it."""
    fragments: dict[str, list[Any]] = {}
    top: dict[str, dict[str, list[Any]]] = {
        k: {} for k in ("networks", "volumes", "secrets", "configs")
    }
    for index, doc in enumerate(docs):
        for name, service in (doc.get("services") or {}).items():
            fragments.setdefault(name, []).append([index, service])
        for kind, entries in top.items():
            for name, definition in (
                (doc.get(kind) or {}).items() if isinstance(doc.get(kind), dict) else ()
            ):
                entries.setdefault(str(name), []).append([index, definition])
    result = {}
    for name, parts in fragments.items():
        merged: dict[str, Any] = {}
        for _, service in parts:
            merged.update(service or {})
        uses = {
            "networks": _named(merged.get("networks")) or ["default"],
            "volumes": _volume_names(merged.get("volumes")),
            "secrets": _named(merged.get("secrets")),
            "configs": _named(merged.get("configs")),
        }
        refs = {
            kind: {n: top[kind].get(n) for n in sorted(set(names))} for kind, names in uses.items()
        }
        result[name] = _canon({"service": parts, "uses": refs})
    return result


def service_images(docs: Sequence[Mapping[str, Any]], project: str) -> dict[str, str]:
    """The image each service runs: its `image` (the last file that sets it wins), else
    the name Compose gives a built image (`PROJECT-SERVICE`); `:latest` when untagged."""
    images: dict[str, str] = {}
    for doc in docs:
        for name, service in (doc.get("services") or {}).items():
            image = (service or {}).get("image")
            if image is not None:
                images[name] = str(image)
            elif name not in images:
                images[name] = f"{project}-{name}"
    return {name: normal_image(image) for name, image in images.items()}


def normal_image(image: str) -> str:
    """`busybox` → `busybox:latest`; a digest or a tag is kept."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def wanted_counts(docs: Sequence[Mapping[str, Any]], scale: Mapping[str, int]) -> dict[str, int]:
    """How many containers each service should run: `scale`, else `deploy.replicas` or
    `scale:` in the file, else 1. A service under `profiles` runs none (Compose starts it
    only when its profile is asked for)."""
    counts: dict[str, int] = {}
    for doc in docs:
        for name, service in (doc.get("services") or {}).items():
            service = service or {}
            count = counts.get(name, 1)
            replicas = (
                (service.get("deploy") or {}).get("replicas")
                if isinstance(service.get("deploy"), dict)
                else None
            )
            for value in (service.get("scale"), replicas):
                if isinstance(value, int) and not isinstance(value, bool):
                    count = value
            if service.get("profiles"):
                count = 0
            counts[name] = count
    for name, count in scale.items():
        counts[name] = count
    return counts


@dataclass(frozen=True)
class ServiceAction:
    """What `up -d` does to one service, and why."""

    service: str
    action: str  # create, recreate, scale, start, remove
    reason: str

    def line(self) -> str:
        return f"{self.action} {self.service}: {self.reason}"


def compare_services(
    old: Mapping[str, str] | None,
    new: Mapping[str, str],
    old_images: Mapping[str, str],
    new_images: Mapping[str, str],
    old_scale: Mapping[str, int],
    new_scale: Mapping[str, int],
    running: Mapping[str, int],
) -> list[ServiceAction]:
    """Which services `docker compose up -d` creates, recreates, scales, starts or removes
    (as orphans), from the record of the last `up` (`old`: per-service configs, None when
    there was none), the project as rendered now, the image id each service had and has,
    the scale asked then and now, and the containers running now. Pure; sorted by service."""
    actions: list[ServiceAction] = []
    for name in sorted(set(new) | set(old or {})):
        if name not in new:
            actions.append(ServiceAction(name, "remove", "no longer in the project"))
            continue
        want = new_scale.get(name, 1)
        if old is None or name not in old:
            actions.append(ServiceAction(name, "create", "new service"))
        elif old[name] != new[name]:
            actions.append(ServiceAction(name, "recreate", "its configuration changed"))
        elif old_images.get(name) != new_images.get(name) and new_images.get(name):
            image = new_images[name]
            actions.append(ServiceAction(name, "recreate", f"its image changed ({image[:19]})"))
        elif old_scale.get(name, 1) != want:
            actions.append(
                ServiceAction(name, "scale", f"{old_scale.get(name, 1)} → {want} containers")
            )
        elif running.get(name, 0) != want:
            actions.append(
                ServiceAction(name, "start", f"{running.get(name, 0)} of {want} running")
            )
    return actions


def project_hash(files: Sequence[tuple[str, bytes]], scale: Mapping[str, int], extra: str) -> str:
    h = hashlib.sha256()
    for name, content in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    h.update(_canon(dict(scale)).encode() + b"\0" + extra.encode())
    return h.hexdigest()


# ---------------------------------------------------------------- the fact


@dataclass(frozen=True)
class ComposeState:
    """What the probe found: whether docker and `docker compose` are there and the engine
    runs, the record of the last `up` (None: none), the project's containers as
    (service, state) pairs, and the local images (REPO:TAG → id)."""

    docker: bool
    compose: bool = False
    engine: bool = False
    record: dict[str, Any] | None = None
    containers: tuple[tuple[str, str], ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)

    def running(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for service, state in self.containers:
            if state == "running":
                counts[service] = counts.get(service, 0) + 1
        return counts


_SECTIONS = ("record", "compose", "engine", "containers", "images")


@dataclass(frozen=True)
class ComposeFact(FactKind):
    """A compose project's record, containers and the local images (one probe command)."""

    kind = "compose"
    project: str
    slow: bool = True

    def command(self) -> str:
        label = shlex.quote(f"label=com.docker.compose.project={self.project}")
        return (
            dockerproject.record_probe(self.project, "compose")
            + "echo '@@compose'; docker compose version --short 2>/dev/null || true; "
            "systemctl is-active --quiet docker.service || exit 0; "
            "echo '@@engine'; "
            "echo '@@containers'; "
            f"timeout 20 docker ps -a --filter {label} "
            "--format '{{.Label \"com.docker.compose.service\"}}\t{{.State}}' || exit 3; "
            "echo '@@images'; "
            "timeout 20 docker image ls --no-trunc "
            "--format '{{.Repository}}:{{.Tag}}\t{{.ID}}' || exit 3"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> ComposeState:
        if rc == dockerproject.MISSING_TOOL:
            return ComposeState(False)
        if rc != 0:
            raise FactError(f"cannot read compose project {self.project}: {tail(stderr)}")
        sections, record = dockerproject.read_sections(
            stdout, _SECTIONS, f"compose project {self.project}"
        )
        containers = []
        for line in sections.get("containers", []):
            service, sep, state = line.partition("\t")
            if not sep:
                raise FactError(f"unexpected `docker ps` line: {line[:200]!r}")
            containers.append((service, state.strip()))
        images = {}
        for line in sections.get("images", []):
            name, sep, image_id = line.partition("\t")
            if sep and not name.startswith("<none>") and not name.endswith(":<none>"):
                images[name] = image_id.strip()
        return ComposeState(
            True,
            bool(sections.get("compose")),
            "engine" in sections,
            record,
            tuple(containers),
            images,
        )

    def describe(self) -> str:
        return f"compose project {self.project}"

    def case_value(self, case: CaseFacts) -> ComposeState:
        """`compose: {PROJECT: {record: {...} or absent, containers: {SERVICE: [STATE...]},
        images: {REPO:TAG: ID}, compose: false, engine: false}}`; `docker: false` at the
        top: no docker CLI. A project not listed: docker and compose there, engine running,
        nothing of the project."""
        if case.facts.get("docker") is False:
            return ComposeState(False)
        spec = case.section("compose").get(self.project) or {}
        containers = tuple(
            (service, state)
            for service, states in (spec.get("containers") or {}).items()
            for state in states
        )
        return ComposeState(
            True,
            spec.get("compose", True),
            spec.get("engine", True),
            spec.get("record"),
            containers,
            dict(spec.get("images") or {}),
        )


# ---------------------------------------------------------------- the task type


class Compose(TaskType):
    """`compose`: a Docker Compose project, `docker compose up -d` only when it changed

    The project's compose files live in `project_src` on the host. Each file is written
    from a template of the role (`templates: {FILE: TEMPLATE}`) or given inline
    (`content: {FILE: TEXT}`); a file in `files` given neither way is used as the host
    has it. After a successful `up -d` the task records what it brought up in
    `/var/lib/provision/compose/PROJECT.json` (a hash of the files and the scale, one
    per service, the image id of each service); the next run compares the project as
    rendered now with that record and with the containers running, and runs `up -d` only
    when a file, a service's image, the scale or the running containers differ. `plan`
    shows each file's diff and, per service, whether it is created, recreated (its
    configuration or image changed), scaled, started or removed. `state: absent` runs
    `docker compose down --remove-orphans` (volumes are kept) and forgets the record.
    Needs the `docker compose` plugin (package docker-compose-plugin) and a running
    engine; images must be pullable or present (`pull: never` for air-gapped hosts).
    """

    type_name = "compose"

    @dataclass(kw_only=True)
    class Params:
        project_src: str = arg(doc="the project directory on the host (absolute)")
        project_name: str | None = arg(
            None, doc="the Compose project name (default: the directory's name)"
        )
        files: list[str] = arg(
            [], doc="the compose files in `project_src`, in order (default: `compose.yaml`)"
        )
        templates: dict[str, str] = arg(
            {}, doc="`{FILE: TEMPLATE}`: a compose file rendered from the role's `templates/`"
        )
        content: dict[str, str] = arg({}, doc="`{FILE: TEXT}`: a compose file given inline")
        state: str = arg(
            "present", choices=("present", "absent"), doc="up (`present`) or down (`absent`)"
        )
        scale: dict[str, int] = arg({}, doc="`{SERVICE: N}`: containers per service")
        pull: str = arg(
            "missing",
            choices=("missing", "always", "never"),
            doc="`up --pull`: pull images that are missing, always, or never",
        )
        wait: bool = arg(False, doc="`up --wait`: wait until services are running/healthy")
        remove_orphans: bool = arg(True, doc="remove containers of services no longer declared")

    params: Params

    def describe(self) -> str:
        return f"compose {self.project} {self.params.state}"

    @property
    def project(self) -> str:
        return self.params.project_name or posixpath.basename(self.params.project_src.rstrip("/"))

    @property
    def file_names(self) -> list[str]:
        p = self.params
        names = list(p.files)
        for extra in [*p.templates, *p.content]:
            if extra not in names:
                names.append(extra)
        return names or [DEFAULT_FILE]

    def validate(self) -> None:
        p = self.params
        problem = dockerproject.path_problem(p.project_src, "`project_src`")
        if problem:
            raise self.fail(problem, arg="project_src")
        problem = project_name_problem(self.project)
        if problem:
            hint = "" if p.project_name else "set `project_name` (the directory's name is not one)"
            raise self.fail(problem, hint, arg="project_name" if p.project_name else "project_src")
        if len(self.file_names) > MAX_FILES:
            raise self.fail(f"at most {MAX_FILES} compose files", arg="files")
        for name in self.file_names:
            problem = file_name_problem(name)
            if problem:
                raise self.fail(problem, arg="files")
        both = set(p.templates) & set(p.content)
        if both:
            raise self.fail(f"{sorted(both)[0]!r} is given by both `templates` and `content`")
        for name, count in p.scale.items():
            problem = dockerproject.service_name_problem(str(name))
            if problem:
                raise self.fail(problem, arg="scale")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SCALE:
                raise self.fail(
                    f"scale of {name!r} must be a whole number 0..{MAX_SCALE}, found {count!r}",
                    arg="scale",
                )
        self.rendered: dict[str, bytes] = {}
        for name, src in p.templates.items():
            text_ = dockerproject.render_role_template(self, str(src), "templates")
            self.rendered[name] = dockerproject.checked_compose(
                self, text_, f"compose file {name}"
            )[1]
        for name, text_ in p.content.items():
            if not isinstance(text_, str):
                raise self.fail(
                    f"content of {name!r} must be text (the compose file's YAML)", arg="content"
                )
            self.rendered[name] = dockerproject.checked_compose(
                self, text_, f"compose file {name}"
            )[1]
        if p.state == "present" and self.rendered and len(self.rendered) == len(self.file_names):
            docs = [
                dockerproject.load_compose(self.rendered[n].decode(), n) for n in self.file_names
            ]
            declared = {s for d in docs for s in d.get("services") or {}}
            unknown = sorted(set(p.scale) - declared)
            if unknown:
                raise self.fail(
                    f"scale names service {unknown[0]!r}, which no compose file declares",
                    arg="scale",
                )

    def path_of(self, name: str) -> str:
        return posixpath.join(self.params.project_src, name)

    def facts(self) -> list[Fact]:
        return [FileFact(self.path_of(n)) for n in self.file_names] + [ComposeFact(self.project)]

    # ---- commands

    def compose_words(self) -> list[str]:
        words = ["docker", "compose", "--project-name", self.project]
        words += ["--project-directory", self.params.project_src]
        for name in self.file_names:
            words += ["--file", self.path_of(name)]
        return words

    def up_words(self) -> list[str]:
        p = self.params
        words = [*self.compose_words(), "up", "--detach", "--pull", p.pull]
        if p.remove_orphans:
            words.append("--remove-orphans")
        if p.wait:
            words.append("--wait")
        for service, count in sorted(p.scale.items()):
            words += ["--scale", f"{service}={count}"]
        return words

    def plan(self, state: HostState) -> Outcome:
        found = state.get(ComposeFact(self.project))
        if state.after_changes and not (found.docker and found.compose and found.engine):
            return Deferred(f"compose {self.project} (after earlier changes)", self.facts())
        failure = dockerproject.docker_failure(found.docker, found.engine, found.compose)
        if failure is not None:
            return failure
        if self.params.state == "absent":
            return self._plan_absent(state, found)
        return self._plan_present(state, found)

    def _plan_absent(self, state: HostState, found: ComposeState) -> Outcome:
        if found.record is None and not found.containers:
            return NoOp(f"compose project {self.project} is not up")
        files = [state.get(FileFact(self.path_of(n))) for n in self.file_names]
        if all(f.exists for f in files):
            words = [*self.compose_words(), "down", "--remove-orphans"]
        else:  # the files are gone: Compose finds the project by its label
            words = [
                "docker",
                "compose",
                "--project-name",
                self.project,
                "down",
                "--remove-orphans",
            ]
        state.set(ComposeFact(self.project), ComposeState(True, True, True, None, (), found.images))
        summary = f"compose {self.project}: down ({len(found.containers)} containers)"
        return dockerproject.removal(words, self.project, "compose", summary, "its containers stop")

    def _plan_present(self, state: HostState, found: ComposeState) -> Outcome:
        commands: list[Command] = []
        diffs: list[Diff] = []
        summary: list[str] = []
        contents: list[tuple[str, bytes]] = []
        for name in self.file_names:
            path = self.path_of(name)
            before: FileState = state.get(FileFact(path))
            want = self.rendered.get(name)
            if want is None:
                if not before.exists or before.content is None:
                    if state.after_changes:
                        return Deferred(f"compose {self.project}", self.facts())
                    return Failed(f"compose file {path} is not on the host (and not rendered)")
                contents.append((name, before.content))
                continue
            contents.append((name, want))
            written = dockerproject.write_changed(state, path, want, 0o644, self.context.secret)
            if written is not None:
                diffs.append(written[0])
                commands.append(written[1])
                summary.append(f"write {path}")
        try:
            docs = [dockerproject.load_compose(text(c), n) for n, c in contents]
        except ValueError as exc:
            return Failed(str(exc))
        new_configs = service_configs(docs)
        images = service_images(docs, self.project)
        new_images = {s: found.images.get(i, "") for s, i in images.items()}
        scale = wanted_counts(docs, self.params.scale)
        digest = project_hash(contents, self.params.scale, _canon(self.up_words()))
        record = found.record or {}
        old_configs = record.get("services") if isinstance(record.get("services"), dict) else None
        actions = compare_services(
            old_configs if found.record is not None else None,
            new_configs,
            record.get("images") or {},
            new_images,
            record.get("scale") or {},
            scale,
            found.running(),
        )
        if not actions and record.get("hash") == digest and not commands:
            return NoOp(
                f"compose project {self.project} up to date ({sum(scale.values())} containers)"
            )
        new_record = {
            "project": self.project,
            "hash": digest,
            "services": new_configs,
            "images": new_images,
            "scale": scale,
        }
        commands += dockerproject.run_and_record(
            self.up_words(), self.project, "compose", new_record
        )
        summary.append(f"compose {self.project}: up -d")
        summary += [f"  {a.line()}" for a in actions] or [
            "  no service changes (files or options only)"
        ]
        containers = tuple((s, "running") for s, n in scale.items() for _ in range(n))
        state.set(
            ComposeFact(self.project),
            ComposeState(True, True, True, new_record, containers, found.images),
        )
        touched = [a.service for a in actions if a.action in ("recreate", "remove")]
        disruption = Disruption(
            "restart" if touched else "none",
            f"compose:{self.project}" if touched else "",
            ("recreates " + ", ".join(touched)) if touched else "",
        )
        return Change(summary, commands, diffs, disruption=disruption)

    def assertions(self) -> list[Assertion]:
        if self.params.state == "absent":
            expect: dict[str, Any] = {"running": {}}
        else:
            counts = self.params.scale
            if self.rendered and len(self.rendered) == len(self.file_names):
                docs = [
                    dockerproject.load_compose(self.rendered[n].decode(), n)
                    for n in self.file_names
                ]
                counts = wanted_counts(docs, self.params.scale)
            expect = {"running": dict(counts), "exact": bool(self.rendered)}
        return [Assertion("compose", self.project, expect, f"compose project {self.project}")]


def running_counts(lines: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        service, _, state = line.partition("\t")
        if state.strip() == "running":
            counts[service] = counts.get(service, 0) + 1
    return counts


@verifies("compose")
def check_compose(host: Any, project: str, expect: dict[str, Any]) -> str | None:
    """The project's containers running, per service, as declared."""
    label = shlex.quote(f"label=com.docker.compose.project={project}")
    result = host.run(
        f"docker ps --filter {label} --format "
        "'{{.Label \"com.docker.compose.service\"}}\t{{.State}}'"
    )
    if result.rc != 0:
        return f"docker ps failed: {result.stderr.strip()[-300:]}"
    found = running_counts(result.stdout.splitlines())
    want = {k: v for k, v in expect["running"].items() if v}
    if not want:
        return f"containers still running: {found}" if found else None
    if expect.get("exact"):
        return None if found == want else f"running {found}, expected {want}"
    missing = {k: v for k, v in want.items() if found.get(k, 0) != v}
    return f"running {found}, expected {want}" if missing else None
