"""Notebook locations as OpenLineage dataset names (the OpenLineage naming conventions): a local
file is namespace ``file`` with its absolute path as name; an object in storage is namespace
``<scheme>://<bucket>`` with its key as name (``s3://bucket``, ``gs://bucket``, ...)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from airflow_jupyter_provider.locations import is_local, local_path

LOCAL_NAMESPACE = "file"
#: Azure's schemes, whose ``container@account`` names the container, not a user.
_CONTAINER_SCHEMES = frozenset({"abfs", "abfss", "wasb", "wasbs"})


def dataset_name(location: str) -> tuple[str, str]:
    """The (namespace, name) of the notebook at ``location``, an absolute local path or a URL."""
    if is_local(location):
        return LOCAL_NAMESPACE, str(local_path(location, Path("/")))
    parts = urlsplit(public_location(location))
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def public_location(location: str) -> str:
    """``location`` without a URL's credentials, query and fragment: they are no part of what
    the data is, and a lineage backend is no place for a token."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    netloc = parts.netloc if parts.scheme in _CONTAINER_SCHEMES else parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()
