"""The DAG-integrity check on a folder of 50 DAG files with 200 notebook tasks (target: < 10 s).

Generates, in a temporary folder, 50 DAG files of 4 ``JupyterCondaOperator`` tasks each; every
task has a notebook of its own (200 notebooks, so no reading is shared), half of them pass
``parameters`` as a dict and half as ``"{{ params | tojson }}"`` of the DAG's params, each names
a pool from a pools file, and each runs in an environment folder (conda layout, with a
``python3`` kernel) so that every check applies. The folder is checked with ``strict=True``
and must give no finding.

Each sample is a fresh interpreter, as a CI run is: it imports Airflow and the checks, loads
the folder with Airflow's DagBag, then checks it (``check_dagbag``). The figure judged is
DagBag + checks, which is what ``check_dag_folder`` does; the import, paid once by any test
session that uses Airflow, is shown beside it.

    python -m benchmarks.dag_integrity [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import summary_ms, write_results
from devtools.notebooks import write_notebook

TARGET_S = 10.0
DAG_FILES = 50
TASKS_PER_DAG = 4
POOLS = ("etl", "reports")

DAG_FILE = """
from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(
    dag_id="bench_{dag}",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={{"days": Param(7, type="integer"), "region": Param("north", type="string")}},
):
    for task in range({tasks}):
        JupyterCondaOperator(
            task_id=f"notebook_{{task}}",
            conda_env="env",
            kernel="python3",
            input_nb=f"notebooks/bench_{dag}_{{task}}.ipynb",
            output_nb="output/{{{{ dag.dag_id }}}}/{{{{ run_id }}}}/" + f"{{task}}.ipynb",
            parameters={{"days": 3, "region": "south"}} if task % 2 else "{{{{ params | tojson }}}}",
            worker_group={pools!r}[task % {pool_count}],
        )
"""

CHILD = """
import json, sys, time
start = time.perf_counter()
from airflow_jupyter_provider.compat import dag_bag_class
from airflow_jupyter_provider.testing import check_dagbag
DagBag = dag_bag_class()
imported = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
loaded = time.perf_counter()
findings = check_dagbag(bag, strict=True, pools_file=sys.argv[2])
checked = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "dagbag_s": loaded - imported,
    "checks_s": checked - loaded,
    "dag_files": len(bag.dagbag_stats),
    "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
    "findings": [str(finding) for finding in findings],
}))
"""


def write_folder(folder: Path) -> Path:
    """Lay out the DAG files, their notebooks, the environment folder and the pools file; return the
    pools file."""
    (folder / "notebooks").mkdir(parents=True)
    kernel = folder / "env" / "share" / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        '{"argv": ["python"], "display_name": "Python 3", "language": "python"}'
    )
    (folder / "env" / "conda-meta").mkdir()
    (folder / "env" / "conda-meta" / "history").touch()
    for dag in range(DAG_FILES):
        (folder / f"bench_{dag}.py").write_text(
            DAG_FILE.format(dag=dag, tasks=TASKS_PER_DAG, pools=POOLS, pool_count=len(POOLS))
        )
        for task in range(TASKS_PER_DAG):
            write_notebook(
                folder / "notebooks" / f"bench_{dag}_{task}.ipynb",
                f'days = 7\nregion = "north"\nlabel = "task {task}"',
                "print(days, region, label)",
            )
    pools_file = folder.parent / "pools.json"
    pools_file.write_text(json.dumps({pool: {"slots": 4, "description": pool} for pool in POOLS}))
    return pools_file


def sample(folder: Path, pools_file: Path, env: dict[str, str]) -> dict:
    """One fresh interpreter's timings (seconds) and findings."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(pools_file)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    # Airflow logs to stdout too; the figures are the last line.
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag-integrity-") as workdir:
        folder = Path(workdir) / "dags"
        pools_file = write_folder(folder)
        env = dict(
            os.environ, AIRFLOW_HOME=str(Path(workdir) / "airflow-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False"
        )
        sample(folder, pools_file, env)  # warms the disk cache and writes Python's bytecode caches
        samples = [sample(folder, pools_file, env) for _ in range(args.runs)]

    first = samples[0]
    if first["findings"] or first["tasks"] != DAG_FILES * TASKS_PER_DAG or first["dag_files"] != DAG_FILES:
        raise SystemExit(f"the generated folder is not what it should be: {first}")
    phases = {
        "import Airflow and the checks": [s["import_s"] for s in samples],
        "DagBag: parse 50 files": [s["dagbag_s"] for s in samples],
        "checks of 200 tasks": [s["checks_s"] for s in samples],
        "check_dag_folder (DagBag + checks)": [s["dagbag_s"] + s["checks_s"] for s in samples],
        "with the import": [s["import_s"] + s["dagbag_s"] + s["checks_s"] for s in samples],
    }
    print(f"{DAG_FILES} DAG files, {first['tasks']} JupyterCondaOperator tasks, strict, {args.runs} runs")
    print(f"{'phase':<40} {'median':>9} {'min':>9} {'max':>9}")
    for phase, seconds in phases.items():
        print(f"{phase:<40} {statistics.median(seconds):>8.2f}s {min(seconds):>8.2f}s {max(seconds):>8.2f}s")
    judged = statistics.median(phases["check_dag_folder (DagBag + checks)"])
    verdict = "met" if judged < TARGET_S else "MISSED"
    print(f"\ncheck_dag_folder: {judged:.2f} s (median), target < {TARGET_S:.0f} s: {verdict}")
    path = write_results(
        "dag_integrity",
        {
            "dag_files": DAG_FILES,
            "tasks": first["tasks"],
            "runs": args.runs,
            "target_s": TARGET_S,
            "phases": {phase: summary_ms(seconds) for phase, seconds in phases.items()},
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
