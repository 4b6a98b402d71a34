"""The notebooks papermill reads and writes, when the worker has to stand between.

Two reasons to. The UI's Notebook tab trusts an output notebook only if it carries the stamp of
its task instance (``notebook_stamp.py``), so with a task instance papermill reads a stamped
copy of the input notebook (papermill keeps notebook metadata), and the output notebook carries
the stamp from its first save on. And with ``notebook_conn_id``, notebooks in object storage go
through Airflow's ``ObjectStoragePath`` and that connection, which papermill in the user's
environment knows nothing of: the worker reads the input once, papermill writes the output into
the run's working folder, and the worker uploads it each time papermill has saved it.

What the user sees stays as it was: papermill names the copies in its log lines, records the
input copy's path as the notebook's ``metadata.papermill.input_path`` and would inject the
copies' paths as ``PAPERMILL_INPUT_PATH`` and ``PAPERMILL_OUTPUT_PATH``. The log lines are
shown with the user's locations; the parameters file gives papermill the user's locations for
the injected paths (it overrides papermill's own); the output notebook's metadata is set back
to the user's input after the run (papermill has no option for it).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from logging import Logger
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.locations import is_local
from airflow_jupyter_provider.notebook_saves import read_whole
from airflow_jupyter_provider.notebook_stamp import stamp
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.progress import load_input_notebook
from airflow_jupyter_provider.run.request import NotebookRun

#: papermill options that inject the input's path, the output's path, or both as parameters.
_INJECTS_INPUT = ("--inject-input-path", "--inject-paths")
_INJECTS_OUTPUT = ("--inject-output-path", "--inject-paths")
#: Seconds an upload waits for papermill to finish writing the output notebook.
SAVE_WAIT = 5.0


@dataclass(frozen=True)
class Staged:
    """The notebooks of one run as papermill sees them, and the input notebook as read."""

    where: Locations
    #: what papermill reads: ``where.input`` or the worker's copy of it
    reads: str
    #: what papermill writes: ``where.output`` or a file that is uploaded there
    writes: str
    #: the input notebook, read once by the worker; None if it could not be (papermill may)
    notebook: Any | None
    #: ``where.output`` through ``notebook_conn_id`` (an ObjectStoragePath), where :meth:`upload`
    #: copies what papermill writes; None when papermill writes the output itself
    upload_to: Any | None = None

    @property
    def uploads(self) -> bool:
        return self.upload_to is not None

    def path_parameters(self, others: tuple[str, ...]) -> dict[str, str]:
        """The injected paths papermill must be given as parameters: the user's, where papermill
        would inject a copy's."""
        parameters = {}
        if self.reads != self.where.input and any(word in _INJECTS_INPUT for word in others):
            parameters["PAPERMILL_INPUT_PATH"] = self.where.input
        if self.writes != self.where.output and any(word in _INJECTS_OUTPUT for word in others):
            parameters["PAPERMILL_OUTPUT_PATH"] = self.where.output
        return parameters

    def shown(self, line: str) -> str:
        """A line papermill wrote, naming the user's notebooks where it names the worker's copies."""
        for copy, user_location in ((self.reads, self.where.input), (self.writes, self.where.output)):
            if copy != user_location:
                line = line.replace(copy, user_location)
        return line

    def restore_input_path(self, notebook: Any) -> None:
        """Give the executed ``notebook`` (as read from :attr:`writes`) the user's input location
        in its papermill metadata again, and save it where papermill did."""
        from papermill.iorw import write_ipynb

        recorded = notebook.get("metadata", {}).get("papermill", {})
        if self.reads == self.where.input or recorded.get("input_path") != self.reads:
            return
        recorded["input_path"] = self.where.input
        write_ipynb(notebook, self.writes)

    def upload(self) -> None:
        """Copy papermill's output, as saved so far, to ``where.output``.

        :raises RunFailed: it could not be read whole (papermill is saving it) or uploaded
            (retryable).
        """
        assert self.upload_to is not None
        try:
            text = self._saved()
        except ValueError as err:
            raise RunFailed(f"{self.writes} is being written: {err}", retryable=True) from err
        try:
            self.upload_to.write_text(text, encoding="utf-8")
        except Exception as err:  # storage clients raise their own kinds (botocore's, ...), not only OSError
            raise RunFailed(
                f"output_nb: cannot upload the output notebook to '{self.where.output}' through connection "
                f"'{self.upload_to.conn_id}' (notebook_conn_id): {err}",
                retryable=True,
            ) from err

    def _saved(self) -> str:
        """Papermill's output as it last saved it whole. papermill rewrites the file in place,
        right after it logs that a cell starts, when the upload reads it: a read that meets it
        half-written reads again, for up to ``SAVE_WAIT`` seconds.

        :raises ValueError: it was never whole (no JSON, or not UTF-8) in that time.
        """
        return read_whole(_whole_json, Path(self.writes), half_written=ValueError, seconds=SAVE_WAIT)


