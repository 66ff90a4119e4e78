"""community.docker.docker_compose_v2 and community.docker.docker_stack."""

from __future__ import annotations

from typing import Any

import yaml

from provision.ansible.modules.spec import A, Call, Module

_UNSUPPORTED = "not supported by provision's compose type"


def _plain(value: Any) -> Any:
    """A YAML value as plain dicts, lists and scalars (the loader's own mapping and
    string types carry line numbers, which yaml.safe_dump cannot write)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    return str(value)


def _dump(definition: dict[str, Any]) -> str:
    return yaml.safe_dump(_plain(definition), sort_keys=False, allow_unicode=True)


def _definition(args: dict[str, Any], call: Call) -> dict[str, Any]:
    """`definition` (the compose project as a mapping) → `content: {compose.yaml: TEXT}`."""
    definition = args.pop("_definition", None)
    if definition is None:
        return args
    if not isinstance(definition, dict):
        raise call.error("`definition` must be a mapping (the compose file's content)")
    if args.get("files"):
        raise call.error("give `definition` or `files`, not both")
    args["content"] = {"compose.yaml": _dump(definition)}
    return args


def _stack_compose(args: dict[str, Any], call: Call) -> dict[str, Any]:
    """`compose: [{...}]` (one inline definition) → `content`."""
    compose = args.pop("_compose", None)
    if compose is None:
        return args
    items = compose if isinstance(compose, list) else [compose]
    if len(items) != 1 or not isinstance(items[0], dict):
        raise call.error(
            "`compose` must be one inline definition (a mapping)",
            hint="a compose file on the host is not read: use the native `stack` task with"
            " `src:` (a template of the role)",
        )
    args["content"] = _dump(items[0])
    return args


DOCKER_COMPOSE_V2 = Module(
    "docker_compose_v2",
    "community.docker",
    "compose",
    (
        A("project_src"),
        A("project_name"),
        A("files"),
        A("definition", to=""),
        A("state", values={"present": "present", "absent": "absent"}),
        A("scale"),
        A("pull", values={"policy": "missing", "missing": "missing", "always": "always"}),
        A("wait"),
        A("remove_orphans"),
        A("recreate", to="", only="auto", refuse="provision recreates what changed (`auto`)"),
        A("build", to="", only="never", refuse="build images before the run (`build: never`)"),
        A("remove_volumes", to="", only=False, refuse="provision never removes volumes"),
        A("remove_images", refuse="remove images by hand"),
        A("timeout", refuse=_UNSUPPORTED),
        A("wait_timeout", refuse=_UNSUPPORTED),
        A("services", refuse="the whole project is brought up; use `scale: {SERVICE: 0}`"),
        A("profiles", refuse=_UNSUPPORTED),
        A("env_files", refuse=_UNSUPPORTED),
        A("dependencies", refuse=_UNSUPPORTED),
        A("docker_host", aliases=("docker_url",), refuse="the local engine only"),
        A("check_files_existing", to="", only=True),
    ),
    "`state: present|absent` (`stopped`, `restarted` are refused); `definition` becomes the"
    " project's compose.yaml; `pull: policy` is `missing`; the project is brought up only"
    " when its files, images, scale or running containers changed (see docs/compose.md)",
    prepare=_definition,
)

DOCKER_STACK = Module(
    "docker_stack",
    "community.docker",
    "stack",
    (
        A("name"),
        A("state"),
        A("prune"),
        A("with_registry_auth"),
        A("resolve_image"),
        A("compose", to=""),
        A("absent_retries", to="", only=0),
        A("absent_retries_interval", refuse=_UNSUPPORTED),
    ),
    "`compose` is one inline definition (a mapping, or a list holding one); a compose file"
    " path is refused: the native `stack` task renders it from a template (`src`)",
    prepare=_stack_compose,
)

MODULES = (DOCKER_COMPOSE_V2, DOCKER_STACK)
