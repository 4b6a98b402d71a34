"""How long each code cell of the notebook the tab shows took, or that it is running now: read
from what papermill records in each cell's metadata (``papermill.status``, ``start_time``,
``end_time``, ``duration``), shown in the sandboxed page of the notebook.

nbconvert's page has no place for them, so the page carries them as JSON text (one entry per
code cell, in the notebook's order, which is the order of nbconvert's ``.jp-CodeCell`` elements)
with a small script that writes each as text beside its cell and marks the running one.
Everything comes from the notebook, so only text is written, never markup.
"""

from __future__ import annotations

import json
from typing import Any

RUNNING = "running"
FAILED = "failed"

TIMINGS_SCRIPT = """<style>
.papermill-timing { font: 12px system-ui, sans-serif; color: #666; text-align: right; padding: 0 0.5em; }
.papermill-running { outline: 2px solid #e8a317; outline-offset: 2px; background: #fff8e6; }
.papermill-running .papermill-timing { color: #9a6700; font-weight: 600; }
</style>
<script type="application/json" id="papermill-timings">TIMINGS</script>
<script>
(function () {
  "use strict";
  var timings = JSON.parse(document.getElementById("papermill-timings").textContent);
  var cells = document.querySelectorAll(".jp-CodeCell");
  if (cells.length !== timings.length) { return; }
  timings.forEach(function (timing, index) {
    if (!timing.label) { return; }
    var cell = cells[index], line = document.createElement("div");
    line.className = "papermill-timing";
    line.textContent = timing.label;
    line.title = timing.title;
    cell.insertBefore(line, cell.firstChild);
    cell.dataset.papermillStatus = timing.status;
    if (timing.status === "running") {
      cell.classList.add("papermill-running");
      cell.setAttribute("aria-current", "step");
    }
  });
})();
</script>"""
"""The page's half: the style of the labels and of the running cell, the data, the script that
places them. ``TIMINGS`` is replaced by the JSON of :func:`cell_timings`."""


def cell_timings(notebook: Any) -> list[dict[str, str]]:
    """For each code cell: its papermill status, the label to show (``0.42 s``, ``running``,
    ``failed after 1.5 s``; empty for a cell that has not run) and a title with its times."""
    timings = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        papermill = cell.get("metadata", {}).get("papermill", {})
        status = str(papermill.get("status") or "")
        timings.append({"status": status, "label": _label(status, papermill), "title": _title(papermill)})
    return timings


def timings_html(notebook: Any) -> str:
    """:data:`TIMINGS_SCRIPT` with the timings of ``notebook`` in it, safe inside ``<script>``."""
    data = json.dumps(cell_timings(notebook), ensure_ascii=True).replace("<", "\\u003c")
    return TIMINGS_SCRIPT.replace("TIMINGS", data)


def duration_text(seconds: float) -> str:
    """``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``: as precise as a reader needs."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _label(status: str, papermill: dict[str, Any]) -> str:
    if status == RUNNING:
        return RUNNING
    duration = papermill.get("duration")
    if not isinstance(duration, (int, float)):
        return ""
    took = duration_text(max(float(duration), 0.0))
    return f"failed after {took}" if status == FAILED else took


def _title(papermill: dict[str, Any]) -> str:
    times = (("started", "start_time"), ("ended", "end_time"))
    return ", ".join(f"{what} {papermill[key]}" for what, key in times if papermill.get(key))
