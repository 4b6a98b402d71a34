"""Overhead of JupyterCondaHook.run over running the same papermill command by hand.

Around papermill the hook adds a temporary folder, the parameters file, ``bash`` sourcing
``conda.sh`` and activating the environment, a session of its own, and every output line read
by Python and written to the task log (JSON lines, as a task's log is written). The direct run
is the environment's own ``bin/papermill`` with the argument vector the hook builds, its output
written to a file too. Target: hook / direct <= 1.05 (ratio of the medians).

The runs alternate, and which one goes first flips every round, so that a noisy machine slows
both alike; one run of each before the measured ones warms the caches. A run of papermill
varies by about +-30% here (kernel start-up and shutdown), while the hook's own work costs
about 1% of it: hence 20 runs of each by default, and the ratio of the minimums (the least
disturbed runs) printed beside the ratio of the medians.

    python -m benchmarks.hook_overhead [--root CONDA_ROOT] [--runs 20]

Without --root the conda installation (the conda.sh double, one environment with papermill
and ipykernel) is built in a temporary folder and removed; with it, it is built there once and
reused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from airflow_jupyter_provider.run.papermill_args import PapermillCommand
from airflow_jupyter_provider.run.parameters import write_parameters_file
from benchmarks.common import (
    bench_conda,
    conda_connection,
    interleaved,
    print_table,
    summary_ms,
    write_results,
)
from devtools.notebooks import write_notebook

TARGET_RATIO = 1.05
PARAMETERS = {"n": 200_000, "label": "benchmark"}


#: A small notebook: a parameters cell, a computation, a few lines of output.
SMALL_NOTEBOOK = (
    "n = 10\nlabel = 'default'",
    "squares = [i * i for i in range(n)]\ntotal = sum(squares)",
    "for step in range(5):\n    print(label, step, total % (step + 7))",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, help="conda installation to build once and reuse")
    parser.add_argument("--runs", type=int, default=20, help="measured runs of each (default 20)")
    args = parser.parse_args()

    with ExitStack() as stack:
        conda_sh, prefix = bench_conda(stack, args.root)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hook-bench-")))
        notebook = write_notebook(work / "notebook.ipynb", *SMALL_NOTEBOOK)
        os.environ["AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT"] = conda_connection(conda_sh)
        # Airflow reads its home when first imported: one of its own, so no other is touched.
        os.environ["AIRFLOW_HOME"] = str(work / "airflow")
        from airflow.sdk.log import configure_logging

        from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
        from airflow_jupyter_provider.run.request import NotebookRun

        configure_logging(json_output=True, output=stack.enter_context(open(work / "hook.log", "wb")))
        direct_log = stack.enter_context(open(work / "direct.log", "w"))

        def hook_run() -> None:
            run = NotebookRun.create(
                input_nb=str(notebook),
                output_nb=str(work / "hook.ipynb"),
                conda_env=prefix.name,
                parameters=PARAMETERS,
            )
            JupyterCondaHook().run(run)

        # The hook's argument vector: its PapermillCommand, with the kernel started in the notebook's folder.
        command = PapermillCommand(
            input_nb=str(notebook),
            output_nb=str(work / "direct.ipynb"),
            parameters_file=write_parameters_file(PARAMETERS, work / "parameters.yaml"),
            others=["--cwd", str(work)],
        )
        direct_argv = [str(prefix / "bin" / "papermill"), *command.argv()]
        direct_env = dict(os.environ, PYTHONUNBUFFERED="1")

        def direct_run() -> None:
            subprocess.run(
                direct_argv, stdout=direct_log, stderr=subprocess.STDOUT, env=direct_env, check=True
            )

        times = interleaved(args.runs, {"hook": hook_run, "direct": direct_run})

    hook, direct = summary_ms(times["hook"]), summary_ms(times["direct"])
    ratio = hook["median_ms"] / direct["median_ms"]
    ratio_min = hook["min_ms"] / direct["min_ms"]
    print_table("run", {"hook": hook, "direct": direct}, args.runs)
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"\nhook / direct = {ratio:.3f} (medians), target <= {TARGET_RATIO}: {verdict}")
    print(f"hook / direct = {ratio_min:.3f} (minimums)")
    path = write_results(
        "hook_overhead",
        {
            "runs": args.runs,
            "target_ratio": TARGET_RATIO,
            "ratio": round(ratio, 4),
            "ratio_of_minimums": round(ratio_min, 4),
            "hook": hook,
            "direct": direct,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
