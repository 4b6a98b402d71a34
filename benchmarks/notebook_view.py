"""What a view of the Notebook tab costs: the first view of the example notebook in a fresh API
server process (nbconvert imported and the page rendered on that request), and a view of the
same, unchanged notebook from the API server's cache.

Setup, once: a temporary Airflow home (SQLite), the example notebook executed by papermill with
its default parameters, and ``airflow dags test`` of a one-task DAG that stamps that notebook and
records it (``NOTEBOOK_XCOM_KEY``) as the operator does. Then each sample is a fresh interpreter
that builds the API server's app (``airflow.api_fastapi.app.create_app``, plugins mounted), as
``airflow api-server`` has done before any request, and times with ``perf_counter`` the first
GET of the tab's rendered notebook (``.../view``), then ``--cached`` more GETs of it. Requests go
through the whole app in-process (authentication with a JWT, the database look-ups, the render),
without a socket.

    python -m benchmarks.notebook_view [--runs 8] [--cached 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from benchmarks.common import summary_ms, write_results
from devtools.demo import EXAMPLE_DAGS

EXAMPLE_NOTEBOOK = EXAMPLE_DAGS / "notebooks" / "demand_forecast.ipynb"
DAG_ID = "notebook_view_bench"

#: The DAG whose one task instance records the executed example notebook, stamped with it.
DAG = textwrap.dedent(
    """
    import os
    from pathlib import Path

    import nbformat
    import pendulum
    from airflow.sdk import dag, get_current_context, task

    from airflow_jupyter_provider.notebook_stamp import stamp, task_instance_identity
    from airflow_jupyter_provider.plugins import NOTEBOOK_XCOM_KEY


    @dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
    def notebook_view_bench():
        @task
        def demand_forecast():
            ti = get_current_context()["ti"]
            notebook = nbformat.read(os.environ["BENCH_EXECUTED"], as_version=4)
            stamp(notebook, task_instance_identity(ti.dag_id, ti.run_id, ti.task_id, ti.map_index))
            output = Path(os.environ["BENCH_OUTPUT"], "demand_forecast.ipynb")
            nbformat.write(notebook, output)
            ti.xcom_push(key=NOTEBOOK_XCOM_KEY, value={"output_nb": str(output), "conn_id": None})

        demand_forecast()


    notebook_view_bench()
    """
)

#: One API server process: argv[1] the view's URL, argv[2] how many cached views; prints seconds.
ONE_SERVER = """
import json, sys, time
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient

with TestClient(create_app("core")) as client:
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="bench", role="viewer"))
    headers = {"Authorization": f"Bearer {token}"}
    def view():
        started = time.perf_counter()
        response = client.get(sys.argv[1], headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and "Busiest product" in response.text, response.text[:300]
        return elapsed
    first = view()
    cached = [view() for _ in range(int(sys.argv[2]))]
print(json.dumps({"first": first, "cached": cached}))
"""


def airflow(env: dict[str, str], *args: str) -> str:
    """``airflow ARGS``' output; its output in the error if it fails."""
    result = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(work: Path) -> tuple[dict[str, str], str]:
    """The Airflow home with the recorded notebook; the environment and the view's URL."""
    import papermill

    dags, output = work / "dags", work / "output"
    dags.mkdir()
    output.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG)
    executed = work / "executed.ipynb"
    papermill.execute_notebook(
        str(EXAMPLE_NOTEBOOK), str(executed), kernel_name="python3", progress_bar=False
    )
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        BENCH_EXECUTED=str(executed),
        BENCH_OUTPUT=str(output),
    )
    airflow(env, "db", "migrate")
    airflow(env, "dags", "test", DAG_ID)
    runs = airflow(env, "dags", "list-runs", DAG_ID, "--output", "json")
    run_id = json.loads(runs.strip().splitlines()[-1])[0]["run_id"]
    return env, f"/jupyter-conda/notebook/{DAG_ID}/{run_id}/demand_forecast/view?map_index={{MAP_INDEX}}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=8, help="fresh API server processes (default 8)")
    parser.add_argument("--cached", type=int, default=20, help="cached views in each (default 20)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="view-bench-") as folder:
        env, url = prepare(Path(folder))
        firsts, cached = [], []
        for _ in range(args.runs):
            argv = [sys.executable, "-c", ONE_SERVER, url, str(args.cached)]
            result = subprocess.run(argv, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"the API server process failed:\n{result.stderr[-3000:]}")
            times = json.loads(result.stdout.strip().splitlines()[-1])
            firsts.append(times["first"])
            cached.extend(times["cached"])

    first, again = summary_ms(firsts), summary_ms(cached)
    print(
        f"\nfirst view, fresh API server: median {first['median_ms']:.0f} ms (target < 1500 ms), "
        f"min {first['min_ms']:.0f}, max {first['max_ms']:.0f}   ({args.runs} processes)"
    )
    print(
        f"cached view: median {again['median_ms']:.1f} ms (target < 100 ms), "
        f"min {again['min_ms']:.1f}, max {again['max_ms']:.1f}   ({len(cached)} views)"
    )
    path = write_results("notebook_view", {"runs": args.runs, "first_view": first, "cached_view": again})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
