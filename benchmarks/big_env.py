"""A big packed environment for the unpack measurements (issue 21): one of at least 0.9 GB and
25,000 files, in every archive format the provider unpacks.

The benchmark environment of ``packed_env_cache.py`` (149 MB) is small beside a data
scientist's: this one is a conda-layout environment (``devtools.conda_layout.build_env``:
``venv --copies``, pip, ``conda-meta/history``) with the usual stack installed from PyPI wheels
(papermill, ipykernel, numpy, pandas, matplotlib, scipy, scikit-learn, pyarrow, seaborn, and
plotly, sympy and statsmodels to reach the size), packed by conda-pack into ``.tar``,
``.tar.gz``, ``.tar.bz2``, ``.tar.xz``, ``.tar.zst`` and ``.zip``. Everything is made once in
``--root`` and reused; it prints, and writes to ``results/big_env.json``, the environment's size
and file count and each archive's size. It fails when the environment is below the size it is
for. No timing: that is ``unpack_speed.py``'s to do with these archives.

    python -m benchmarks.big_env [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks.common import write_results

#: What the environment holds; the first nine are the issue's, the last three make up the size.
PACKAGES = (
    "papermill",
    "ipykernel",
    "numpy",
    "pandas",
    "matplotlib",
    "scipy",
    "scikit-learn",
    "pyarrow",
    "seaborn",
    "plotly",
    "sympy",
    "statsmodels",
)
#: Every archive suffix the provider unpacks, each one conda-pack writes.
SUFFIXES = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".zip")
MIN_BYTES = 900_000_000
MIN_FILES = 25_000
ENV_NAME = "big-env"


def big_environment(root: Path) -> tuple[Path, dict[str, Path]]:
    """The environment's prefix under ``root`` and its archive of each suffix, made if missing."""
    import conda_pack

    from devtools.conda_layout import build_env

    prefix = root / ENV_NAME
    if not (prefix / "conda-meta" / "history").exists():
        print(f"building {prefix} from {len(PACKAGES)} packages and their dependencies (once)...")
        build_env(prefix, PACKAGES)
        # venv's lib64 -> lib link, which no conda environment has: conda-pack's zip archives
        # follow links to folders, so the .zip would hold every file of lib/ twice.
        if (prefix / "lib64").is_symlink():
            (prefix / "lib64").unlink()
    archives = {}
    for suffix in SUFFIXES:
        path = root / f"{ENV_NAME}{suffix}"
        if not path.exists():
            print(f"packing {path.name} (once)...")
            part = root / f"{ENV_NAME}.part{suffix}"
            conda_pack.pack(prefix=str(prefix), output=str(part), n_threads=-1, force=True, verbose=False)
            os.replace(part, path)
        archives[suffix] = path
    return prefix, archives


def tree_figures(folder: Path) -> tuple[int, int]:
    """The bytes and the number of the files (symbolic links included) under ``folder``."""
    size = count = 0
    for directory, _, files in os.walk(folder):
        for name in files:
            size += os.lstat(os.path.join(directory, name)).st_size
            count += 1
    return size, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        help="folder to build in once and reuse (default: a new temporary one)",
    )
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="big-env-"))
    root.mkdir(parents=True, exist_ok=True)
    prefix, archives = big_environment(root)
    size, files = tree_figures(prefix)
    print(f"\n{prefix}: {size / 1e9:.2f} GB in {files:,} files")
    sizes = {suffix: path.stat().st_size for suffix, path in archives.items()}
    for suffix, archive_size in sizes.items():
        print(f"  {archives[suffix].name:<20} {archive_size / 1e6:>9.1f} MB  ({archive_size / size:.0%})")
    print(f"wrote {write_results('big_env', {'bytes': size, 'files': files, 'archive_bytes': sizes})}")
    if size < MIN_BYTES or files < MIN_FILES:
        raise SystemExit(
            f"the environment has {size:,} bytes in {files:,} files, less than the {MIN_BYTES:,} bytes "
            f"and {MIN_FILES:,} files it is for: add packages to PACKAGES"
        )


if __name__ == "__main__":
    main()
