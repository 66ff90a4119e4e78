#!/usr/bin/env python3
"""Experiment (not the engine): run the provision CLI with proposed engine changes patched
in at run time, to measure what each would gain. Same arguments as `provision`, after the
patch names:

    PATCHES=nodelay,template-cache bench/.venv/bin/python \
        bench/experiments/patched_provision.py apply INV -p playbooks/docker-host.yml

- `nodelay`: TCP_NODELAY on the SSH socket, set before the handshake (stands for a change
  in src/provision/execution/ssh.py, SSHConnection: connect a socket with TCP_NODELAY
  and hand it to paramiko as `sock=`, or at least setsockopt after `conn.open()` beside
  TCP_USER_TIMEOUT). Without it every exec round trip waits on Nagle + delayed ACK.
- `template-cache`: compiled Jinja templates cached by source text (stands for a change in
  src/provision/spec/templating.py, `_run` / `_evaluate`: `env.from_string(source)` is
  called for every string of every task of every host; Jinja caches only loader
  templates)."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

import jinja2

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


def patch_template_cache() -> None:
    import provision.spec.templating as templating

    templating._run = _run  # type: ignore[assignment]
    templating._evaluate = _evaluate  # type: ignore[assignment]


def patch_nodelay() -> None:
    from provision.execution.ssh import SSHConnection

    original = SSHConnection._connect_kwargs

    def connect_kwargs(self: SSHConnection) -> dict[str, Any]:
        kwargs = original(self)
        if not self.config.jump and not self.config.proxy_command:
            sock = socket.create_connection((self.config.address, self.config.port), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            kwargs["sock"] = sock
        return kwargs

    SSHConnection._connect_kwargs = connect_kwargs  # type: ignore[method-assign]


PATCHES = {"template-cache": patch_template_cache, "nodelay": patch_nodelay}


def main() -> None:
    for name in filter(None, os.environ.get("PATCHES", "").split(",")):
        PATCHES[name]()
    from provision.cli import run

    sys.argv[0] = "provision"
    run()


if __name__ == "__main__":
    main()
