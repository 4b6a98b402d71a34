"""Shared fixtures: a conda installation (the conda.sh double), an environment built in it,
its conda-pack archive, notebooks, an Airflow home of this test run's own, and a headless
Chromium (``browser``: Debian's, driven by Selenium through Debian's chromedriver; Selenium
Manager never runs, so nothing is downloaded).

Everything expensive is built once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Airflow reads its home when first imported: give this run its own before anything does.
AIRFLOW_HOME = os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__PARALLELISM"] = "2"
# Packed environments are unpacked into a cache of this run's own, not the user's; on tmpfs
# where there is one, as an environment is ~12,000 files that a busy disk takes 10 s to write.
ENV_CACHE_DIR = os.environ["AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR"] = tempfile.mkdtemp(
    prefix="env-cache-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None
)

import pytest

from devtools.conda_layout import build_env, conda_root, pack
from tests.environments.helpers import S3_BUCKET, S3_CONN_ID, S3Server
from tests.helpers import CHROMEDRIVER, CHROMIUM, UI_TIMEOUT, CondaInstall, ProcessMarker
from tests.package_index import LocalIndex, make_wheel, served, simple_index

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ENV_NAME = "jupyter-test"


@pytest.fixture(scope="session")
def conda_install(tmp_path_factory: pytest.TempPathFactory) -> CondaInstall:
    """A conda installation with one environment (papermill + ipykernel) named ENV_NAME."""
    root = tmp_path_factory.mktemp("conda")
    conda_sh = conda_root(root)
    prefix = build_env(root / "envs" / ENV_NAME)
    return CondaInstall(root=root, conda_sh=conda_sh, env_name=ENV_NAME, prefix=prefix)


@pytest.fixture(scope="session")
def packed_env(conda_install: CondaInstall, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test environment packed by conda-pack as .tar.gz."""
    return pack(conda_install.prefix, tmp_path_factory.mktemp("packed") / f"{ENV_NAME}.tar.gz")


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """Wheels the tests make (``jc-tiny`` 1.0, which needs ``jc-base`` 1.0), in a folder and
    served as a simple index over http on loopback."""
    root = tmp_path_factory.mktemp("package-index")
    wheels = [
        make_wheel(root / "wheels", "jc-base", "1.0", {"jc_base.py": "BASE = 'base 1.0'\n"}),
        make_wheel(
            root / "wheels",
            "jc-tiny",
            "1.0",
            {"jc_tiny.py": "from jc_base import BASE\nVALUE = 'tiny 1.0 on ' + BASE\n"},
            requires=["jc-base"],
        ),
    ]
    with served(simple_index(wheels, root / "simple")) as url:
        yield LocalIndex(folder=root / "wheels", url=url)


@pytest.fixture(params=["uv", "pip"])
def installer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> str:
    """Requirements layers are built by this installer, which none of this machine's pip or uv
    configuration reaches (no files, no variables); pip retries an index once, uv never."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(name)
    caches = tmp_path_factory.getbasetemp() / "installer-caches"
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_CACHE_DIR", str(caches / "pip"))
    monkeypatch.setenv("PIP_RETRIES", "1")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(caches / "uv"))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__REQUIREMENTS_INSTALLER", request.param)
    return request.param


@pytest.fixture
def layer_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An environment cache of the test's own (on tmpfs where there is one), so it counts the
    layers and unpacks it causes."""
    root = Path(tempfile.mkdtemp(prefix="layers-", dir=Path(ENV_CACHE_DIR).parent))
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR", str(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata database of this test run's AIRFLOW_HOME, migrated."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=300
    )


@pytest.fixture
def conda_connection(conda_install: CondaInstall, monkeypatch: pytest.MonkeyPatch) -> CondaInstall:
    """The default jupyter_conda connection, pointing at the test installation's conda.sh."""
    conn = {"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_install.conda_sh)}}
    monkeypatch.setenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", json.dumps(conn))
    return conda_install


@pytest.fixture
def process_marker(monkeypatch: pytest.MonkeyPatch) -> ProcessMarker:
    """Tag every process the test starts through an environment variable, so /proc tells which live on.

    Children inherit the variable (bash, papermill, the kernel); this pytest process does not
    show it in /proc/<pid>/environ, which holds the environment it was started with.
    """
    import uuid

    variable, value = "JUPYTER_CONDA_TEST_RUN", uuid.uuid4().hex
    monkeypatch.setenv(variable, value)
    return ProcessMarker(variable, value)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server on loopback, with a bucket."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=S3_BUCKET)
    yield S3Server(endpoint, client)
    server.stop()


@pytest.fixture
def s3_connection(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow ``aws`` connection to the moto server, as a user would define it."""
    conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN_ID.upper()}", json.dumps(conn))
    return S3_CONN_ID


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile, a 1400x1000 window and no network of its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    # A driver path given to Service makes Selenium skip Selenium Manager (no download).
    service = Service(str(CHROMEDRIVER), log_output=str(tmp_path_factory.mktemp("chromedriver") / "log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(UI_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def pytest_unconfigure(config: pytest.Config) -> None:
    # The unpacked environments (about 600 MB) would otherwise stay in tmpfs, that is in memory;
    # the Airflow home (its database, logs) would pile up in /tmp, one per run.
    shutil.rmtree(ENV_CACHE_DIR, ignore_errors=True)
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires_root: creates cgroups or mounts; skipped unless run as root")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests marked requires_root when not root; the others in their files still run."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="creates cgroups or mounts: run as root")
    for item in items:
        if item.get_closest_marker("requires_root"):
            item.add_marker(skip)


@pytest.fixture
def without_libarchive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """``unpack()`` takes the standard library's path, as on a worker without libarchive.

    LIBARCHIVE names a file that does not exist and the binding is imported afresh, so loading
    fails for real (OSError from ctypes).
    """
    from airflow_jupyter_provider.environments import libarchive_unpack

    libarchive_unpack.load.cache_clear()
    monkeypatch.setenv("LIBARCHIVE", str(tmp_path / "no-such-dir" / "libarchive.so.13"))
    for name in [m for m in sys.modules if m == "libarchive" or m.startswith("libarchive.")]:
        monkeypatch.delitem(sys.modules, name)
    assert libarchive_unpack.load() is None
    yield
    libarchive_unpack.load.cache_clear()
