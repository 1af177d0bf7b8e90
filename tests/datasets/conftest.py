"""Fixtures for cdgraph.datasets tests: the read-only mirror and a local HTTP server."""
from __future__ import annotations

import functools
import http.server
import threading

import pytest

from tests.conftest import find_mirror  # noqa: F401  (re-exported for these tests)

__all__ = ["find_mirror", "http_root"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def http_root(tmp_path):
    """(served folder, base URL, list of requested paths) of a server on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    handler = type("Handler", (_Quiet,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()
