"""What ``notebook_params`` adds to a DAG parse (target: < 5 ms for the example notebook, with
papermill not imported).

A DAG file that builds its ``params`` with ``notebook_params`` reads its notebook at every parse,
and a DAG processor parses each file in a process of its own. So each sample is a fresh
interpreter that imports ``airflow.sdk`` (every DAG file does), then times, with perf_counter,
importing ``airflow_jupyter_provider.notebook_params`` and the first call on the example notebook
(``first``), then ``--calls`` more calls (``repeat``, the reading and parsing alone). It reports
whether papermill, nbformat or nbclient were imported.

    python -m benchmarks.notebook_params [--runs 15] [--calls 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import summary_ms, write_results

TARGET_MS = 5.0
NOTEBOOK = Path(__file__).resolve().parent.parent / "example_dags" / "notebooks" / "demand_forecast.ipynb"
HEAVY = ("papermill", "nbformat", "nbclient")

CHILD = """
import json, sys, time
import airflow.sdk
start = time.perf_counter()
from airflow_jupyter_provider.notebook_params import notebook_params
imported = time.perf_counter()
notebook_params(sys.argv[1])
first = time.perf_counter()
repeats = []
for _ in range(int(sys.argv[2])):
    began = time.perf_counter()
    notebook_params(sys.argv[1])
    repeats.append(time.perf_counter() - began)
heavy = [name for name in sys.argv[3].split(",") if name in sys.modules]
print(json.dumps([imported - start, first - imported, repeats, heavy]))
"""


def sample(calls: int, env: dict[str, str]) -> tuple[float, float, list[float], list[str]]:
    """(import seconds, first call seconds, later calls' seconds, heavy modules loaded)."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(NOTEBOOK), str(calls), ",".join(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return tuple(json.loads(result.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters (default 15)")
    parser.add_argument("--calls", type=int, default=20, help="calls after the first in each (default 20)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a DAG processor imports from bytecode caches
        sample(args.calls, env)  # warms the caches
        samples = [sample(args.calls, env) for _ in range(args.runs)]

    imports = summary_ms([s[0] for s in samples])
    firsts = summary_ms([s[1] for s in samples])
    fresh = summary_ms([s[0] + s[1] for s in samples])
    repeats = summary_ms([seconds for s in samples for seconds in s[2]])
    heavy = sorted({name for s in samples for name in s[3]})
    print(f"{'notebook_params, ' + NOTEBOOK.name:<44} {'median':>9} {'min':>9} {'max':>9}")
    for label, figures in [
        ("import of the module", imports),
        ("first call", firsts),
        ("import + first call (a DAG parse)", fresh),
        (f"later calls ({args.calls} a process)", repeats),
    ]:
        cells = " ".join(f"{figures[key]:>6.2f} ms" for key in ("median_ms", "min_ms", "max_ms"))
        print(f"{label:<44} {cells}")
    met = fresh["median_ms"] < TARGET_MS and not heavy
    print(f"\nheavy modules imported: {', '.join(heavy) or 'none'}")
    verdict = "met" if met else "MISSED"
    print(f"a DAG parse pays {fresh['median_ms']:.2f} ms, target < {TARGET_MS:.0f} ms: {verdict}")
    path = write_results(
        "notebook_params",
        {
            "runs": args.runs,
            "calls": args.calls,
            "target_ms": TARGET_MS,
            "notebook": NOTEBOOK.name,
            "import": imports,
            "first_call": firsts,
            "fresh_process": fresh,
            "later_calls": repeats,
            "heavy_modules": heavy,
            "papermill_imported": "papermill" in heavy,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
