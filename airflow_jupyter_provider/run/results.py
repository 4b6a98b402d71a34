"""Small results a notebook hands to later tasks, read from its output notebook.

Two ways to record one, neither needing anything installed beyond ipykernel:

- a code cell tagged ``results`` that shows a JSON object, e.g.
  ``display(JSON({"rows": 120, "regions": ["north"]}))``: each key is a result;
- a scrapbook scrap, ``scrapbook.glue("rows", 120)``, for notebooks that use scrapbook
  already (scraps of its ``json`` and ``text`` encoders).

Values keep their JSON types. A name recorded twice keeps its later value.
"""

from __future__ import annotations

from typing import Any

RESULTS_TAG = "results"
JSON_MIMETYPE = "application/json"
SCRAP_MIMETYPE_PREFIX = "application/scrapbook.scrap."
#: scrapbook encoders whose scraps hold the value itself as JSON.
JSON_SCRAP_ENCODERS = ("json", "text")


def collect_results(notebook: Any) -> tuple[dict[str, Any], list[str]]:
    """The results recorded in ``notebook`` (an nbformat notebook), and what was not taken."""
    results: dict[str, Any] = {}
    recorded_in: dict[str, str] = {}
    problems: list[str] = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        where = f"cell [{cell.get('execution_count')}]"
        tagged = RESULTS_TAG in cell.get("metadata", {}).get("tags", [])
        found: list[tuple[str, Any]] = []
        shows_json = False
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if tagged and JSON_MIMETYPE in data:
                shows_json = True
                value = data[JSON_MIMETYPE]
                if isinstance(value, dict):
                    found += value.items()
                else:
                    problems.append(
                        f"{where} is tagged {RESULTS_TAG!r} but shows JSON {type(value).__name__} "
                        f"{value!r}, not an object whose keys name the results: not taken"
                    )
            found += _scraps(data, where, problems)
        if tagged and not shows_json and not found:
            problems.append(f"{where} is tagged {RESULTS_TAG!r} but shows no JSON object: nothing taken")
        for name, value in found:
            if name in results:
                problems.append(
                    f"result {name!r} is recorded in {recorded_in[name]} and again in {where}: "
                    "the later value is kept"
                )
            results[name], recorded_in[name] = value, where
    return results, problems


def _scraps(data: dict[str, Any], where: str, problems: list[str]) -> list[tuple[str, Any]]:
    found = []
    for mimetype, payload in data.items():
        if not mimetype.startswith(SCRAP_MIMETYPE_PREFIX) or not isinstance(payload, dict):
            continue
        name, encoder = payload.get("name"), payload.get("encoder")
        if not isinstance(name, str) or "data" not in payload:
            continue  # a scrap stored elsewhere, or not one of scrapbook's
        if encoder in JSON_SCRAP_ENCODERS:
            found.append((name, payload["data"]))
        else:
            problems.append(
                f"{where}: scrap {name!r} uses scrapbook's {encoder!r} encoder, not JSON: not taken"
            )
    return found


def read_results(output_nb: str) -> tuple[dict[str, Any], list[str]]:
    """:func:`collect_results` of the notebook at ``output_nb`` (a path or papermill I/O URL)."""
    from papermill.iorw import load_notebook_node

    return collect_results(load_notebook_node(output_nb))
