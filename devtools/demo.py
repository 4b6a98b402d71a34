"""Run every example DAG once with ``airflow dags test``: ``python -m devtools.demo``.

Everything the demo makes lives under ``.demo/`` in the repository, built on the first run
and reused after it:

- ``conda/``: a conda installation around the ``conda.sh`` double with the environment
  ``jupyter-demo`` (papermill + ipykernel), or nothing when a real conda is installed, in
  which case its own ``jupyter-demo`` environment is created and used;
- ``jupyter-demo.tar.gz``: that environment packed by conda-pack;
- ``airflow-home/``: a SQLite Airflow home whose DAG folder is ``example_dags/``;
- ``output/``: the executed notebooks, one folder per DAG and run.

Airflow is configured through environment variables only (connection, Variables, DAG
folder), so the demo touches no Airflow home but its own. ``airflow_settings`` is that
configuration; ``devtools.stack`` serves the same DAGs with it. The environment variable
``JUPYTER_DEMO_DIR`` puts all of it in another folder than ``.demo/`` (the tests do).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.conda_layout import build_env, conda_root, pack, real_conda

REPO = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("JUPYTER_DEMO_DIR") or REPO / ".demo")
EXAMPLE_DAGS = REPO / "example_dags"
ENV_NAME = "jupyter-demo"
OUTPUT_DIR = DEMO / "output"


@dataclass(frozen=True)
class DemoConda:
    """What the example DAGs need from conda: a conda.sh that knows ENV_NAME, and its archive."""

    conda_sh: Path
    archive: Path
    real: bool


def prepare_conda() -> DemoConda:
    """The demo environment and its conda-pack archive, built only if not there yet."""
    base = real_conda()
    if base is not None:
        conda_sh = Path(base) / "etc" / "profile.d" / "conda.sh"
        prefix = _real_conda_env(base)
    else:
        conda_sh = conda_root(DEMO / "conda")
        prefix = DEMO / "conda" / "envs" / ENV_NAME
        # build_env writes conda-meta/history last: without it the prefix is half built.
        if not (prefix / "conda-meta" / "history").is_file():
            shutil.rmtree(prefix, ignore_errors=True)
            print(f"Building the conda-layout environment {prefix} (once)", flush=True)
            build_env(prefix)
    archive = DEMO / f"{ENV_NAME}.tar.gz"
    if not archive.is_file():
        print(f"Packing {prefix} into {archive} with conda-pack (once)", flush=True)
        partial = archive.with_name(f"{ENV_NAME}.partial.tar.gz")
        pack(prefix, partial)
        partial.rename(archive)
    return DemoConda(conda_sh=conda_sh, archive=archive, real=base is not None)


def _real_conda_env(base: str) -> Path:
    """The prefix of the real conda's ENV_NAME environment, created if conda has none."""
    conda = shutil.which("conda") or "conda"

    def find() -> Path | None:
        listing = subprocess.run([conda, "env", "list", "--json"], check=True, capture_output=True, text=True)
        prefixes = [Path(p) for p in json.loads(listing.stdout)["envs"]]
        return next((p for p in prefixes if p.name == ENV_NAME and p != Path(base)), None)

    prefix = find()
    if prefix is None:
        print(f"Creating the conda environment {ENV_NAME} with {conda} (once)", flush=True)
        create = [conda, "create", "-y", "-n", ENV_NAME, "python", "papermill", "ipykernel"]
        subprocess.run(create, check=True)
        prefix = find()
        if prefix is None:
            raise SystemExit(f"conda create reported success but `conda env list` has no {ENV_NAME}")
    return prefix


def airflow_settings(conda: DemoConda, workdir: Path = DEMO) -> dict[str, str]:
    """The example DAGs' Airflow configuration: DAG folder, connection and Variables.

    Executed notebooks go to ``workdir/output``, and the packed environment is unpacked once
    into ``workdir/envs``, not into the user's cache.
    """
    extra = {"conda_path": str(conda.conda_sh), "env_cache_dir": str(workdir / "envs")}
    connection = {"conn_type": "jupyter_conda", "extra": extra}
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT": json.dumps(connection),
        "AIRFLOW_VAR_JUPYTER_DEMO_ENV_ARCHIVE": str(conda.archive),
        "AIRFLOW_VAR_JUPYTER_DEMO_OUTPUT_DIR": str(workdir / "output"),
    }


def airflow_env(conda: DemoConda) -> dict[str, str]:
    """This process's environment plus the demo's Airflow home and ``airflow_settings``."""
    return {**os.environ, "AIRFLOW_HOME": str(DEMO / "airflow-home"), **airflow_settings(conda)}


def migrate_database(env: dict[str, str]) -> None:
    """Create or upgrade the demo's SQLite metadata database (quick when it is up to date)."""
    print(f"Preparing the Airflow metadata database in {env['AIRFLOW_HOME']}", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"airflow db migrate failed with status {result.returncode}")


def example_dag_ids() -> list[str]:
    """The example DAG ids: one DAG per file, named after the file."""
    return sorted(path.stem for path in EXAMPLE_DAGS.glob("*.py") if not path.name.startswith("_"))


def run_dag(dag_id: str, env: dict[str, str]) -> list[Path] | str:
    """``airflow dags test DAG_ID``: the notebooks (and any HTML) the run wrote, or why it failed."""
    started = time.time()
    print(f"\n=== airflow dags test {dag_id}", flush=True)
    result = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", dag_id], env=env, check=False)
    if result.returncode != 0:
        return f"airflow dags test exited with status {result.returncode} (see its log above)"
    # The run's folder name is its run id; the notebooks written since the start are this run's.
    written = sorted(
        p
        for p in (OUTPUT_DIR / dag_id).rglob("*")
        if p.suffix in (".ipynb", ".html") and p.stat().st_mtime >= started
    )
    if not any(p.suffix == ".ipynb" for p in written):
        return f"the run succeeded but wrote no notebook under {OUTPUT_DIR / dag_id}"
    return written


def main() -> int:
    conda = prepare_conda()
    which = "a real conda" if conda.real else "the conda.sh test double"
    print(f"conda.sh: {conda.conda_sh} ({which}); packed environment: {conda.archive}", flush=True)
    env = airflow_env(conda)
    migrate_database(env)
    results = {dag_id: run_dag(dag_id, env) for dag_id in example_dag_ids()}
    print()
    for dag_id, result in results.items():
        if isinstance(result, str):
            print(f"FAILED {dag_id}: {result}")
        else:
            print(f"OK     {dag_id}, output notebook(s):")
            print("\n".join(f"         {path}" for path in result))
    return 1 if any(isinstance(result, str) for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
