"""What the Notebook tab's tests share: the DAG runs whose notebooks they ask for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NotebookRuns:
    records_run_id: str
    other_run_id: str
    output: Path
