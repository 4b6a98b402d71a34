"""What every benchmark records beside its figures, and where it writes them (benchmarks/results/)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
from contextlib import ExitStack
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).with_name("results")
#: The environment the notebook benchmarks run in: papermill and ipykernel.
BENCH_ENV = "jupyter-bench"
PACKAGES = ("apache-airflow", "airflow-jupyter-provider", "papermill")


def machine() -> dict:
    """Date, interpreter, CPU count and package versions: what a figure is only valid for."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def summary_ms(samples: list[float]) -> dict:
    """Median, min and max of ``samples`` (seconds), in milliseconds, with the samples themselves."""
    ms = [round(s * 1000, 2) for s in samples]
    return {
        "median_ms": round(statistics.median(ms), 2),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "samples_ms": ms,
    }


def write_results(name: str, figures: dict) -> Path:
    """Write ``figures`` with the machine description to results/NAME.json; return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**machine(), **figures}, indent=2) + "\n")
    return path


def bench_conda(stack: ExitStack, root: Path | None) -> tuple[Path, Path]:
    """``conda.sh`` of a conda-layout installation, and the prefix of its environment BENCH_ENV.

    Built in ``root`` once and reused, or, without ``root``, in a temporary folder that
    ``stack`` removes.
    """
    from devtools.conda_layout import build_env, conda_root

    root = root or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="conda-bench-")))
    conda_sh = conda_root(root)
    prefix = root / "envs" / BENCH_ENV
    if not (prefix / "bin" / "papermill").exists():
        print(f"building {prefix} (once)...")
        build_env(prefix)
    return conda_sh, prefix
