"""What the Notebook tab's support costs a task, and what ``output_html`` does.

Three runs of one small notebook, each a fresh interpreter (as a task process is) running
``JupyterCondaHook.run`` once:

- ``default``: what a task with default settings does: the notebook stamped with its task
  instance (papermill reads a stamped copy), no HTML;
- ``no view support``: the same run without a task instance: no stamp, no copy (and no record,
  which only the operator pushes);
- ``output_html``: the default task with the HTML rendered by nbconvert, as ``output_html=True``.

The runs alternate, and their order flips every round; one unmeasured run of each warms the
caches. Figures: the median wall time and the median CPU time (user + system, of the task
process and the processes it waited for: papermill, the kernel) of each, and the ratios
default / no view support (target at most 1.03) and output_html / no view support, all from
this one invocation. On a machine shared with other work, CPU time is the steadier measure.

    python -m benchmarks.html_render [--root CONDA_ROOT] [--runs 10]

Without --root the conda installation (the conda.sh double, one environment with papermill and
ipykernel) is built in a temporary folder and removed; with it, it is built there once and reused.
"""

from __future__ import annotations

import argparse
import os
import resource
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

#: One task's notebook run in a fresh interpreter: argv[1] input, argv[2] output, argv[3] HTML or
#: "", argv[4] the environment, argv[5] "stamp" to run it as a task instance's.
ONE_RUN = """
import sys
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.notebook_stamp import task_instance_identity
from airflow_jupyter_provider.run.request import NotebookRun
stamped = sys.argv[5] == "stamp"
identity = task_instance_identity("bench", "manual__bench", "notebook", -1) if stamped else None
JupyterCondaHook().run(NotebookRun.create(
    input_nb=sys.argv[1], output_nb=sys.argv[2], conda_env=sys.argv[4], output_html=sys.argv[3] or None,
    task_instance=identity,
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

        cpu: dict[str, list[float]] = {"default": [], "no_view_support": [], "output_html": []}

        def run(name: str, html: bool, stamp: bool) -> None:
            """One task, its CPU time (the task process and every process it waited for) kept."""
            output = work / f"{name}.ipynb"
            argv = [sys.executable, "-c", ONE_RUN, str(notebook), str(output)]
            argv += [str(output.with_suffix(".html")) if html else "", prefix.name, "stamp" if stamp else ""]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

        wall = interleaved(
            args.runs,
            {
                "default": partial(run, "default", False, True),
                "no_view_support": partial(run, "no_view_support", False, False),
                "output_html": partial(run, "output_html", True, True),
            },
        )

    results = {"runs": args.runs}
    for kind, samples in (("wall time", wall), ("CPU time", {k: v[1:] for k, v in cpu.items()})):
        results[kind] = report(kind, samples, args.runs)  # cpu[...][0] is the warm-up's
    print(f"results: {write_results('html_render', results)}")


def report(kind: str, samples: dict[str, list[float]], runs: int) -> dict:
    """Print the medians of ``samples`` and their ratios to the run without view support."""
    figures = {name: summary_ms(values) for name, values in samples.items()}
    bare = figures["no_view_support"]["median_ms"]
    ratios = {name: round(figures[name]["median_ms"] / bare, 4) for name in ("default", "output_html")}
    print_table(f"task, {kind}", figures, runs)
    for name, ratio in ratios.items():
        extra_s = (figures[name]["median_ms"] - bare) / 1000
        print(f"{kind}: {name} / no view support = {ratio:.3f} (medians): {extra_s:+.2f} s per task")
    return {"ratios": ratios, **figures}


if __name__ == "__main__":
    main()
