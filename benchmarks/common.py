"""What every benchmark records beside its figures, and where it writes them (benchmarks/results/)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
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


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(runs: int, actions: Mapping[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds of ``runs`` runs of each action, after one unmeasured run of each.

    The actions alternate, and which goes first flips every round, so that a noisy machine
    slows each alike.
    """
    for action in actions.values():  # warm-up: caches, imports
        action()
    order = list(actions.items())
    times: dict[str, list[float]] = {name: [] for name in actions}
    for round_ in range(runs):
        for name, action in order if round_ % 2 == 0 else reversed(order):
            times[name].append(timed(action))
    return times


def print_table(heading: str, figures: Mapping[str, dict], runs: int) -> None:
    """Median, min and max in seconds of each ``summary_ms`` in ``figures``, one row each."""
    width = max(len(heading), *map(len, figures))
    print(f"\n{heading:<{width}} {'median':>10} {'min':>10} {'max':>10}   ({runs} runs each)")
    for name, summary in figures.items():
        seconds = [summary[key] / 1000 for key in ("median_ms", "min_ms", "max_ms")]
        print(f"{name:<{width}} " + " ".join(f"{value:>9.2f}s" for value in seconds))


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


def conda_connection(conda_sh: Path) -> str:
    """The ``AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT`` value of a connection whose conda.sh is ``conda_sh``."""
    return json.dumps({"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_sh)}})
