"""Requirements layered on a conda environment (issue 23): building a layer, and using it again.

A conda-layout installation (the ``conda.sh`` double, one environment with papermill and
ipykernel, as ``hook_overhead.py`` builds it) and the conda-pack ``.tar.gz`` of that
environment; one small wheel made here (``jcbench-tiny``, one module, no dependencies), served
from a folder (the connection's ``find_links``, with ``PIP_NO_INDEX``/``UV_NO_INDEX``), so a
build measures the installer and not the network. None of the machine's pip or uv configuration
reaches the installers (as the tests' ``installer`` fixture: no ``PIP_*``/``UV_*`` variables,
``PIP_CONFIG_FILE=/dev/null``, ``UV_NO_CONFIG=1``, caches of the benchmark's own). Measured,
in process, through ``resolve_environment(...).activate(...)`` as a task activates:

- the cold build of a layer with ``jcbench-tiny`` on the named environment, by uv and by pip,
  each into an empty environment cache (probe of the base's Python, virtual environment,
  install, marker), with the installer's own cache warm (kept from the warm-up build) and cold
  (an empty one each round): four rows, interleaved, the order flipping every round;
- the warm activation of that layer, a cache hit (probe of the base's Python, lock, marker),
  for uv-built and pip-built layers on the named and on the packed environment, against the
  warm activation of the same packed environment without requirements (target: under 50 ms);
  each round runs ``--calls`` activations of each, the order rotating every round; and, to show
  where a warm activation's time goes, the probe of the base's Python alone.

    python -m benchmarks.requirements_layer [--root FOLDER] [--work FOLDER] [--rounds 7] [--calls 20]

Without --root the installation is built in a temporary folder and removed; with it, it is
built there once and reused. The caches (environment cache, uv's and pip's) go in a temporary
folder under --work (default: --root's, or the system's temporary folder): on tmpfs
(``--work /dev/shm``) the disk's noise stays out of the builds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from benchmarks.common import BENCH_ENV, bench_conda, summary_ms, write_results
from devtools.conda_layout import pack
from tests.environments.layer_user import recording_log
from tests.package_index import make_wheel

PACKAGE = "jcbench-tiny"
INSTALLERS = ("uv", "pip")
#: Where each installer keeps its downloads and unpacked wheels.
CACHE_VARIABLE = {"uv": "UV_CACHE_DIR", "pip": "PIP_CACHE_DIR"}
TARGET_MS = 50
LOG_NAME = "requirements-layer-benchmark"


def hermetic() -> None:
    """Keep the machine's pip and uv configuration away from the installers; no index at all."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_")):
            del os.environ[name]
    os.environ.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_NO_INDEX="1", UV_NO_INDEX="1")


def use_installer(installer: str, cache: Path) -> None:
    """The next builds are by ``installer``, with ``cache`` as its own cache."""
    os.environ["AIRFLOW__JUPYTER_CONDA__REQUIREMENTS_INSTALLER"] = installer
    os.environ[CACHE_VARIABLE[installer]] = str(cache)


class Bench:
    """The environments to activate and the settings of each environment cache."""

    def __init__(self, conda_sh: Path, archive: Path, wheels: Path) -> None:
        from airflow_jupyter_provider.environments import ResolveOptions, resolve_environment

        self.conda_sh, self.wheels = conda_sh, wheels
        layered = ResolveOptions(Path.cwd(), requirements=(PACKAGE,))
        self.environments = {
            "named": resolve_environment(BENCH_ENV, layered),
            "packed": resolve_environment(str(archive), layered),
            "packed, no requirements": resolve_environment(str(archive), ResolveOptions(Path.cwd())),
        }

    def settings(self, cache: Path):
        from airflow_jupyter_provider.config import WorkerSettings

        extra = {
            "conda_path": str(self.conda_sh),
            "find_links": str(self.wheels),
            "env_cache_dir": str(cache),
        }
        return WorkerSettings.load(extra)

    def activate(self, kind: str, cache: Path) -> tuple[list[str], str | None]:
        """One activation of ``kind`` through the cache at ``cache``: the log's messages, the layer."""
        log, messages = recording_log(LOG_NAME)
        with self.environments[kind].activate(self.settings(cache), log) as activation:
            pass
        return messages.lines, activation.layer


