"""What ``output_html`` costs a task: one notebook run with the HTML rendered, and one without.

Each sample is a fresh interpreter, as a task process is, that runs
``JupyterCondaHook.run`` once, so the figure includes importing nbconvert (which a
long-lived process would pay once). The runs alternate, and which one goes first flips every
round; one unmeasured run of each warms the caches. Figures: the median wall time of each, the
ratio with / without, and the extra seconds per task.

    python -m benchmarks.html_render [--root CONDA_ROOT] [--runs 10]

Without --root the conda installation (the conda.sh double, one environment with papermill and
ipykernel) is built in a temporary folder and removed; with it, it is built there once and reused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from benchmarks.common import (
    bench_conda,
    conda_connection,
    interleaved,
    print_table,
    summary_ms,
    write_results,
)
from benchmarks.hook_overhead import SMALL_NOTEBOOK
from devtools.notebooks import write_notebook

#: One task's notebook run in a fresh interpreter: argv[1] input, argv[2] output, argv[3] HTML or "".
ONE_RUN = """
import sys
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.run.request import NotebookRun
JupyterCondaHook().run(NotebookRun.create(
    input_nb=sys.argv[1], output_nb=sys.argv[2], conda_env=sys.argv[4], output_html=sys.argv[3] or None
))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, help="conda installation to build once and reuse")
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each (default 10)")
    args = parser.parse_args()

    with ExitStack() as stack:
        conda_sh, prefix = bench_conda(stack, args.root)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="html-bench-")))
        notebook = write_notebook(work / "notebook.ipynb", *SMALL_NOTEBOOK)
        env = dict(
            os.environ,
            AIRFLOW_HOME=str(work / "airflow"),
            AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT=conda_connection(conda_sh),
        )

        def run(html: bool) -> None:
            output = work / ("with.ipynb" if html else "without.ipynb")
            argv = [sys.executable, "-c", ONE_RUN, str(notebook), str(output)]
            argv += [str(output.with_suffix(".html")) if html else "", prefix.name]
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        times = interleaved(args.runs, {"with_html": partial(run, True), "without_html": partial(run, False)})

    with_html, without_html = summary_ms(times["with_html"]), summary_ms(times["without_html"])
    ratio = with_html["median_ms"] / without_html["median_ms"]
    extra_s = (with_html["median_ms"] - without_html["median_ms"]) / 1000
    print_table("task", {"with HTML": with_html, "without HTML": without_html}, args.runs)
    print(f"\nwith / without = {ratio:.3f} (medians): {extra_s:+.2f} s per task")
    path = write_results(
        "html_render",
        {
            "runs": args.runs,
            "ratio": round(ratio, 4),
            "extra_seconds_per_task": round(extra_s, 3),
            "with_html": with_html,
            "without_html": without_html,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
