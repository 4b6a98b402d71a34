"""Import cost of the operator module beyond ``import airflow.sdk``.

A DAG file that uses the operator imports its module on every parse; ``import airflow.sdk`` is
paid by every DAG file anyway, so what the module adds on top of it is the provider's share of
parse time (target: <= 20 ms).

Each sample is a fresh interpreter that times ``import airflow.sdk`` and then the module with
perf_counter. Both times come from the same process: the difference of two separate
interpreters would carry their start-up noise (about 100 ms here), which drowns a 20 ms target.
The modules are measured in turn, round after round, so that a busy spell slows them alike.

    python -m benchmarks.import_cost [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from benchmarks.common import summary_ms, write_results

TARGET_MS = 20.0
MODULES = {
    "airflow_jupyter_provider.operators.jupyter_conda": "this provider's operator",
    "airflow.providers.papermill.operators.papermill": "the papermill provider's operator",
    "papermill": "papermill itself (what a module-level import of it costs)",
}

CHILD = """
import json, sys, time
start = time.perf_counter()
import airflow.sdk
after_sdk = time.perf_counter()
try:
    __import__(sys.argv[1])
except ModuleNotFoundError as err:
    if not sys.argv[1].startswith(err.name):
        raise
    print(json.dumps(None))
else:
    print(json.dumps([after_sdk - start, time.perf_counter() - after_sdk]))
"""


def sample(module: str, env: dict[str, str]) -> tuple[float, float] | None:
    """(seconds for airflow.sdk, seconds for ``module`` after it), or None if it is not installed."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, module], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per module (default 15)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
        # A worker imports from bytecode caches: a shell that forbids writing them would have
        # every sample compile the modules from source.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        installed = [module for module in MODULES if sample(module, env) is not None]  # also warms caches
        samples: dict[str, list[tuple[float, float]]] = {module: [] for module in installed}
        for _ in range(args.runs):
            for module in installed:
                samples[module].append(sample(module, env))

    results = {}
    print(f"{'module':<50} {'beyond airflow.sdk (median, min-max)':>36} {'airflow.sdk':>12}")
    for module, what in MODULES.items():
        if module not in samples:
            results[module] = None
            print(f"{module:<50} {'not installed':>36}")
            continue
        sdk, extra = summary_ms([s[0] for s in samples[module]]), summary_ms([s[1] for s in samples[module]])
        results[module] = {"what": what, "beyond_sdk": extra, "airflow_sdk": sdk}
        spread = f"{extra['median_ms']:.1f} ms ({extra['min_ms']:.1f}-{extra['max_ms']:.1f})"
        print(f"{module:<50} {spread:>36} {sdk['median_ms']:>9.0f} ms")

    operator = results["airflow_jupyter_provider.operators.jupyter_conda"]["beyond_sdk"]["median_ms"]
    verdict = "met" if operator <= TARGET_MS else "MISSED"
    print(f"\noperator module: {operator:.1f} ms beyond airflow.sdk, target <= {TARGET_MS:.0f} ms: {verdict}")
    path = write_results("import_cost", {"runs": args.runs, "target_ms": TARGET_MS, "modules": results})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
