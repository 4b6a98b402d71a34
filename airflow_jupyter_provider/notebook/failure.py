"""What a failed run left in its output notebook: the cell that raised, and what it raised."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def describe_failed_cell(output_nb: str, execution_timeout: int | None = None) -> str | None:
    """'cell [N] raised Name: value' for the first error output in ``output_nb``, if any.

    papermill interrupts a cell that outlives ``--execution-timeout``; the cell then shows a
    bare KeyboardInterrupt, which is said as the timeout it is.
    """
    from papermill.iorw import load_notebook_node

    try:
        notebook = load_notebook_node(output_nb)
    except Exception as err:  # the notebook may be missing or half written: say so, go on
        log.warning("Could not read the output notebook %s to find the failed cell: %s", output_nb, err)
        return None
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            count, name, value = cell.get("execution_count"), output.get("ename"), output.get("evalue")
            if execution_timeout is not None and name == "KeyboardInterrupt" and not value:
                return f"cell [{count}] ran longer than jupyter_execution_timeout={execution_timeout} s"
            return f"cell [{count}] raised {name}: {value}" if value else f"cell [{count}] raised {name}"
    return None
