"""Where a packed environment comes from: a local file, an http(s) URL, or object storage.

Each source can say cheaply what content it holds now (:meth:`fingerprint`: a stat, a HEAD
request, an object's metadata) and copy its bytes into a file while hashing them
(:meth:`fetch`). The cache keys environments by the sha256 of the archive and remembers which
fingerprint had which sha256, so a warm run neither downloads nor hashes anything.

Object storage goes through Airflow's ``ObjectStoragePath``, so every scheme that an installed
provider registers (``s3://`` from the amazon provider, ``gs://``, ``abfs://``, ...) works with
the credentials of the connection named by ``conda_env_conn_id``. No provider registers
``http(s)://``; those are fetched with ``requests`` (a dependency of Airflow itself), and a
connection, when named, is read by the http provider's ``HttpHook`` exactly as for its own
operators (login and password as basic auth, extra as headers).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from airflow_jupyter_provider.exceptions import SourceError
from airflow_jupyter_provider.locations import local_path

CHUNK_BYTES = 1 << 20
#: Seconds to wait for an http server to connect or to send the next bytes.
HTTP_TIMEOUT = 60

# Metadata that changes whenever an object's content does (checksums, entity tags, versions)...
_CONTENT_FIELDS = ("ChecksumSHA256", "ETag", "etag", "md5Hash", "crc32c", "generation", "VersionId")
# ...and modification times, which identify content only together with the size.
_TIME_FIELDS = ("LastModified", "last_modified", "Last-Modified", "updated", "mtime")


@dataclass(frozen=True)
class Fetched:
    """What :meth:`ArchiveSource.fetch` wrote."""

    sha256: str
    size: int


class ArchiveSource(Protocol):
    @property
    def location(self) -> str:
        """The source as a user would write it, for messages."""
        ...

    @property
    def name(self) -> str:
        """The archive's file name; its suffix tells the format."""
        ...

    def fingerprint(self) -> str | None:
        """A cheap identity of the current content, or None when the source offers none."""
        ...

    def fetch(self, destination: Path) -> Fetched:
        """Copy the archive into ``destination`` (created private to this user), hashing it."""
        ...


def resolve_source(
    value: str, *, base_dir: Path, resource_root: str | None = None, conn_id: str | None = None
) -> ArchiveSource:
    """The source ``value`` names.

    A relative path is taken from ``resource_root`` (a folder or a storage URL) when one is
    set, else from ``base_dir``. ``conn_id`` is the Airflow connection for remote sources;
    local files need none.
    """
    if resource_root and "://" not in value and not Path(value).expanduser().is_absolute():
        if _scheme(resource_root) in ("", "file"):
            base_dir = local_path(resource_root, base_dir)
        else:
            value = _join_url(resource_root, value)
    scheme = _scheme(value)
    if scheme in ("", "file"):
        return LocalArchive(local_path(value, base_dir))
    if scheme in ("http", "https"):
        return HttpArchive(value, conn_id)
    return StorageArchive(value, conn_id)


@dataclass(frozen=True)
class LocalArchive:
    """An archive on this machine's file system (a path or a ``file://`` URL)."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def fingerprint(self) -> str:
        """Path, inode, size and times: a file rewritten or replaced gets a new fingerprint."""
        try:
            st = self.path.stat()
        except OSError as err:
            raise self._error(err) from err
        return (
            f"{self.path.resolve()}|{st.st_dev}:{st.st_ino}|size={st.st_size}"
            f"|mtime={st.st_mtime_ns}|ctime={st.st_ctime_ns}"
        )

    def fetch(self, destination: Path) -> Fetched:
        # A private copy: the archive may be replaced while it is unpacked, its copy may not.
        try:
            archive = self.path.open("rb")
        except OSError as err:
            raise self._error(err) from err
        with archive:
            return _write_hashed(iter(partial(archive.read, CHUNK_BYTES), b""), destination)

    def _error(self, err: OSError) -> SourceError:
        if isinstance(err, FileNotFoundError):
            return SourceError(f"no archive at '{self.path}'", retryable=True)
        return SourceError(f"cannot read the archive '{self.path}': {err.strerror}", retryable=False)


@dataclass(frozen=True)
class _UrlArchive:
    """An archive at a URL, fetched with the credentials of the connection ``conn_id``."""

    url: str
    conn_id: str | None = None

    @property
    def location(self) -> str:
        return self.url

    @property
    def name(self) -> str:
        return _url_name(self.url)


@dataclass(frozen=True)
class HttpArchive(_UrlArchive):
    """An archive at an ``http://`` or ``https://`` URL; ``conn_id`` names an http connection."""

    def fingerprint(self) -> str | None:
        """From the headers of a HEAD request; None when the server refuses HEAD (signed URLs do)."""
        import requests

        try:
            with self._session() as session:
                response = session.head(self.url, allow_redirects=True, timeout=HTTP_TIMEOUT)
        except requests.RequestException as err:
            raise SourceError(f"cannot reach '{self.url}': {err}", retryable=True) from err
        if not response.ok:
            return None
        headers = response.headers
        info = {name: headers.get(name) for name in ("ETag", "Last-Modified")}
        return _fingerprint(self.url, {**info, "size": headers.get("Content-Length")})

    def fetch(self, destination: Path) -> Fetched:
        import requests
        import urllib3

        try:
            with self._session() as session, session.get(self.url, stream=True, timeout=HTTP_TIMEOUT) as got:
                if not got.ok:
                    status = got.status_code
                    raise SourceError(
                        f"cannot download '{self.url}': HTTP {status} {got.reason}",
                        retryable=status in (404, 408, 429) or status >= 500,
                    )
                # The bytes as stored, like curl or wget: a Content-Encoding is not undone.
                return _write_hashed(got.raw.stream(CHUNK_BYTES, decode_content=False), destination)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as err:
            raise SourceError(f"cannot download '{self.url}': {err}", retryable=True) from err

    def _session(self) -> Any:
        if self.conn_id is None:
            import requests

            return requests.Session()
        try:
            from airflow.providers.http.hooks.http import HttpHook
        except ImportError as err:
            raise SourceError(
                f"conda_env_conn_id '{self.conn_id}' for '{self.url}' needs the http provider: "
                "pip install apache-airflow-providers-http",
                retryable=False,
            ) from err
        from airflow_jupyter_provider.compat import AirflowNotFoundException

        try:
            return HttpHook(method="GET", http_conn_id=self.conn_id).get_conn()
        except AirflowNotFoundException as err:
            raise SourceError(f"conda_env_conn_id: no connection '{self.conn_id}'", retryable=False) from err


