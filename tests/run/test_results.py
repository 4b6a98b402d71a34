"""Results a notebook hands to later tasks: what is taken from the output notebook, with which
types, and what is refused and said so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from airflow_jupyter_provider.run.results import collect_results, read_results

FAILED_NOTEBOOK = Path(__file__).parent / "papermill_output" / "failed_cell.ipynb"

TYPED = {"rows": 120, "share": 0.25, "ok": True, "missing": None, "regions": ["north", 2], "by": {"a": [1]}}


def json_output(value: Any, output_type: str = "display_data") -> nbformat.NotebookNode:
    """What ``display(JSON(value))`` (or ``JSON(value)`` as a cell's last line) leaves."""
    data = {"application/json": value, "text/plain": "<IPython.core.display.JSON object>"}
    if output_type == "execute_result":
        return nbformat.v4.new_output(output_type, data=data, execution_count=1)
    return nbformat.v4.new_output(output_type, data=data)


def scrap(name: str, data: Any, encoder: str = "json") -> nbformat.NotebookNode:
    """What scrapbook's ``sb.glue(name, data)`` leaves."""
    payload = {"name": name, "data": data, "encoder": encoder, "version": 1}
    return nbformat.v4.new_output(
        "display_data",
        data={f"application/scrapbook.scrap.{encoder}+json": payload},
        metadata={"scrapbook": {"name": name, "data": True, "display": False}},
    )


def notebook(*cells: tuple[list[str], list[nbformat.NotebookNode]]) -> nbformat.NotebookNode:
    """Code cells executed in order, each given as (tags, outputs)."""
    nb = nbformat.v4.new_notebook()
    for count, (tags, outputs) in enumerate(cells, 1):
        cell = nbformat.v4.new_code_cell("...", execution_count=count)
        cell.metadata["tags"], cell.outputs = tags, outputs
        nb.cells.append(cell)
    return nb


def typed(value: Any) -> str:
    """JSON text, which tells 1 from 1.0 and True from 1 where == does not."""
    return json.dumps(value, sort_keys=True)


def test_json_object_of_a_results_cell_keeps_its_types_through_the_notebook_file(tmp_path: Path) -> None:
    path = tmp_path / "out.ipynb"
    nbformat.write(notebook((["results"], [json_output(TYPED)])), path)

    results, problems = read_results(str(path))

    assert typed(results) == typed(TYPED)
    assert problems == []


def test_results_from_several_cells_execute_results_and_scraps_together() -> None:
    nb = notebook(
        (["results"], [json_output({"rows": 1})]),
        ([], [scrap("glued", [1, 2.5]), scrap("label", "text value", encoder="text")]),
        (
            ["results", "other"],
            [nbformat.v4.new_output("stream", text="hi\n"), json_output({"last": 3}, "execute_result")],
        ),
    )

    results, problems = collect_results(nb)

    assert typed(results) == typed({"rows": 1, "glued": [1, 2.5], "label": "text value", "last": 3})
    assert problems == []


def test_json_outside_results_cells_is_not_a_result() -> None:
    results, problems = collect_results(nbformat.read(FAILED_NOTEBOOK, as_version=4))

    # Its cell [4] displays JSON({'a': 1}) but is not tagged.
    assert results == {}
    assert problems == []


def test_a_name_recorded_twice_keeps_the_later_value_and_says_so() -> None:
    nb = notebook((["results"], [json_output({"rows": 1, "keep": "x"})]), ([], [scrap("rows", 2)]))

    results, problems = collect_results(nb)

    assert results == {"rows": 2, "keep": "x"}
    assert problems == [
        "result 'rows' is recorded in cell [1] and again in cell [2]: the later value is kept"
    ]


def test_what_cannot_be_a_result_is_left_out_and_said() -> None:
    nb = notebook(
        (["results"], [json_output([1, 2])]),
        (["results"], [nbformat.v4.new_output("stream", text="printed, not shown as JSON\n")]),
        ([], [scrap("frame", "QVJST1cx", encoder="pandas")]),
        (["results"], [json_output({"fine": True})]),
    )

    results, problems = collect_results(nb)

    assert results == {"fine": True}
    assert problems == [
        "cell [1] is tagged 'results' but shows JSON list [1, 2], not an object whose keys name the "
        "results: not taken",
        "cell [2] is tagged 'results' but shows no JSON object: nothing taken",
        "cell [3]: scrap 'frame' uses scrapbook's 'pandas' encoder, not JSON: not taken",
    ]
