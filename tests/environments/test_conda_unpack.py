"""conda-unpack through the cache: conda-pack's own script is done in the worker's process.

The archives are real conda-pack archives: the session's environment (papermill, ipykernel;
every record in text mode, as pip-made environments have) and a small environment holding a
conda-managed library with a binary-mode record, the kind conda packages declare. What the
cache leaves is compared file by file with what the archive's own script leaves.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_jupyter_provider.environments.archive import unpack
from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import LocalArchive
from airflow_jupyter_provider.exceptions import ArchiveError
from devtools.conda_layout import pack
from tests.environments.test_cache import QUIET

#: A placeholder as conda-build leaves in binaries: long, so that shorter prefixes fit in its place.
BINARY_PLACEHOLDER = "/home/builder/conda-bld/fakelib_1700000000000/_h_env_" + "placehold_" * 16
LIBRARY = b"\x7fELF\x02\x01\x01\x00\xff" + BINARY_PLACEHOLDER.encode() + b"/lib\x00rpath end\x00\xfe"
BOOKKEEPING = [".locks", ".sources", ".tmp"]


@pytest.fixture(scope="module")
def binary_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conda-pack archive of an environment with a conda package whose library is in binary mode,
    and a file of its own (text mode) naming its prefix."""
    root = tmp_path_factory.mktemp("binary-env")
    prefix, package = root / "env", root / "pkgs" / "fakelib-1.0-0"
    for folder in (prefix / "conda-meta", prefix / "etc", prefix / "lib", package / "info", package / "lib"):
        folder.mkdir(parents=True)
    (prefix / "conda-meta" / "history").touch()
    (prefix / "etc" / "fake.conf").write_text(f"prefix={prefix}\n")
    for copy in (package / "lib" / "libfake.so", prefix / "lib" / "libfake.so"):
        copy.write_bytes(LIBRARY)
    path = {"_path": "lib/libfake.so", "prefix_placeholder": BINARY_PLACEHOLDER, "file_mode": "binary"}
    (package / "info" / "paths.json").write_text(json.dumps({"paths": [path], "paths_version": 1}))
    (prefix / "conda-meta" / "fakelib-1.0-0.json").write_text(
        json.dumps(
            {"name": "fakelib", "version": "1.0", "build": "0", "url": "file:///fakelib"}
            | {"files": ["lib/libfake.so"], "link": {"source": str(package), "type": 1}}
        )
    )
    archive = pack(prefix, root / "binary-env.tar.gz")
    assert f"('lib/libfake.so', '{BINARY_PLACEHOLDER}', 'binary')" in _script(archive)
    return archive


