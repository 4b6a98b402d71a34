"""The Notebook tab's **Download notebook**: the executed ``.ipynb`` as papermill saved it, for
opening in Jupyter (to debug a failed cell, say), served under the same rules as the view: only
the notebook the task instance recorded and stamped, else the same 404.

The file is served as it was read, after its stamp was checked in that same read: what the
reader gets is the notebook that was checked, byte for byte, stamp included.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from airflow_jupyter_provider.notebook_saves import read_whole
from airflow_jupyter_provider.notebook_stamp import stamped_identity
from airflow_jupyter_provider.plugins.notebook_source import NotebookSource, NotebookUnreadable
from airflow_jupyter_provider.plugins.rendered import SAVE_WAIT

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/x-ipynb+json"
#: What a file name keeps of an id; anything else (``:`` and ``+`` of run ids, ``/``) becomes ``_``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def stamped_content(source: NotebookSource, identity: Mapping[str, Any]) -> bytes | None:
    """The notebook at ``source`` as it is, if it is stamped with ``identity``; None (and a line in
    the API server's log) for anything else. A half-written notebook is read again, as for the view."""
    try:
        return read_whole(_stamped_content, source, identity, half_written=_NotWhole, seconds=SAVE_WAIT)
    except NotebookUnreadable as err:
        return _refused(source, str(err))


def download_name(identity: Mapping[str, Any]) -> str:
    """``<dag>__<task>__<run>.ipynb``; a mapped task instance's task part is ``<task>-<map index>``."""
    task = (
        identity["task_id"] if identity["map_index"] < 0 else f"{identity['task_id']}-{identity['map_index']}"
    )
    parts = (identity["dag_id"], task, identity["run_id"])
    return "__".join(_UNSAFE.sub("_", part) for part in parts) + ".ipynb"


def _stamped_content(source: NotebookSource, identity: Mapping[str, Any]) -> bytes | None:
    content = source.read()
    try:
        notebook = json.loads(content)
    except ValueError as err:
        raise _NotWhole(f"it is no notebook: {err}") from err
    if not isinstance(notebook, dict) or stamped_identity(notebook) != identity:
        return _refused(source, "its stamp is not this task instance's")
    return content


class _NotWhole(NotebookUnreadable):
    """What was read is no JSON: papermill may be writing it."""


def _refused(source: NotebookSource, reason: str) -> None:
    log.info("Notebook tab: not offering %s for download: %s", source.location, reason)
    return None
