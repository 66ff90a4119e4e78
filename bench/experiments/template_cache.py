#!/usr/bin/env python3
"""Experiment (not the engine): run the provision CLI with compiled Jinja templates cached
by source text, to measure what that engine change would gain. Same arguments as
`provision`:  bench/.venv/bin/python bench/experiments/template_cache.py apply INV -p PB

The engine change it stands for: in src/provision/spec/templating.py, `_run` and
`_evaluate` call `env.from_string(source)` for every string of every task of every host
(Jinja caches only loader templates); a dict keyed by (environment, source) returns the
compiled template instead (templates are immutable and safe to render from threads)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

import jinja2

import provision.spec.templating as templating

_cache: dict[tuple[int, str], jinja2.Template] = {}
_lock = threading.Lock()


def _compiled(env: jinja2.Environment, source: str) -> jinja2.Template:
    key = (id(env), source)
    template = _cache.get(key)
    if template is None:
        template = env.from_string(source)
        with _lock:
            _cache[key] = template
    return template


def _run(env: jinja2.Environment, source: str, variables: Mapping[str, Any]) -> str:
    template = _compiled(env, source)
    context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
    return "".join(template.root_render_func(context))


def _evaluate(env: jinja2.Environment, expression: str, variables: Mapping[str, Any]) -> Any:
    template = _compiled(env, "{%- set __result__ = (" + expression + ") -%}")
    context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
    for _ in template.root_render_func(context):
        pass
    result = context.vars["__result__"]
    if isinstance(result, jinja2.Undefined):
        str(result)
    return result


def main() -> None:
    templating._run = _run  # type: ignore[assignment]
    templating._evaluate = _evaluate  # type: ignore[assignment]
    from provision.cli import run

    sys.argv[0] = "provision"
    run()


if __name__ == "__main__":
    main()
