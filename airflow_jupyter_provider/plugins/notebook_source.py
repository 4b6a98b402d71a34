"""The output notebook a task instance's record names, opened by the API server: a local file
or an object in storage read through Airflow's ``ObjectStoragePath`` with the record's connection.

Each source tells its version (what identifies the notebook and its modification) without reading
it, so an unchanged notebook is rendered once (``rendered.py``). A source that cannot be
used is None: the tab shows the same 404 whatever the reason, and the API server's log says it.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_jupyter_provider.locations import is_local

log = logging.getLogger(__name__)

#: The largest notebook the tab opens. nbconvert holds a few copies of it in memory while it
#: renders; a notebook this big is better opened in Jupyter than in a browser tab.
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
#: What an object store's ``info()`` may say about an object's version, any of which changes
#: when the object is written again (S3: ETag, VersionId, LastModified).
_STORAGE_VERSION_FIELDS = (
    "ETag",
    "etag",
    "VersionId",
    "version_id",
    "LastModified",
    "last_modified",
    "mtime",
)

#: URL schemes that are no object storage: the API server fetches nothing from the web for a record.
_WEB = frozenset({"http", "https"})


class NotebookUnreadable(Exception):
    """The notebook is gone, too big or changing under the reader: nothing to show now."""


@dataclass(frozen=True)
class LocalNotebook:
    """A regular ``.ipynb`` file on the API server's disk, symlinks resolved."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def version(self) -> Hashable:
        """The file (device, inode) and its modification (size, mtime in ns)."""
        try:
            found = os.stat(self.path)
        except OSError as err:
            raise NotebookUnreadable(f"cannot stat it: {err}") from err
        if not stat.S_ISREG(found.st_mode):
            raise NotebookUnreadable("it is no regular file")
        return ("file", found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)

    def read(self) -> bytes:
        try:
            with self.path.open("rb") as file:
                return _capped(file.read(MAX_NOTEBOOK_BYTES + 1))
        except OSError as err:
            raise NotebookUnreadable(f"cannot read it: {err}") from err


@dataclass(frozen=True)
class StoredNotebook:
    """An object in storage (``s3://...``), through the record's Airflow connection."""

    url: str
    conn_id: str | None

    @property
    def location(self) -> str:
        return self.url

    def _path(self) -> Any:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(self.url, conn_id=self.conn_id)

    def version(self) -> Hashable:
        """The object (URL, connection) and what the store says of its version and size."""
        try:
            info = self._path().stat()
        except Exception as err:  # each store raises its own errors
            raise NotebookUnreadable(f"cannot stat it: {err}") from err
        marks = tuple(str(info[field]) for field in _STORAGE_VERSION_FIELDS if field in info)
        return ("object", self.url, self.conn_id, info.get("size"), marks)

    def read(self) -> bytes:
        try:
            with self._path().open("rb") as file:
                return _capped(file.read(MAX_NOTEBOOK_BYTES + 1))
        except NotebookUnreadable:
            raise
        except Exception as err:
            raise NotebookUnreadable(f"cannot read it: {err}") from err


NotebookSource = LocalNotebook | StoredNotebook


def source_of(record: Any) -> NotebookSource | None:
    """The notebook a ``NOTEBOOK_XCOM_KEY`` record names, if the record is well formed: a local
    absolute path to an ``.ipynb`` file (after symlinks) or an object storage URL."""
    if not isinstance(record, Mapping):
        return None
    location, conn_id = record.get("output_nb"), record.get("conn_id")
    if not isinstance(location, str) or not (conn_id is None or isinstance(conn_id, str)):
        return None
    if not is_local(location):
        # Records can be written through the REST API: no web requests to wherever one points.
        scheme = location.split("://", 1)[0].lower()
        named_notebook = urlsplit(location).path.lower().endswith(".ipynb")
        return StoredNotebook(location, conn_id) if named_notebook and scheme not in _WEB else None
    if location.startswith("file://") or not os.path.isabs(location):
        return None  # the worker records plain absolute paths
    # The record names the file; a symlink in it must lead to nothing but a notebook.
    path = Path(os.path.realpath(location))
    return LocalNotebook(path) if path.suffix.lower() == ".ipynb" else None


def _capped(content: bytes) -> bytes:
    if len(content) > MAX_NOTEBOOK_BYTES:
        raise NotebookUnreadable(f"it is larger than {MAX_NOTEBOOK_BYTES} bytes")
    return content
