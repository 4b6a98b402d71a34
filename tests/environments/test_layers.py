"""Requirements layers on a real environment, built by real uv and pip from the tests' own
package index: once per worker, shared by tasks that start together, never used half-built,
and failing the way a retry can or cannot help."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from airflow_jupyter_provider.exceptions import CondaEnvError
from tests.environments.layer_user import activate
from tests.helpers import CondaInstall, wait_for
from tests.package_index import LocalIndex, free_port

REPO = Path(__file__).parents[2]
VALUE = "tiny 1.0 on base 1.0"


def extra(conda: CondaInstall, **index: str) -> dict:
    return {"conda_path": str(conda.conda_sh), **index}


def layers_in(cache: Path) -> list[str]:
    """The layers and environments the cache holds, ready or not."""
    return sorted(
        entry.name for entry in cache.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    )


def start_user(conda: CondaInstall, index: dict, requirements: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.environments.layer_user",
            conda.env_name,
            json.dumps(extra(conda, **index)),
            *requirements,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_layer_from_the_workers_own_configuration_is_built_once(
    installer: str, conda_install: CondaInstall, package_index: LocalIndex, layer_cache: Path, monkeypatch
) -> None:
    tool = installer.upper()
    # The default index is never asked: uv 0.13 does not read UV_NO_INDEX, so the worker's
    # configuration names the tests' index (pip and uv both read *_INDEX_URL) beside the folder.
    monkeypatch.setenv(f"{tool}_INDEX_URL", package_index.url)
    monkeypatch.setenv(f"{tool}_FIND_LINKS", str(package_index.folder))

    first = activate(conda_install.env_name, extra(conda_install), ["JC_Tiny"])
    second = activate(
        conda_install.env_name, extra(conda_install), ["jc-tiny  # the same, written otherwise"]
    )

    assert first["value"] == second["value"] == VALUE
    assert first["layer"] == second["layer"]
    assert first["layer"].startswith(str(layer_cache))
    assert (
        f"Requirements layer: installing jc-tiny with {installer} on {conda_install.prefix}" in first["log"]
    )
    assert any(
        line.startswith(f"Requirements layer over {conda_install.prefix}: built at") for line in first["log"]
    )
    assert not any("built at" in line or "installing" in line for line in second["log"]), second["log"]
    assert any("cached at" in line for line in second["log"])
    assert len(layers_in(layer_cache)) == 1


def test_the_index_from_the_connection_with_its_credentials_masked(
    installer: str, conda_install: CondaInstall, package_index: LocalIndex, layer_cache: Path
) -> None:
    token = "tok3n-for-the-index"
    url = package_index.url.replace("http://", f"http://reader:{token}@")

    used = activate(conda_install.env_name, extra(conda_install, index_url=url), ["jc-tiny==1.0"])

    assert used["value"] == VALUE
    assert any("jc-tiny" in line for line in used["log"] if line.startswith(installer))
    assert not any(token in line for line in used["log"])


def test_eight_tasks_starting_at_once_build_the_layer_once(
    installer: str, conda_install: CondaInstall, package_index: LocalIndex, layer_cache: Path
) -> None:
    users = [
        start_user(
            conda_install,
            {"find_links": str(package_index.folder), "index_url": package_index.url},
            ["jc-tiny"],
        )
        for _ in range(8)
    ]
    reports = []
    for user in users:
        out, err = user.communicate(timeout=300)
        assert user.returncode == 0, err
        reports.append(json.loads(out.splitlines()[-1]))

    assert {report["layer"] for report in reports} == {reports[0]["layer"]}
    assert [report["value"] for report in reports] == [VALUE] * 8
    builds = [line for report in reports for line in report["log"] if ": built at " in line]
    assert len(builds) == 1, builds
    waited = sum(any("built by another task meanwhile" in line for line in r["log"]) for r in reports)
    cached = sum(any(": cached at " in line for line in r["log"]) for r in reports)
    assert waited + cached == 7
    assert len(layers_in(layer_cache)) == 1


class _StallingIndex(SimpleHTTPRequestHandler):
    """A simple index that does not answer for jc-tiny until ``answering`` is set: a build that
    asks for it meanwhile hangs there."""

    answering: threading.Event

    def do_GET(self) -> None:
        if "jc-tiny" in self.path:
            self.answering.wait(120)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_build_killed_halfway_is_never_used_and_the_next_task_builds_it_again(
    installer: str, conda_install: CondaInstall, package_index: LocalIndex, layer_cache: Path
) -> None:
    answering = threading.Event()
    handler = type("Handler", (_StallingIndex,), {"answering": answering})
    stalling = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(package_index.folder.parent / "simple"))
    )
    stalling.daemon_threads = True
    threading.Thread(target=stalling.serve_forever, daemon=True).start()
    index = {"index_url": f"http://127.0.0.1:{stalling.server_address[1]}/"}
    try:
        user = start_user(conda_install, index, ["jc-tiny"])
        assert wait_for(lambda: any(layer_cache.glob("*/bin/python")), timeout=60), user.stderr
        time.sleep(1)  # the installer is waiting for the index now
        os.kill(user.pid, signal.SIGKILL)
        user.wait(10)
        half_built = layers_in(layer_cache)
        assert len(half_built) == 1 and not list(layer_cache.glob("*.json"))
        # The installer died with its task: nothing writes into the folder the next build replaces.
        assert wait_for(lambda: not _processes_using(layer_cache / half_built[0]), timeout=10)
        answering.set()

        again = activate(conda_install.env_name, extra(conda_install, **index), ["jc-tiny"])
    finally:
        answering.set()
        stalling.shutdown()

    assert again["layer"] == str(layer_cache / half_built[0])
    assert again["value"] == VALUE
    assert any(": built at " in line for line in again["log"]), again["log"]


def _processes_using(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in command:
            found.append(command)
    return found


def test_a_requirement_that_cannot_be_resolved_fails_without_retry_and_leaves_nothing(
    installer: str, conda_install: CondaInstall, package_index: LocalIndex, layer_cache: Path
) -> None:
    with pytest.raises(CondaEnvError) as failed:
        activate(conda_install.env_name, extra(conda_install, index_url=package_index.url), ["jc-tiny==9.9"])

    message = str(failed.value)
    assert not failed.value.retryable
    assert "the requirements cannot be installed" in message and "jc-tiny==9.9" in message
    installer_says = {
        "pip": "No matching distribution found for jc-tiny==9.9",
        "uv": "no version of jc-tiny==9.9",
    }
    assert installer_says[installer] in message
    assert layers_in(layer_cache) == [] and not list(layer_cache.glob("*.json"))
    assert not any((layer_cache / ".tmp").iterdir())


def test_an_index_that_does_not_answer_fails_with_retries(
    installer: str, conda_install: CondaInstall, layer_cache: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}/"

    with pytest.raises(CondaEnvError) as failed:
        activate(conda_install.env_name, extra(conda_install, index_url=down), ["jc-tiny"])

    assert failed.value.retryable
    assert "the package index did not answer" in str(failed.value)
    assert layers_in(layer_cache) == []