def _whole_json(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    json.loads(text)
    return text


def stage(run: NotebookRun, where: Locations, workdir: Path) -> Staged:
    """The notebooks of ``run`` as papermill will see them; the copies go into ``workdir``.

    :raises RunFailed: with ``notebook_conn_id``, the connection is unknown, or the input
        notebook in object storage cannot be read (retryable: storage may be back).
    """
    through_storage = run.notebook_conn_id is not None
    if through_storage and not is_local(where.input):
        notebook = _read_stored(where.input, run.notebook_conn_id)
    else:
        notebook = load_input_notebook(where.input)
    reads = where.input
    if notebook is not None and (run.task_instance is not None or (through_storage and not is_local(reads))):
        if run.task_instance is not None:
            stamp(notebook, run.task_instance)
        reads = _write_copy(notebook, workdir / "input" / _name(where.input))
    if through_storage and not is_local(where.output):
        upload_to = _storage_path(where.output, run.notebook_conn_id)  # a wrong connection shows now
        output = workdir / "output" / _name(where.output)
        output.parent.mkdir()
        return Staged(where, reads, str(output), notebook, upload_to)
    return Staged(where, reads, where.output, notebook)


def _read_stored(url: str, conn_id: str | None) -> Any:
    import nbformat

    try:
        text = _storage_path(url, conn_id).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise RunFailed(f"input_nb: no notebook at '{url}'", retryable=True) from err
    except OSError as err:
        raise RunFailed(
            f"input_nb: cannot read '{url}' through connection '{conn_id}' (notebook_conn_id): {err}",
            retryable=True,
        ) from err
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds for text that is no notebook
        raise RunFailed(f"input_nb: '{url}' is not a notebook: {err}") from err


def _storage_path(url: str, conn_id: str | None) -> Any:
    """``url`` through Airflow's ObjectStoragePath and ``conn_id``. The connection is looked up
    first: some storage providers fall back to other credentials when it is missing."""
    from airflow.sdk import BaseHook, ObjectStoragePath

    from airflow_jupyter_provider.compat import AirflowNotFoundException

    try:
        if conn_id is not None:
            BaseHook.get_connection(conn_id)
        return ObjectStoragePath(url, conn_id=conn_id)
    except AirflowNotFoundException as err:
        raise RunFailed(f"notebook_conn_id: no connection '{conn_id}'") from err
    except (ValueError, ImportError) as err:
        raise RunFailed(
            f"Airflow cannot open '{url}' ({err}); install the provider that supports its scheme, e.g. "
            "apache-airflow-providers-amazon[s3fs] for s3://"
        ) from err


def _write_copy(notebook: Any, path: Path) -> str:
    import nbformat

    path.parent.mkdir()
    nbformat.write(notebook, path)
    return str(path)


def _name(location: str) -> str:
    """The file name of a local path or URL (``notebook.ipynb`` when it names none)."""
    path = unquote(urlsplit(location).path) if "://" in location else location
    return posixpath.basename(path.rstrip("/")) or "notebook.ipynb"


def upload_quietly(staged: Staged, log: Logger) -> None:
    """:meth:`Staged.upload` where a failed upload must not end the run: a warning."""
    try:
        staged.upload()
    except (RunFailed, OSError) as err:
        log.warning("The output notebook was not uploaded this time: %s", err)
