"""The compatibility run: ``make test-matrix``, which ``.ci/run`` runs after ``make test``.

``make test`` runs everything with one Python and the Airflow of ``constraints-test.txt``. This
runs, in a virtual environment of its own for each cell, the tests that start no Airflow servers
(``pytest -m "not e2e"``) and every example DAG through ``airflow dags test`` (``devtools.demo``):

- on one Python of each other minor version from 3.10 to 3.13 found on this machine (the newest
  patch release of each; on PATH, in pyenv, or in /usr/bin and /usr/local/bin), and
- on each Airflow minor version this package supports below that of ``constraints-test.txt``
  (the pins of ``constraints-airflow-<minor>.txt`` replace the same packages' pins in
  ``constraints-test.txt``): the oldest Airflow with the oldest of those Pythons, the next with
  the next, so that every Python and every Airflow minor is run once and CI stays short.

It says which Pythons it found and which cells it ran, and exits non-zero when a cell fails.
Each cell's environment lives in ``.matrix/<cell>/`` and is installed again only when
``pyproject.toml`` or a constraints file changed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MATRIX_DIR = REPO / ".matrix"
CONSTRAINTS = REPO / "constraints-test.txt"
#: One file of pins per older Airflow minor version, e.g. constraints-airflow-3.1.txt.
AIRFLOW_PINS = "constraints-airflow-*.txt"
SUPPORTED_MINORS = (10, 11, 12, 13)
VERSION_SCRIPT = "import sys; print('.'.join(map(str, sys.version_info[:3])))"


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: tuple[int, int, int]

    @property
    def label(self) -> str:
        return ".".join(map(str, self.version))


@dataclass(frozen=True)
class Cell:
    """One environment of the matrix: a Python, and the pins its packages are installed with."""

    name: str
    python: Interpreter
    pins: Path | None = None

    @property
    def folder(self) -> Path:
        return MATRIX_DIR / self.name


def interpreter(path: Path) -> Interpreter | None:
    """The Python at ``path`` and its version, or None when it does not run."""
    try:
        result = subprocess.run([str(path), "-c", VERSION_SCRIPT], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0 or not re.fullmatch(r"\d+\.\d+\.\d+", result.stdout.strip()):
        return None
    major, minor, micro = map(int, result.stdout.strip().split("."))
    return Interpreter(path.resolve(), (major, minor, micro))


def candidate_paths() -> list[Path]:
    """Every python3.X this machine offers: on PATH, in the pyenv versions, in the usual bin folders."""
    names = [f"python3.{minor}" for minor in SUPPORTED_MINORS]
    found = [Path(p) for name in names if (p := shutil.which(name)) and Path(p).parent.name != "shims"]
    for folder in (Path("/usr/local/bin"), Path("/usr/bin")):
        found += [folder / name for name in names if (folder / name).is_file()]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += sorted(pyenv_root.glob("versions/3.*/bin/python3"))
    return found


def discover() -> list[Interpreter]:
    """The distinct Pythons 3.10 to 3.13 on this machine, oldest first."""
    by_path: dict[Path, Interpreter] = {}
    for path in candidate_paths():
        found = interpreter(path)
        if found and found.version[:2] in {(3, minor) for minor in SUPPORTED_MINORS}:
            by_path.setdefault(found.path, found)
    return sorted(by_path.values(), key=lambda found: found.version)


def plan(found: list[Interpreter], main: Interpreter) -> tuple[list[Cell], list[str]]:
    """The cells to run, and a line for each Python found that no cell runs, saying why.

    The older Airflow minors go to the other Pythons, oldest with oldest (so the lowest Python
    meets the lowest Airflow), which keeps the run to one cell per other Python; an Airflow minor
    left over runs with the main Python. The other Pythons get the Airflow of constraints-test.txt.
    """
    newest: dict[tuple[int, int], Interpreter] = {}
    for candidate in found:
        newest[candidate.version[:2]] = candidate  # sorted oldest first: the newest patch wins
    pythons, left_out = [], []
    for candidate in found:
        minor = candidate.version[:2]
        if minor == main.version[:2]:
            left_out.append(
                f"{candidate.label} ({candidate.path}): make test covers 3.{minor[1]} with {main.label}"
            )
        elif newest[minor] is not candidate:
            left_out.append(f"{candidate.label} ({candidate.path}): {newest[minor].label} stands for it")
        else:
            pythons.append(candidate)
    airflows = sorted(REPO.glob(AIRFLOW_PINS))
    pairs = [(python, airflows[i] if i < len(airflows) else None) for i, python in enumerate(pythons)]
    pairs += [(main, pins) for pins in airflows[len(pythons) :]]
    return [_cell(python, pins) for python, pins in pairs], left_out


def _cell(python: Interpreter, pins: Path | None) -> Cell:
    if pins is None:
        return Cell(f"python-{python.label}", python)
    airflow = dict(_pins(pins))["apache-airflow"].split("==")[1]
    return Cell(f"python-{python.label}-airflow-{airflow}", python, pins)


def constraints_for(cell: Cell) -> Path:
    """``constraints-test.txt`` with the cell's own pins in place of the same packages' pins."""
    if cell.pins is None:
        return CONSTRAINTS
    own = _pins(cell.pins)
    replaced = {name for name, _ in own}
    shared = [(name, line) for name, line in _pins(CONSTRAINTS) if name not in replaced]
    merged = cell.folder / "constraints.txt"
    merged.write_text("".join(f"{line}\n" for _, line in [*shared, *own]))
    return merged


def _pins(path: Path) -> list[tuple[str, str]]:
    """(package name, normalised; its pin line) of each pin, comments and blank lines left out."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [(_name(line), line) for line in lines if line]


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~; \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def prepare(cell: Cell) -> Path:
    """The cell's Python with the package and its test tools installed, installing them if needed."""
    python = cell.folder / "venv" / "bin" / "python"
    stamp = cell.folder / "venv" / ".installed"
    cell.folder.mkdir(parents=True, exist_ok=True)
    constraints = constraints_for(cell)
    inputs = [REPO / "pyproject.toml", CONSTRAINTS, *([cell.pins] if cell.pins else [])]
    if stamp.is_file() and all(stamp.stat().st_mtime >= path.stat().st_mtime for path in inputs):
        return python
    shutil.rmtree(cell.folder / "venv", ignore_errors=True)
    _step(
        cell,
        "creating its virtual environment",
        [str(cell.python.path), "-m", "venv", str(python.parent.parent)],
    )
    install = [str(python), "-m", "pip", "install", "--quiet", "-e", f"{REPO}[test]", "-c", str(constraints)]
    _step(cell, "installing the package and its test tools", install)
    stamp.touch()
    return python


