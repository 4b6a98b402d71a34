"""A package index the tests build: wheels made here, served from a folder (``--find-links``)
or over http on loopback (a PEP 503 simple index), so installing needs no network."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalIndex:
    """The tests' wheels: ``folder`` for ``--find-links``, ``url`` a simple index serving them."""

    folder: Path
    url: str


def make_wheel(
    folder: Path, name: str, version: str, modules: Mapping[str, str], requires: Sequence[str] = ()
) -> Path:
    """A pure-Python wheel of ``name`` ``version`` holding ``modules`` (file name -> source)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {requirement}\n" for requirement in requires]
    )
    files = {
        **modules,
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*records, f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def simple_index(wheels: Sequence[Path], root: Path) -> Path:
    """A PEP 503 layout of ``wheels`` under ``root``: ``root/<project>/<wheel>``, which a
    directory-listing http server serves as a simple index."""
    for wheel in wheels:
        project = root / wheel.name.split("-")[0].replace("_", "-").lower()
        project.mkdir(parents=True, exist_ok=True)
        (project / wheel.name).write_bytes(wheel.read_bytes())
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` served over http on loopback by ``python -m http.server``: its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"http.server on port {port} did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(10)
