"""The packed-environment cache against unpacking the archive on every run (issue 3).

Builds a conda-layout environment of at least 140 MB (papermill, ipykernel and a few pure
Python packages), packs it with conda-pack into a .tar.gz, writes a small notebook, then
measures:

- cold activation (copy and hash the archive, extract it, run conda-unpack) against plain
  ``tar -xzf`` of the same archive (target: ratio <= 1.3), and against the standard library's
  extraction alone, which the cache has to use (its ``data`` filter refuses unsafe members);
- warm activation, a cache hit: fingerprint, lookup and shared lock, before papermill starts
  (target: <= 50 ms), for the archive as a local file and behind an http server on loopback;
- 10 consecutive runs of the notebook, the reference way (unpack into a fresh folder, activate,
  papermill, delete: what the DolphinScheduler plugin does) against the cache (the first run
  cold, the others warm): both totals and their ratio;
- 8 tasks started at once on one archive with an empty cache, each activating and running the
  notebook: the number of unpacks (must be 1) and the wall time until all have finished; then
  8 more on the now warm cache; and the same 8 tasks the reference way for comparison.

Cold figures alternate with ``tar -xzf`` so that a busy machine slows both alike.

    python -m benchmarks.packed_env_cache [--root FOLDER] [--cold-runs 3] [--warm-runs 50]

Without --root everything is built in a temporary folder and removed; with it, the
environment and its archive are built there once and reused.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from airflow_jupyter_provider.environments.archive import unpack
from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import HttpArchive, LocalArchive
from benchmarks.common import summary_ms, timed, write_results
from devtools.conda_layout import build_env, pack
from devtools.notebooks import write_notebook

PACKAGES = ("papermill", "ipykernel", "babel", "docutils", "markdown")
MIN_UNPACKED_BYTES = 140_000_000
TASKS = 8
RUNS = 10
QUIET = logging.Logger("benchmark", logging.WARNING)
# The reference way: unpack into a fresh folder, activate, run papermill (never conda-unpack).
REFERENCE_RUN = """
set -e
mkdir -p "$1/jupyter_env"
tar -xzf "$2" -C "$1/jupyter_env"
source "$1/jupyter_env/bin/activate"
papermill --no-progress-bar "$3" "$1/out.ipynb" -k python3 >/dev/null 2>&1
rm -rf "$1"
"""
ACTIVATED_RUN = 'source "$1/bin/activate" && papermill --no-progress-bar "$2" "$3" -k python3 >/dev/null 2>&1'
# One task of the cache way, as a separate process: activate through the cache, run the notebook.
CACHED_TASK = """
import logging, subprocess, sys
from pathlib import Path
from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import LocalArchive
logging.basicConfig(level=logging.INFO, format="%(message)s")
cache_root, archive, notebook, output, activated_run = sys.argv[1:]
source, log = LocalArchive(Path(archive)), logging.getLogger("task")
with EnvironmentCache(Path(cache_root)).environment(source, log=log) as prefix:
    subprocess.run(["bash", "-c", activated_run, "_", str(prefix), notebook, output], check=True)
