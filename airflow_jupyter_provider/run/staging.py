"""The notebooks papermill reads and writes, when the worker has to stand between.

Three reasons to. The UI's Notebook tab trusts an output notebook only if it carries the stamp
of its task instance (``notebook_stamp.py``), so with a task instance papermill reads a stamped
copy of the input notebook (papermill keeps notebook metadata), and the output notebook carries
the stamp from its first save on. Secrets the notebook printed must not be saved as printed: so
papermill writes the output into the run's private working folder, and the worker saves it where
it goes, its secrets masked (``masking.py``), each time papermill has saved it (:class:`Publisher`)
and once more at the end. And with ``notebook_conn_id``, notebooks in object storage go through
Airflow's ``ObjectStoragePath`` and that connection, which papermill in the user's environment
knows nothing of: the worker reads the input once and uploads the output the same way. Only an
output URL without ``notebook_conn_id`` is papermill's to write, unmasked until the end.

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
import threading
from dataclasses import dataclass, field
from logging import Logger
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.locations import is_local
from airflow_jupyter_provider.masking import redact_notebook
from airflow_jupyter_provider.notebook_saves import read_whole
from airflow_jupyter_provider.notebook_stamp import stamp
from airflow_jupyter_provider.run.output_files import OutputFiles
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.papermill_options import INJECTS_INPUT_PATH, INJECTS_OUTPUT_PATH
from airflow_jupyter_provider.run.progress import load_input_notebook
from airflow_jupyter_provider.run.request import NotebookRun

#: Seconds a save waits for papermill to finish writing the output notebook.
SAVE_WAIT = 5.0
#: Seconds between two looks at whether papermill has saved the output notebook again.
SAVE_POLL = 0.2


@dataclass(frozen=True)
class Staged:
    """The notebooks of one run as papermill sees them, and the input notebook as read."""

    where: Locations
    #: what papermill reads: ``where.input`` or the worker's copy of it
    reads: str
    #: what papermill writes: the run's private copy, saved to ``where.output`` by the worker,
    #: or ``where.output`` itself (a URL without ``notebook_conn_id``)
    writes: str
    #: the input notebook, read once by the worker; None if it could not be (papermill may)
    notebook: Any | None
    #: ``where.output`` through ``notebook_conn_id`` (an ObjectStoragePath), where :meth:`save`
    #: uploads what papermill writes; None for a local output, which it writes itself
    upload_to: Any | None = None
    files: OutputFiles = field(default_factory=OutputFiles)

    @property
    def saves(self) -> bool:
        """Whether the worker saves the output notebook (papermill writes a private copy)."""
        return self.writes != self.where.output

    def path_parameters(self, others: tuple[str, ...]) -> dict[str, str]:
        """The injected paths papermill must be given as parameters: the user's, where papermill
        would inject a copy's."""
        parameters = {}
        if self.reads != self.where.input and any(word in INJECTS_INPUT_PATH for word in others):
            parameters["PAPERMILL_INPUT_PATH"] = self.where.input
        if self.writes != self.where.output and any(word in INJECTS_OUTPUT_PATH for word in others):
            parameters["PAPERMILL_OUTPUT_PATH"] = self.where.output
        return parameters

    def shown(self, line: str) -> str:
        """A line papermill wrote, naming the user's notebooks where it names the worker's copies."""
        for copy, user_location in ((self.reads, self.where.input), (self.writes, self.where.output)):
            if copy != user_location:
                line = line.replace(copy, user_location)
        return line

    def finish(self, notebook: Any) -> None:
        """Make the executed ``notebook`` (as read from :attr:`writes`) what the output notebook
        keeps: the user's input location in its papermill metadata again, its secrets masked.
        Where papermill wrote the output itself, it is written back there."""
        from papermill.iorw import write_ipynb

        recorded = notebook.get("metadata", {}).get("papermill", {})
        if self.reads != self.where.input and recorded.get("input_path") == self.reads:
            recorded["input_path"] = self.where.input
        redact_notebook(notebook)
        if not self.saves and self.reads != self.where.input:
            write_ipynb(notebook, self.writes)

    def save(self, notebook: Any | None = None) -> None:
        """Save ``notebook`` (by default papermill's output as saved so far), its secrets masked,
        to ``where.output``.

        :raises RunFailed: papermill's output could not be read whole (papermill is saving it), or
            the output notebook could not be written (retryable).
        """
        assert self.saves
        if notebook is None:
            try:
                notebook = redact_notebook(self._saved())
            except ValueError as err:
                raise RunFailed(f"{self.writes} is being written: {err}", retryable=True) from err
        text = _as_text(notebook)
        try:
            if self.upload_to is None:
                self.files.write(Path(self.where.output), text)
            else:
                self.upload_to.write_text(text, encoding="utf-8")
        except Exception as err:  # storage clients raise their own kinds (botocore's, ...), not only OSError
            raise RunFailed(f"output_nb: {self._cannot_write()}: {err}", retryable=True) from err

    def _cannot_write(self) -> str:
        if self.upload_to is None:
            return f"cannot write the output notebook '{self.where.output}'"
        return (
            f"cannot upload the output notebook to '{self.where.output}' through connection "
            f"'{self.upload_to.conn_id}' (notebook_conn_id)"
        )

    def _saved(self) -> Any:
        """Papermill's output as it last saved it whole, as JSON. papermill rewrites the file in
        place (as a cell starts, as it ends), and a read may meet it half-written: it reads
        again, for up to ``SAVE_WAIT`` seconds.

        :raises ValueError: it was never whole (no JSON, or not UTF-8) in that time.
        """
        return read_whole(_json, Path(self.writes), half_written=ValueError, seconds=SAVE_WAIT)


def _as_text(notebook: Any) -> str:
    """The notebook as nbformat writes it: a notebook node as read after the run, or JSON as
    papermill saved it (its texts still split into lines)."""
    import nbformat

    if isinstance(notebook, nbformat.NotebookNode):
        return nbformat.writes(notebook) + "\n"
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Publisher:
    """While papermill runs, :meth:`Staged.save` each version of the output notebook papermill
    has saved, soon after it has: a watcher thread looks every ``SAVE_POLL`` seconds. A save that
    fails is a warning; the run goes on. Use it as a context manager around the run."""

    def __init__(self, staged: Staged, log: Logger) -> None:
        self._staged, self._log = staged, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="output-notebook-saves", daemon=True)
        self._seen: tuple[int, int] | None = None

    def __enter__(self) -> Publisher:
        if self._staged.saves:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        written = Path(self._staged.writes)
        while not self._stop.wait(SAVE_POLL):
            try:
                info = written.stat()
            except FileNotFoundError:
                continue
            if (version := (info.st_mtime_ns, info.st_size)) != self._seen:
                self._seen = version
                save_quietly(self._staged, self._log)


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
    files = OutputFiles(run.tenant)
    if is_local(where.output):
        upload_to = None
    elif through_storage:
        upload_to = _storage_path(where.output, run.notebook_conn_id)  # a wrong connection shows now
    else:
        return Staged(where, reads, where.output, notebook, files=files)
    output = workdir / "output" / _name(where.output)
    output.parent.mkdir()
    return Staged(where, reads, str(output), notebook, upload_to, files)


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


def save_quietly(staged: Staged, log: Logger, notebook: Any | None = None) -> None:
    """:meth:`Staged.save` where a failed save must not end the run: a warning."""
    try:
        staged.save(notebook)
    except (RunFailed, OSError) as err:
        log.warning("The output notebook was not saved this time: %s", err)