def run(cell: Cell, installed: Future[Path]) -> str | None:
    """Run the cell once ``installed`` is done; None when everything passed, else what failed."""
    try:
        python = installed.result()
        versions = subprocess.run(
            [str(python), "-c", "import airflow, sys; print(sys.version.split()[0], airflow.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(f"[{cell.name}] Python {versions[0]}, Airflow {versions[1]}", flush=True)
        pytest = [str(python), "-m", "pytest", "-m", "not e2e", "-q", "-p", "no:cacheprovider"]
        _step(cell, "the tests that start no Airflow servers", pytest)
        demo_env = {**os.environ, "JUPYTER_DEMO_DIR": str(cell.folder / "demo")}
        _step(
            cell, "every example DAG with airflow dags test", [str(python), "-m", "devtools.demo"], demo_env
        )
    except StepFailed as failed:
        return str(failed)
    return None


class StepFailed(Exception):
    pass


def _step(cell: Cell, what: str, command: list[str], env: dict[str, str] | None = None) -> None:
    print(f"[{cell.name}] {what}", flush=True)
    started = time.monotonic()
    status = subprocess.run(command, cwd=REPO, env=env).returncode
    print(
        f"[{cell.name}] {what}: {'ok' if status == 0 else f'status {status}'} "
        f"({time.monotonic() - started:.0f} s)",
        flush=True,
    )
    if status != 0:
        raise StepFailed(f"{what}: exited with status {status}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--main-python",
        type=Path,
        default=Path(sys.executable),
        help="the Python `make test` ran with (default: this one)",
    )
    args = parser.parse_args()
    main_python = interpreter(args.main_python)
    if main_python is None:
        raise SystemExit(f"--main-python {args.main_python} does not run")
    found = discover()
    print("Pythons 3.10 to 3.13 found:", ", ".join(f"{i.label} ({i.path})" for i in found) or "none")
    cells, left_out = plan(found, main_python)
    for line in left_out:
        print(f"Not run: {line}")
    print("Cells:", ", ".join(cell.name for cell in cells), flush=True)
    # Installing is mostly waiting for downloads and disk: the next cell installs while one runs.
    with ThreadPoolExecutor(max_workers=1) as installer:
        installs = [installer.submit(prepare, cell) for cell in cells]
        outcomes = {cell.name: run(cell, installed) for cell, installed in zip(cells, installs, strict=True)}
    failures = {name: failure for name, failure in outcomes.items() if failure}
    print("\nCompatibility run:")
    for cell in cells:
        print(
            f"  {'FAILED' if cell.name in failures else 'ok    '} {cell.name}"
            + (f": {failures[cell.name]}" if cell.name in failures else "")
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
