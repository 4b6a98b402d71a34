"""Conda-layout environments built without conda, for the demo, the tests and the benchmarks.

A ``python -m venv --copies`` prefix with ``conda-meta/history`` is an environment to conda
(and to conda-pack, which packs every file as unmanaged). ``conda_root`` lays out a conda
installation around the ``conda.sh`` test double: ``<root>/etc/profile.d/conda.sh`` and
``<root>/envs/NAME``. Where a real conda is installed, ``real_conda`` uses it instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

DOUBLE = Path(__file__).with_name("conda.sh")
DEFAULT_PACKAGES = ("papermill", "ipykernel")


def build_env(prefix: Path, packages: tuple[str, ...] = DEFAULT_PACKAGES) -> Path:
    """Create a conda-layout environment at ``prefix`` with ``packages`` installed by pip."""
    subprocess.run([sys.executable, "-m", "venv", "--copies", str(prefix)], check=True)
    if packages:
        subprocess.run(
            [
                str(prefix / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *packages,
            ],
            check=True,
        )
    (prefix / "conda-meta").mkdir(exist_ok=True)
    (prefix / "conda-meta" / "history").touch()
    return prefix


def conda_root(root: Path) -> Path:
    """Lay out a conda installation at ``root`` around the double; return its conda.sh."""
    profile = root / "etc" / "profile.d"
    profile.mkdir(parents=True, exist_ok=True)
    (root / "envs").mkdir(exist_ok=True)
    (root / "conda-meta").mkdir(exist_ok=True)
    shutil.copyfile(DOUBLE, profile / "conda.sh")
    return profile / "conda.sh"


def pack(prefix: Path, output: Path) -> Path:
    """Pack ``prefix`` with conda-pack into ``output`` (format from the suffix)."""
    import conda_pack

    conda_pack.pack(prefix=str(prefix), output=str(output), force=True, verbose=False)
    return output


def real_conda() -> str | None:
    """The base folder of a real conda installation on PATH, if there is one."""
    conda = shutil.which("conda")
    if conda is None:
        return None
    info = subprocess.run([conda, "info", "--json"], check=True, capture_output=True, text=True)
    return json.loads(info.stdout)["root_prefix"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, help="folder of the conda installation to lay out")
    parser.add_argument("--env", default="jupyter-demo", help="name of the environment to create")
    parser.add_argument("--pack", type=Path, help="also pack the environment into this archive")
    args = parser.parse_args()
    conda_sh = conda_root(args.root)
    prefix = args.root / "envs" / args.env
    if not prefix.exists():
        build_env(prefix)
    if args.pack:
        pack(prefix, args.pack)
    print(json.dumps({"conda_sh": str(conda_sh), "prefix": str(prefix)}))


if __name__ == "__main__":
    main()