@dataclass(frozen=True)
class StorageArchive(_UrlArchive):
    """An archive in object storage, reached through Airflow's ``ObjectStoragePath``."""

    def fingerprint(self) -> str | None:
        fs, path = self._filesystem()
        fs.invalidate_cache(path)  # a listing cached earlier in this process may be stale
        try:
            info = fs.info(path)
        except FileNotFoundError as err:
            raise SourceError(f"no archive at '{self.url}'", retryable=True) from err
        except OSError as err:
            raise SourceError(f"cannot read '{self.url}': {err}", retryable=True) from err
        return _fingerprint(self.url, info)

    def fetch(self, destination: Path) -> Fetched:
        fs, path = self._filesystem()
        try:
            with fs.open(path, "rb") as archive:
                return _write_hashed(iter(partial(archive.read, CHUNK_BYTES), b""), destination)
        except FileNotFoundError as err:
            raise SourceError(f"no archive at '{self.url}'", retryable=True) from err
        except OSError as err:
            raise SourceError(f"cannot download '{self.url}': {err}", retryable=True) from err

    def _filesystem(self) -> tuple[Any, str]:
        from airflow.sdk import ObjectStoragePath

        from airflow_jupyter_provider.compat import AirflowNotFoundException

        try:
            path = ObjectStoragePath(self.url, conn_id=self.conn_id)
            return path.fs, path.path
        except (ValueError, ImportError) as err:
            raise SourceError(
                f"Airflow cannot open '{self.url}' ({err}); install the provider that supports "
                f"'{_scheme(self.url)}://', e.g. apache-airflow-providers-amazon[s3fs] for s3://",
                retryable=False,
            ) from err
        except AirflowNotFoundException as err:
            raise SourceError(f"conda_env_conn_id: no connection '{self.conn_id}'", retryable=False) from err


def _fingerprint(location: str, info: Mapping[str, Any]) -> str | None:
    """``location`` with the metadata that identifies its content; None when there is too little.

    A checksum, entity tag or version identifies the content; a modification time does only
    together with the size. Weak entity tags (``W/...``) promise equivalence, not equal bytes.
    """
    fields = {
        key: str(info[key])
        for key in (*_CONTENT_FIELDS, *_TIME_FIELDS, "size")
        if info.get(key) not in (None, "") and not str(info[key]).startswith("W/")
    }
    identified = any(key in fields for key in _CONTENT_FIELDS) or (
        "size" in fields and any(key in fields for key in _TIME_FIELDS)
    )
    if not identified:
        return None
    return "|".join([location, *(f"{key}={value}" for key, value in sorted(fields.items()))])


def _write_hashed(chunks: Iterable[bytes], destination: Path) -> Fetched:
    digest = hashlib.sha256()
    size = 0
    with open(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return Fetched(digest.hexdigest(), size)


def _scheme(value: str) -> str:
    return urlsplit(value).scheme.lower() if "://" in value else ""


def _url_name(url: str) -> str:
    return posixpath.basename(unquote(urlsplit(url).path))


def _join_url(root: str, relative: str) -> str:
    relative = posixpath.normpath(relative)
    if _scheme(root) in ("http", "https"):
        relative = quote(relative)
    return f"{root.rstrip('/')}/{relative}"