"""


def build(root: Path) -> tuple[Path, Path]:
    """The environment and its .tar.gz under ``root``, built unless already there."""
    prefix, archive = root / "env", root / "env.tar.gz"
    if not archive.exists():
        build_env(prefix, packages=PACKAGES)
        pack(prefix, archive)
    return prefix, archive


#: A small notebook: a parameters cell, a computation, a few lines of output.
SMALL_NOTEBOOK = (
    "n = 200_000",
    "total = sum(i * i for i in range(n))",
    "for step in range(5):\n    print(step, total % (step + 7))",
)


def measured_environment(root: Path | None, stack: ExitStack) -> tuple[Path, Path, tuple[int, int, int]]:
    """The benchmark environment under ``root`` (a temporary folder if None), its .tar.gz and its
    ``tree_size``; refused when it is smaller than the figures need."""
    root = root or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="env-bench-")))
    root.mkdir(parents=True, exist_ok=True)
    prefix, archive = build(root)
    sizes = tree_size(prefix)
    if sizes[0] < MIN_UNPACKED_BYTES:
        raise SystemExit(f"the environment holds {sizes[0] / 1e6:.0f} MB; the benchmark needs >= 140 MB")
    return prefix, archive, sizes


def tree_size(folder: Path) -> tuple[int, int, int]:
    """Apparent bytes (each inode once), bytes on disk, and the number of files under ``folder``."""
    inodes: dict[int, tuple[int, int]] = {}
    for directory, _, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(directory, name))
            inodes[st.st_ino] = (st.st_size, st.st_blocks * 512)
    return sum(s for s, _ in inodes.values()), sum(b for _, b in inodes.values()), len(inodes)


def activate(cache: EnvironmentCache, source) -> None:
    with cache.environment(source, log=QUIET):
        pass


def cold_against_tar(archive: Path, work: Path, runs: int) -> dict:
    """Cold activation, stdlib extraction alone and ``tar -xzf``, alternating, ``runs`` times each."""
    cold, stdlib, tar = [], [], []
    for run in range(runs):
        for name, samples, action in (
            ("cache", cold, lambda target: activate(EnvironmentCache(target), LocalArchive(archive))),
            ("stdlib", stdlib, lambda target: unpack(archive, target)),
            (
                "tar",
                tar,
                lambda target: subprocess.run(["tar", "-xzf", str(archive), "-C", str(target)], check=True),
            ),
        ):
            target = work / f"{name}-{run}"
            target.mkdir()
            samples.append(timed(partial(action, target)))
            shutil.rmtree(target)
    ratio = statistics.median(cold) / statistics.median(tar)
    return {
        "cold_activation": summary_ms(cold),
        "stdlib_extraction": summary_ms(stdlib),
        "tar_xzf": summary_ms(tar),
        "cold_over_tar": round(ratio, 2),
        "stdlib_over_tar": round(statistics.median(stdlib) / statistics.median(tar), 2),
    }


def warm(archive: Path, work: Path, runs: int) -> dict:
    """Cache hits for the archive as a local file and served over http on loopback."""
    cache = EnvironmentCache(work / "warm-cache")
    with serving(archive.parent) as url:
        sources = {"local": LocalArchive(archive), "http": HttpArchive(f"{url}/{archive.name}")}
        figures = {}
        for name, source in sources.items():
            activate(cache, source)
            figures[name] = summary_ms([timed(partial(activate, cache, source)) for _ in range(runs)])
    shutil.rmtree(cache.root)
    return figures


def ten_runs(archive: Path, notebook: Path, work: Path) -> dict:
    """RUNS consecutive notebook runs, the reference way and through a fresh cache."""
    reference = []
    for run in range(RUNS):
        folder = work / f"reference-{run}"
        argv = ["bash", "-c", REFERENCE_RUN, "_", str(folder), str(archive), str(notebook)]
        reference.append(timed(partial(subprocess.run, argv, check=True)))
    cache, source, cached = EnvironmentCache(work / "runs-cache"), LocalArchive(archive), []

    def cached_run() -> None:
        with cache.environment(source, log=QUIET) as prefix:
            argv = ["bash", "-c", ACTIVATED_RUN, "_", str(prefix), str(notebook), str(work / "out.ipynb")]
            subprocess.run(argv, check=True)

    cached = [timed(cached_run) for _ in range(RUNS)]
    shutil.rmtree(cache.root)
    return {
        "reference_total_s": round(sum(reference), 2),
        "cache_total_s": round(sum(cached), 2),
        "reference_over_cache": round(sum(reference) / sum(cached), 2),
        "reference_runs_s": [round(s, 2) for s in reference],
        "cache_runs_s": [round(s, 2) for s in cached],
    }


def burst(cache_root: Path, archive: Path, notebook: Path, work: Path) -> tuple[float, int]:
    """TASKS processes started at once, each activating through the cache and running the notebook.

    Returns the wall time until all have finished and how many of them unpacked the archive.
    """

    def start(task: int) -> subprocess.Popen:
        output = work / f"concurrent-{task}.ipynb"
        argv = [sys.executable, "-c", CACHED_TASK, str(cache_root), str(archive), str(notebook), str(output)]
        return subprocess.Popen([*argv, ACTIVATED_RUN], stderr=subprocess.PIPE, text=True)

    started = time.perf_counter()
    processes = [start(task) for task in range(TASKS)]
    logs = [process.communicate()[1] for process in processes]
    wall = time.perf_counter() - started
    failed = [log for process, log in zip(processes, logs, strict=True) if process.returncode != 0]
    if failed:
        raise SystemExit(f"a task failed:\n{failed[0]}")
    return wall, sum("unpacked into" in log for log in logs)


def concurrent(archive: Path, notebook: Path, work: Path) -> dict:
    """TASKS tasks at once: through an empty cache, again through the now warm cache, the reference way."""
    cache_root = work / "concurrent-cache"
    cold_wall, cold_unpacks = burst(cache_root, archive, notebook, work)
    warm_wall, warm_unpacks = burst(cache_root, archive, notebook, work)
    started = time.perf_counter()
    references = [
        subprocess.Popen(
            ["bash", "-c", REFERENCE_RUN, "_", str(work / f"ref-{t}"), str(archive), str(notebook)]
        )
        for t in range(TASKS)
    ]
    if any(process.wait() != 0 for process in references):
        raise SystemExit("a reference task failed")
    reference_wall = time.perf_counter() - started
    shutil.rmtree(cache_root)
    return {
        "tasks": TASKS,
        "unpacks": cold_unpacks,
        "cache_wall_s": round(cold_wall, 2),
        "warm_unpacks": warm_unpacks,
        "warm_cache_wall_s": round(warm_wall, 2),
        "reference_wall_s": round(reference_wall, 2),
    }


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The URL of an http server on loopback serving ``folder`` for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def report(env: dict, cold: dict, warm_figures: dict, runs: dict, tasks: dict) -> str:
    rows = [
        (
            "environment",
            f"{env['unpacked_bytes'] / 1e6:.1f} MB in {env['files']} files "
            f"({env['disk_bytes'] / 1e6:.1f} MB on disk); archive {env['archive_bytes'] / 1e6:.1f} MB",
            "",
        ),
        (
            "cold activation (copy+hash, extract, conda-unpack)",
            f"{cold['cold_activation']['median_ms'] / 1000:.2f} s",
            "",
        ),
        (
            "stdlib extraction alone (tarfile, data filter)",
            f"{cold['stdlib_extraction']['median_ms'] / 1000:.2f} s",
            "",
        ),
        ("plain tar -xzf", f"{cold['tar_xzf']['median_ms'] / 1000:.2f} s", ""),
        ("cold activation / tar -xzf", f"{cold['cold_over_tar']:.2f}", "<= 1.3"),
        ("stdlib extraction / tar -xzf", f"{cold['stdlib_over_tar']:.2f}", ""),
        ("warm activation, local archive", f"{warm_figures['local']['median_ms']:.1f} ms", "<= 50 ms"),
        ("warm activation, http on loopback", f"{warm_figures['http']['median_ms']:.1f} ms", "<= 50 ms"),
        (f"{RUNS} runs, unpack every run (reference)", f"{runs['reference_total_s']:.1f} s", ""),
        (f"{RUNS} runs, cache (first cold)", f"{runs['cache_total_s']:.1f} s", ""),
        ("reference / cache", f"{runs['reference_over_cache']:.2f}", ""),
        (f"{TASKS} tasks at once, cache: unpacks", str(tasks["unpacks"]), "1"),
        (f"{TASKS} tasks at once, cache: wall time", f"{tasks['cache_wall_s']:.1f} s", ""),
        (f"{TASKS} tasks at once again, warm cache: unpacks", str(tasks["warm_unpacks"]), "0"),
        (f"{TASKS} tasks at once again, warm cache: wall time", f"{tasks['warm_cache_wall_s']:.1f} s", ""),
        (f"{TASKS} tasks at once, reference: wall time", f"{tasks['reference_wall_s']:.1f} s", ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:<24} {target}".rstrip() for name, value, target in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="build the environment here once and reuse it")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=50)
    args = parser.parse_args()
    with ExitStack() as stack:
        prefix, archive, (unpacked, disk, files) = measured_environment(args.root, stack)
        root = prefix.parent
        env = {
            "unpacked_bytes": unpacked,
            "disk_bytes": disk,
            "files": files,
            "archive_bytes": archive.stat().st_size,
        }
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="work-", dir=root)))
        notebook = write_notebook(work / "notebook.ipynb", *SMALL_NOTEBOOK)
        cold = cold_against_tar(archive, work, args.cold_runs)
        warm_figures = warm(archive, work, args.warm_runs)
        runs = ten_runs(archive, notebook, work)
        tasks = concurrent(archive, notebook, work)
    print(report(env, cold, warm_figures, runs, tasks))
    figures = {"environment": env, "cold": cold, "warm": warm_figures, "ten_runs": runs, "concurrent": tasks}
    print(f"\nwritten to {write_results('packed_env_cache', figures)}")


if __name__ == "__main__":
    main()