def _script(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        return tar.extractfile("bin/conda-unpack").read().decode()


def _edited(archive: Path, output: Path, edit: Callable[[str], str]) -> Path:
    """A copy of ``archive`` whose bin/conda-unpack is ``edit`` of the original."""
    with tarfile.open(archive) as source, tarfile.open(output, "w:gz") as copy:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name == "bin/conda-unpack":
                data = edit(data.decode()).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    return output


def _marking_its_runs(script: str) -> str:
    """The script, made to leave ``bin/conda-unpack.ran``, the names of its environment variables,
    whenever it runs."""
    main = "if __name__ == '__main__':\n"
    assert main in script
    mark = "open(__file__ + '.ran', 'w').write(' '.join(sorted(__import__('os').environ)))"
    return script.replace(main, f"{main}    {mark}\n")


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Each file, folder and link under ``root``: its mode and the sha256 of its content or its target."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder, name)
            st = path.lstat()
            if path.is_symlink():
                content = os.readlink(path)
            elif path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = ""
            found[str(path.relative_to(root))] = (st.st_mode, content)
    return found


def _activate(cache: EnvironmentCache, archive: Path) -> Path:
    with cache.environment(LocalArchive(archive), log=QUIET) as prefix:
        return prefix


@pytest.mark.parametrize("packed", ["packed_env", "binary_env"])
def test_cache_rewrites_the_prefix_as_the_archives_own_conda_unpack_script_does(packed, request, tmp_path):
    archive = request.getfixturevalue(packed)
    prefix = _activate(EnvironmentCache(tmp_path / "cache"), archive)
    ours = _snapshot(prefix)
    # The script's result at the same path: unpacked afresh there, then the script run.
    shutil.rmtree(prefix)
    prefix.mkdir()
    unpack(archive, prefix)
    # -B: the script's import of conda_unpack_progress would leave a bin/__pycache__ of its own.
    subprocess.run([sys.executable, "-B", str(prefix / "bin" / "conda-unpack")], check=True)
    assert ours == _snapshot(prefix)
    if packed == "binary_env":
        padding = b"\x00" * (len(BINARY_PLACEHOLDER) - len(str(prefix)))
        library = (prefix / "lib" / "libfake.so").read_bytes()
        assert library == LIBRARY.replace(
            BINARY_PLACEHOLDER.encode() + b"/lib\x00", f"{prefix}/lib".encode() + b"\x00" + padding
        )
        assert (prefix / "etc" / "fake.conf").read_text() == f"prefix={prefix}\n"
    else:
        # venv's activate.csh quotes the prefix in some Python versions (3.10, 3.13), not in others.
        activate = (prefix / "bin" / "activate.csh").read_text()
        assert f"setenv VIRTUAL_ENV {prefix}\n" in activate or f'setenv VIRTUAL_ENV "{prefix}"\n' in activate


def test_conda_packs_script_is_not_run(binary_env, tmp_path):
    archive = _edited(binary_env, tmp_path / "marked.tar.gz", _marking_its_runs)
    prefix = _activate(EnvironmentCache(tmp_path / "cache"), archive)
    assert (prefix / "etc" / "fake.conf").read_text() == f"prefix={prefix}\n"
    assert f"{prefix}/lib".encode() in (prefix / "lib" / "libfake.so").read_bytes()
    assert not (prefix / "bin" / "conda-unpack.ran").exists()


def test_a_record_that_is_no_literal_is_left_to_the_script_to_run_without_airflows_variables(
    binary_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "fernet-of-the-worker")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://analyst:password@db.internal/warehouse")

    def edit(script: str) -> str:
        record = f"('lib/libfake.so', '{BINARY_PLACEHOLDER}', 'binary')"
        assert record in script
        # Valid Python that the script evaluates, but no literal: the provider does not evaluate it.
        split = f"('lib/libfake.so', '{BINARY_PLACEHOLDER[:20]}' + '{BINARY_PLACEHOLDER[20:]}', 'binary')"
        script = script.replace(record, split)
        return f"#!{sys.executable}\n" + _marking_its_runs(script.split("\n", 1)[1])

    archive = _edited(binary_env, tmp_path / "split.tar.gz", edit)
    prefix = _activate(EnvironmentCache(tmp_path / "cache"), archive)
    assert f"{prefix}/lib".encode() in (prefix / "lib" / "libfake.so").read_bytes()
    # The archive's own code runs as a notebook would: without Airflow's configuration and secrets.
    names = (prefix / "bin" / "conda-unpack.ran").read_text().split()
    assert "PATH" in names
    assert [name for name in names if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))] == []


@pytest.mark.parametrize("record", ["../../victim.txt", "lib/../../../victim.txt", "{tmp_path}/victim.txt"])
def test_a_record_outside_the_environment_is_refused_naming_it(record, binary_env, tmp_path):
    record = record.format(tmp_path=tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text(f"{BINARY_PLACEHOLDER}\n")
    line = f"('{record}', '{BINARY_PLACEHOLDER}', 'text')"
    archive = _edited(
        binary_env, tmp_path / "escaping.tar.gz", lambda s: s.replace("\n]\n", f",\n{line}\n]\n", 1)
    )
    cache = EnvironmentCache(tmp_path / "cache")
    with pytest.raises(ArchiveError, match=f"conda-unpack's record {re.escape(repr(record))} has"):
        _activate(cache, archive)
    assert victim.read_text() == f"{BINARY_PLACEHOLDER}\n"
    assert sorted(p.name for p in cache.root.iterdir()) == BOOKKEEPING


def test_a_cache_path_longer_than_a_binary_placeholder_says_to_shorten_it(binary_env, tmp_path):
    cache = EnvironmentCache(tmp_path / ("long-cache-" + "x" * len(BINARY_PLACEHOLDER)))
    with pytest.raises(
        ArchiveError,
        match=r"conda-unpack failed for '.*binary-env.tar.gz': lib/libfake.so: negative padding; "
        r"the cache path '.*' is longer than the prefix .*set env_cache_dir to a shorter folder",
    ):
        _activate(cache, binary_env)
    assert sorted(p.name for p in cache.root.iterdir()) == BOOKKEEPING
