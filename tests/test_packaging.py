"""The wheel a user installs carries the license its metadata names (``license = "Apache-2.0"``).

Built by pip, as a release is, from a copy of the tracked files (the build writes ``build/``
and ``*.egg-info`` beside its sources), with the test environment's own setuptools: no build
environment is fetched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import REPO


def test_the_wheel_carries_the_apache_license(tmp_path: Path) -> None:
    source = tmp_path / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)

    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    result = subprocess.run(
        [*build, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("airflow_jupyter_provider-*.whl")
    with zipfile.ZipFile(wheel) as files:
        dist_info = next(
            name.split("/")[0] for name in files.namelist() if name.endswith(".dist-info/METADATA")
        )
        metadata = files.read(f"{dist_info}/METADATA").decode()
        license_text = files.read(f"{dist_info}/licenses/LICENSE").decode()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    assert license_text == (REPO / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in license_text
