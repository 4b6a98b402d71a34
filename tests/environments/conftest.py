"""Servers on loopback that the source and cache tests fetch archives from, and the unpackers.

``unpacker`` runs a test once with libarchive unpacking and once with the standard library,
libarchive made unloadable the way it is on a worker without it.
``http_server`` serves a folder with Python's own http.server and records every request;
it is started once per session and stopped at its end (``s3_server``, moto's, is in
``tests/conftest.py``: the notebook tests use it too).
"""

from __future__ import annotations

import base64
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.environments.helpers import HTTP_PASSWORD, HTTP_USER, HttpServer


class _Handler(SimpleHTTPRequestHandler):
    """Files under /private/ need basic auth; under /nohead/ HEAD is refused, as signed URLs do."""

    server_state: HttpServer

    def do_GET(self) -> None:
        self.server_state.requests.append(("GET", self.path))
        if self._authorized():
            super().do_GET()

    def do_HEAD(self) -> None:
        self.server_state.requests.append(("HEAD", self.path))
        if self.path.startswith("/nohead/"):
            self.send_error(403)
        elif self._authorized():
            super().do_HEAD()

    def _authorized(self) -> bool:
        expected = "Basic " + base64.b64encode(f"{HTTP_USER}:{HTTP_PASSWORD}".encode()).decode()
        if self.path.startswith("/private/") and self.headers.get("Authorization") != expected:
            self.send_error(401)
            return False
        return True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("http-root")
    for folder in ("private", "nohead"):
        (root / folder).mkdir()
    state = HttpServer(url="", root=root)
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def http_connection(monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow ``http`` connection holding the credentials /private/ needs."""
    conn = {"conn_type": "http", "login": HTTP_USER, "password": HTTP_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_ENV_WEB", json.dumps(conn))
    return "env_web"


@pytest.fixture(params=["libarchive", "stdlib"])
def unpacker(request: pytest.FixtureRequest):
    """Which path ``unpack()`` takes in this test: ``libarchive``, or ``stdlib`` (tarfile, zipfile).

    For ``stdlib``, loading libarchive fails for real (see ``without_libarchive``).
    """
    from airflow_jupyter_provider.environments import libarchive_unpack

    libarchive_unpack.load.cache_clear()
    if request.param == "stdlib":
        request.getfixturevalue("without_libarchive")
    else:
        assert libarchive_unpack.load() is not None, (
            "libarchive cannot be loaded: apt-get install libarchive13 and pip install libarchive-c"
        )
    yield request.param
    libarchive_unpack.load.cache_clear()
