"""A task instance's output notebook as the Notebook tab shows it: read, checked against the task
instance's stamp, rendered once per version and kept in the API server's memory.

The key of a rendered page is the notebook's identity and modification (``notebook_source.py``),
so a view of an unchanged notebook costs a ``stat`` and no reading or rendering; papermill saving
the notebook after a cell makes a new version. Each page ends with each code cell's duration or
running mark (``cell_timings.py``) and ``SCROLL_SCRIPT``, the tab's way to keep the reader's place
when a new version swaps in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_jupyter_provider.notebook_saves import read_whole
from airflow_jupyter_provider.notebook_stamp import stamped_identity
from airflow_jupyter_provider.plugins.cell_timings import timings_html
from airflow_jupyter_provider.plugins.notebook_source import NotebookSource, NotebookUnreadable
from airflow_jupyter_provider.plugins.progress_line import NotebookProgress
from airflow_jupyter_provider.plugins.sized_lru import SizedLru
from airflow_jupyter_provider.run.render import notebook_html, notebook_title

log = logging.getLogger(__name__)

#: Rendered pages the API server keeps (characters of HTML, all pages together).
MAX_CACHED_HTML = 256 * 1024 * 1024
#: Seconds a reader waits for papermill to finish writing the notebook.
SAVE_WAIT = 1.0


@dataclass(frozen=True)
class RenderedNotebook:
    """One version of an output notebook, rendered."""

    #: the task instance the notebook is stamped with
    identity: Mapping[str, Any]
    #: names this version in the tab's URLs and status, without saying anything of the file
    version: str
    html: str
    progress: NotebookProgress


PAGES: SizedLru[RenderedNotebook] = SizedLru(MAX_CACHED_HTML)

SCROLL_SCRIPT = """<script>
(function () {
  "use strict";
  if (parent === window) { return; }
  var page = document.scrollingElement;
  var asked = /^#top=(\\d+)(&bottom)?$/.exec(window.location.hash);
  window.addEventListener("load", function () {
    if (asked) { page.scrollTop = asked[2] ? page.scrollHeight : Number(asked[1]); }
  });
  window.addEventListener("scroll", function () {
    var bottom = page.scrollHeight - page.clientHeight;
    parent.postMessage({top: page.scrollTop, atBottom: page.scrollTop >= bottom - 2}, "*");
  }, {passive: true});
})();
</script>"""
"""The page's half of keeping the reader's place in the tab (``shell_page.py``), which frames it
sandboxed, so neither can read the other: it tells the tab where the reader scrolled to (a
number and a boolean), and once loaded, before the tab shows it, scrolls where its URL's
fragment says, to the bottom for a reader who was there. Outside a frame it does nothing."""


def rendered_notebook(source: NotebookSource, identity: Mapping[str, Any]) -> RenderedNotebook | None:
    """The current version of the notebook at ``source``, if it is stamped with ``identity``;
    None (and a line in the API server's log) for anything else.

    papermill rewrites a local notebook in place after each cell: one read as no notebook is read
    again, for up to ``SAVE_WAIT`` seconds, so the tab is not left without the notebook (a view
    answering "no notebook" would replace the page the reader was reading).
    """
    try:
        return read_whole(_rendered, source, identity, half_written=_NoNotebookYet, seconds=SAVE_WAIT)
    except NotebookUnreadable as err:
        return _refused(source, str(err))


def _rendered(source: NotebookSource, identity: Mapping[str, Any]) -> RenderedNotebook | None:
    key = source.version()
    if (cached := PAGES.get(key)) is not None:
        return cached if cached.identity == identity else _refused(source, "its stamp is another's")
    notebook = _parse(source.read())
    if (stamped := stamped_identity(notebook)) != identity:
        return _refused(source, "no stamp" if stamped is None else "its stamp is another's")
    progress, timings = NotebookProgress.of(notebook), timings_html(notebook)
    head, end, tail = notebook_html(notebook, notebook_title(source.location)).rpartition("</body>")
    page = RenderedNotebook(stamped, _version_tag(key), head + timings + SCROLL_SCRIPT + end + tail, progress)
    PAGES.put(key, page, len(page.html))
    return page


def _parse(content: bytes) -> Any:
    import nbformat

    try:
        return nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as err:  # half written by papermill, or no notebook at all
        raise _NoNotebookYet(f"it is no notebook: {err}") from err


class _NoNotebookYet(NotebookUnreadable):
    """What was read is no notebook: papermill may be writing it."""


def _version_tag(key: Hashable) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


def _refused(source: NotebookSource, reason: str) -> None:
    log.info("Notebook tab: not showing %s: %s", source.location, reason)
    return None