def expect(lines: list[str], words: str, what: str) -> None:
    if not any(words in line for line in lines):
        raise SystemExit(f"{what}: the log does not say {words!r}:\n" + "\n".join(lines))


def cold_builds(bench: Bench, work: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds of each cold build, interleaved: an empty environment cache every time, the
    installer's own cache kept from the warm-up build (warm) or empty (cold)."""
    variants = [(installer, warm) for installer in INSTALLERS for warm in (True, False)]
    times = {
        f"{installer}, {installer} cache {'warm' if warm else 'cold'}": [] for installer, warm in variants
    }

    def build(installer: str, installer_cache: Path, cache: Path) -> float:
        use_installer(installer, installer_cache)
        started = time.perf_counter()
        lines, _ = bench.activate("named", cache)
        seconds = time.perf_counter() - started
        expect(lines, ": built at ", f"cold build by {installer}")
        expect(lines, f"with {installer} on", f"cold build by {installer}")
        shutil.rmtree(cache)
        return seconds

    for installer in INSTALLERS:  # warm-up: fills the kept installer caches, imports
        build(installer, work / f"{installer}-cache", work / "cold-warm-up")
    for round_ in range(rounds):
        for installer, warm in variants if round_ % 2 == 0 else reversed(variants):
            name = f"{installer}, {installer} cache {'warm' if warm else 'cold'}"
            installer_cache = work / (f"{installer}-cache" if warm else f"{installer}-cache-{round_}")
            times[name].append(build(installer, installer_cache, work / "cold"))
            if not warm:
                shutil.rmtree(installer_cache, ignore_errors=True)  # pip keeps no local wheel
    return times


def warm_caches(bench: Bench, work: Path) -> dict[str, Path]:
    """An environment cache per installer holding the packed environment and both layers."""
    caches = {}
    for installer in INSTALLERS:
        caches[installer] = cache = work / f"warm-{installer}"
        use_installer(installer, work / f"{installer}-cache")
        for kind in ("named", "packed"):
            bench.activate(kind, cache)
            lines, layer = bench.activate(kind, cache)
            expect(lines, ": cached at ", f"warm activation of the {kind} layer by {installer}")
            check_layer(Path(layer))
    return caches


def check_layer(layer: Path) -> None:
    """The layer's Python imports the package and the base's papermill."""
    probe = "import jcbench_tiny, papermill; print(jcbench_tiny.VALUE)"
    done = subprocess.run([layer / "bin" / "python", "-c", probe], capture_output=True, text=True)
    if done.returncode != 0 or done.stdout.strip() != "tiny 1.0":
        raise SystemExit(f"the layer {layer} does not work: {done.stderr.strip()}")


def warm_activations(
    bench: Bench, caches: dict[str, Path], rounds: int, calls: int, stack: ExitStack
) -> dict[str, list[float]]:
    """Seconds of each warm activation: ``calls`` of each in every round, the order rotating."""
    actions: dict[str, Callable[[], object]] = {
        "packed, no requirements": lambda: bench.activate("packed, no requirements", caches["uv"]),
        "packed + layer by uv": lambda: bench.activate("packed", caches["uv"]),
        "packed + layer by pip": lambda: bench.activate("packed", caches["pip"]),
        "named + layer by uv": lambda: bench.activate("named", caches["uv"]),
        "named + layer by pip": lambda: bench.activate("named", caches["pip"]),
        "probe of the base's Python alone, packed": probe(bench, "packed", caches["uv"], stack),
        "probe of the base's Python alone, named": probe(bench, "named", caches["uv"], stack),
    }
    for action in actions.values():
        action()
    order = list(actions.items())
    times: dict[str, list[float]] = {name: [] for name in actions}
    for round_ in range(rounds):
        shift = round_ % len(order)
        for name, action in order[shift:] + order[:shift]:
            for _ in range(calls):
                started = time.perf_counter()
                action()
                times[name].append(time.perf_counter() - started)
    return times


def probe(bench: Bench, kind: str, cache: Path, stack: ExitStack) -> Callable[[], object]:
    """The layer's first step alone: asking the base environment's Python what it is (one
    process; through ``conda activate`` for a named base), the base already activated."""
    from airflow_jupyter_provider.environments.layers import BasePython
    from airflow_jupyter_provider.notebook_env import notebook_env

    settings = bench.settings(cache)
    env = notebook_env(os.environ, {}, settings.notebook_env_keep())
    base = bench.environments[kind].base
    activation = stack.enter_context(base.activate(settings, recording_log(LOG_NAME)[0]))
    return lambda: BasePython.of(activation, env)


def report(
    cold: dict[str, dict], warm: dict[str, dict], ratios: dict[str, float], rounds: int, calls: int
) -> str:
    lines = [f"cold build of a layer with {PACKAGE} on the named base ({rounds} rounds)", ""]
    lines.append(f"{'installer, its own cache':<28} {'median':>8} {'min':>8} {'max':>8}")
    for name, summary in cold.items():
        seconds = [summary[key] / 1000 for key in ("median_ms", "min_ms", "max_ms")]
        lines.append(f"{name:<28} " + " ".join(f"{value:>7.2f}s" for value in seconds))
    lines += [
        "",
        f"warm activation, cache hit ({rounds} rounds x {calls} calls; target < {TARGET_MS} ms)",
        "",
    ]
    width = max(map(len, warm))
    lines.append(f"{'':<{width}} {'median':>9} {'min':>9} {'max':>9}")
    for name, summary in warm.items():
        lines.append(
            f"{name:<{width}} "
            + " ".join(f"{summary[key]:>7.2f}ms" for key in ("median_ms", "min_ms", "max_ms"))
        )
    lines += ["", "ratios of medians (this run)", ""]
    width = max(map(len, ratios))
    lines += [f"{name:<{width}} {value:>8.2f}" for name, value in ratios.items()]
    return "\n".join(lines)


def ratios_of(cold: dict[str, dict], warm: dict[str, dict]) -> dict[str, float]:
    def median(figures: dict[str, dict], name: str) -> float:
        return figures[name]["median_ms"]

    ratios = {
        f"pip / uv, cold build, installer cache {state}": median(cold, f"pip, pip cache {state}")
        / median(cold, f"uv, uv cache {state}")
        for state in ("warm", "cold")
    }
    for installer in INSTALLERS:
        ratios[f"{installer}: installer cache cold / warm"] = median(
            cold, f"{installer}, {installer} cache cold"
        ) / (median(cold, f"{installer}, {installer} cache warm"))
    packed = median(warm, "packed, no requirements")
    for name in warm:
        if "+ layer" in name:
            ratios[f"warm {name} / packed, no requirements"] = median(warm, name) / packed
    return {name: round(value, 2) for name, value in ratios.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="build the conda installation and the archive here once")
    parser.add_argument("--work", type=Path, help="folder for the caches (default: --root's or the system's)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20, help="warm activations of each kind a round")
    args = parser.parse_args()
    with ExitStack() as stack:
        conda_sh, prefix = bench_conda(stack, args.root)
        archive = prefix.parent.parent / f"{BENCH_ENV}.tar.gz"
        if not archive.exists():
            print(f"packing {archive} (once)...")
            pack(prefix, archive)
        hermetic()  # after the base is built, from the machine's package index
        parent = args.work or args.root
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="layer-bench-", dir=parent)))
        # Airflow reads its home when first imported: one of its own, so no other is touched.
        os.environ["AIRFLOW_HOME"] = str(work / "airflow")
        wheel = make_wheel(work / "wheels", PACKAGE, "1.0", {"jcbench_tiny.py": "VALUE = 'tiny 1.0'\n"})
        bench = Bench(conda_sh, archive, wheel.parent)
        load = [os.getloadavg()[0]]
        cold = {name: summary_ms(samples) for name, samples in cold_builds(bench, work, args.rounds).items()}
        load.append(os.getloadavg()[0])
        caches = warm_caches(bench, work)
        warm_times = warm_activations(bench, caches, args.rounds, args.calls, stack)
        warm = {name: summary_ms(samples) for name, samples in warm_times.items()}
        load.append(os.getloadavg()[0])
    ratios = ratios_of(cold, warm)
    print(report(cold, warm, ratios, args.rounds, args.calls))
    print(f"\nload average (1 min) at the start, after the cold builds, at the end: {load}")
    figures = {
        "rounds": args.rounds,
        "calls": args.calls,
        "work": str(args.work or args.root or tempfile.gettempdir()),
        "load_average": load,
        "cold_build": cold,
        "warm_activation": warm,
        "ratios": ratios,
    }
    print(f"\nwritten to {write_results('requirements_layer', figures)}")


if __name__ == "__main__":
    main()
