"""The lab's HTTP services on the bridge address, one process:

- the repo server (REPO_PORT): serves the cached repos tree;
- the proxy (PROXY_PORT): a forward proxy that serves only URLs of the repo server (from
  the same tree) and refuses everything else (CONNECT too). Every request is logged, so a
  test can prove that dnf went through it.

Run detached by ``provision lab up``: ``python -m provision.lab.server REPOS LOGDIR``.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import config

_log_lock = threading.Lock()

#: on the server's command line: `lab up` restarts a server started without it (an older
#: checkout's, which does not serve the paths below)
SERVES = "serves-docker-trees-v1"

#: the docker-ce repository as the image holds it (one build, el9-named packages)
_BUILT = f"/{config.DOCKER_PATH}/9/"
_DOCKER_TREES = re.compile(r"/docker-ce/linux/(rhel|centos)/(8|9|10)/")
_DOCKER_TOP = re.compile(r"/docker-ce/linux/centos/(gpg|docker-ce\.repo)")


def served_path(path: str) -> str:
    """The path served for a request: Docker's layout has a tree per distribution family
    and a folder per major version (linux/rhel/9, linux/centos/8, ...), which the roles
    choose per host; the lab has built one repository (linux/rhel/9), served at each of
    them. Everything else is served as asked."""
    match = _DOCKER_TREES.match(path)
    if match:
        return _BUILT + path[match.end() :]
    match = _DOCKER_TOP.match(path)
    if match:
        return f"/{config.DOCKER_PATH}/{match.group(1)}" + path[match.end() :]
    return path


def _log(path: Path, line: str) -> None:
    with _log_lock, open(path, "a") as fh:
        fh.write(line + "\n")


def allowed_proxy_target(url: str) -> str | None:
    """The path to serve for a proxied absolute URL, or None if the proxy must refuse it."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return None
    if parts.hostname != config.BRIDGE_ADDR or (parts.port or 80) != config.REPO_PORT:
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class RepoHandler(SimpleHTTPRequestHandler):
    log_path: Path

    def translate_path(self, path: str) -> str:
        return super().translate_path(served_path(path))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _record(self, code: int | str, target: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        _log(self.log_path, f"{stamp} {self.client_address[0]} {self.command} {target} {code}")

    def send_response(self, code: int, message: str | None = None) -> None:
        self._code = code
        super().send_response(code, message)

    def do_GET(self) -> None:  # noqa: N802
        self._code = 0
        super().do_GET()
        self._record(self._code, self.path)

    def do_HEAD(self) -> None:  # noqa: N802
        self._code = 0
        super().do_HEAD()
        self._record(self._code, self.path)


class ProxyHandler(RepoHandler):
    def _proxied(self, method: str) -> None:
        original = self.path
        target = allowed_proxy_target(original)
        if target is None:
            self.send_error(403, "the provision lab proxy serves only the lab's repos")
            self._record(403, original)
            return
        self.path = target
        self._code = 0
        getattr(SimpleHTTPRequestHandler, method)(self)
        self._record(self._code, original)

    def do_GET(self) -> None:  # noqa: N802
        self._proxied("do_GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._proxied("do_HEAD")

    def do_CONNECT(self) -> None:  # noqa: N802
        self.send_error(403, "the provision lab proxy does not tunnel")
        self._record(403, self.path)


def serve(repos: Path, logdir: Path) -> None:
    logdir.mkdir(parents=True, exist_ok=True)
    servers = []
    for port, cls, log in (
        (config.REPO_PORT, RepoHandler, logdir / "repo.log"),
        (config.PROXY_PORT, ProxyHandler, logdir / "proxy.log"),
    ):
        handler = type(cls.__name__, (cls,), {"log_path": log})
        factory = functools.partial(handler, directory=str(repos))
        server = ThreadingHTTPServer((config.BRIDGE_ADDR, port), factory)
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"serving {repos} on {config.REPO_BASE}, proxy on {config.PROXY_URL}", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]))
