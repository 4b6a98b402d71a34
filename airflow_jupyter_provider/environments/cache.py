"""A per-worker cache of unpacked conda-pack environments, keyed by the archive's sha256.

Unpacking a packed environment costs seconds to minutes, and ``conda-unpack`` only has to run
once per location; so each worker unpacks an archive once and every later task that names the
same content runs in that folder. Layout of the cache folder::

    <id>/                 an unpacked environment: the prefix tasks run in
    <id>.json             its completion marker, written last and removed first; mtime = last use
    .locks/<key>.lock     flock: shared while a task uses <id>, exclusive while one process
                          unpacks or evicts it; for a source key, exclusive while one process
                          fetches that source
    .sources/<key>.json   which sha256 the source with that fingerprint had
    .tmp/<key>...         work in progress: an extraction, a download, a marker being written

``<id>`` is the first 16 hex digits of the sha256, short on purpose: ``conda-unpack`` cannot
write a prefix longer than the one the environment was packed at into binary files.

Crash safety. An archive is extracted into ``.tmp/<id>`` under ``<id>``'s exclusive lock and
renamed to ``<id>`` once extracted and recognised as a conda-pack layout. ``conda-unpack``
rewrites prefixes to the location of its own script, so it runs after the rename, at the final
path, still under the exclusive lock; only when it has succeeded is ``<id>.json`` written (by
an atomic rename). A task takes ``<id>`` only while holding its shared lock and only when the
marker is there. A process killed at any step leaves at most ``.tmp/<id>`` or an ``<id>/``
without marker: its locks die with it, so the next process to take ``<id>``'s exclusive lock
finds no marker, removes the leftovers and unpacks again; leftovers of archives that never come
back are swept after every unpack. Eviction removes the marker first and the folder after, so a
killed eviction leaves the same kind of leftover. A lock file is deleted only by the holder of
its exclusive lock, and whoever locks a file checks that it is still the one at that path, so
two processes never believe they hold the same lock through a deleted file.

A warm run does not read the archive: the sha256 of a source's content is remembered under
the source's fingerprint (a file's inode, size and times; an object's checksum, entity tag or
size and modification time), or, for a source that offers no fingerprint, given by the
``conda_env_sha256`` pin, which the archive was checked against when it was fetched.

Eviction. After each unpack, when the environments' total unpacked size exceeds ``max_bytes``,
the least recently used ones are removed, each only if its exclusive lock can be taken without
waiting: a task holds the shared lock of its environment for its whole run.

Locks are ``flock(2)`` locks (``locks.py``); a task holds its environment's shared
:class:`~airflow_jupyter_provider.environments.locks.Lock` for as long as it runs in it.

Permissions. Extraction runs with a umask that includes 022 (the ``data`` filter also strips
group and other write bits from members), and the cache refuses folders that other users can
write into, so nobody else can change an environment that tasks will run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from airflow_jupyter_provider.config import EnvCacheSettings
from airflow_jupyter_provider.environments.archive import conda_unpack, unpack_conda_pack
from airflow_jupyter_provider.environments.checksums import validate_sha256, verify
from airflow_jupyter_provider.environments.locks import Lock
from airflow_jupyter_provider.environments.sources import ArchiveSource
from airflow_jupyter_provider.exceptions import CacheDirError

_ID_LENGTH = 16


class EnvironmentCache:
    """Unpacked environments under ``root``, at most about ``max_bytes`` of them (None: no bound)."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = Path(root).expanduser().absolute()
        self.max_bytes = max_bytes
        self._locks = self.root / ".locks"
        self._sources = self.root / ".sources"
        self._tmp = self.root / ".tmp"

    @classmethod
    def of(cls, settings: EnvCacheSettings) -> EnvironmentCache:
        """The cache the worker's settings name (``env_cache_dir``, ``env_cache_max_size_mb``)."""
        return cls(settings.root, settings.max_bytes)

    @contextlib.contextmanager
    def environment(
        self, source: ArchiveSource, expected_sha256: str | None = None, *, log: logging.Logger
    ) -> Iterator[Path]:
        """The prefix of ``source``'s environment, unpacked if needed, in use until the block ends.

        ``log`` (the task's logger) is told whether the environment came from the cache or was
        fetched and unpacked, with sizes and times.

        :raises ChecksumMismatchError: the archive is not the one ``expected_sha256`` names.
        :raises ArchiveError: the archive is corrupt, unsafe or no conda-pack archive, or
            ``conda-unpack`` failed; the cache keeps nothing of it.
        :raises SourceError: the archive cannot be read from its source.
        :raises CacheDirError: the cache folder is writable by other users.
        """
        started = time.monotonic()
        expected = validate_sha256(expected_sha256)
        self._prepare()
        fingerprint = source.fingerprint()
        sha = self._known_sha(fingerprint, expected)
        in_use = None
        if sha is not None:
            verify(source.location, sha, expected)
            in_use = self._use(sha)
        if in_use is None:
            in_use, sha = self._fetch_and_unpack(source, fingerprint, expected, log)
        else:
            log.info(
                "Packed environment %s: cached at %s (%s), ready in %.0f ms",
                source.location,
                self._prefix(sha),
                _megabytes(self._marker_info(sha).get("bytes", 0)),
                (time.monotonic() - started) * 1000,
            )
        with in_use:
            yield self._prefix(sha)

    def sha256_of(self, prefix: Path) -> str | None:
        """The sha256 of the archive unpacked at ``prefix`` (one :meth:`environment` gave)."""
        return self._marker_info(prefix.name).get("sha256")

    def bytes_of(self, prefix: Path) -> int | None:
        """The unpacked size of the environment at ``prefix`` (one :meth:`environment` gave)."""
        return self._marker_info(prefix.name).get("bytes")

    @contextlib.contextmanager
    def layer(
        self, key: str, build: Callable[[Path], None], *, name: str, log: logging.Logger
    ) -> Iterator[Path]:
        """The prefix of the layer ``key`` (the sha256 of what it is made of), built if needed by
        ``build(prefix)`` at that final path, in use until the block ends.

        One process builds a layer; the others that want it meanwhile wait and use it. A build
        that fails leaves nothing; one killed halfway leaves a folder without marker, which is
        never used and goes when the layer is next built. ``name`` says in the log what it is.

        :raises CacheDirError: the cache folder is writable by other users.
        """
        started = time.monotonic()
        self._prepare()
        in_use = self._use(key)
        if in_use is None:
            with self._exclusive(_key(f"build {key}")):
                in_use, built = self._use_or_make(key, lambda: self._build(key, build, name, log))
            if not built:
                log.info("%s: built by another task meanwhile, cached at %s", name, self._prefix(key))
            try:
                self._evict(log)
            except BaseException:
                in_use.release()
                raise
        else:
            log.info(
                "%s: cached at %s, ready in %.0f ms",
                name,
                self._prefix(key),
                (time.monotonic() - started) * 1000,
            )
        with in_use:
            yield self._prefix(key)

    def _fetch_and_unpack(
        self, source: ArchiveSource, fingerprint: str | None, expected: str | None, log: logging.Logger
    ) -> tuple[Lock, str]:
        """Fetch ``source`` (one process per source at a time) and unpack it unless cached meanwhile."""
        key = _key(fingerprint or source.location)
        with self._exclusive(key):
            sha = self._known_sha(fingerprint, expected)
            if sha is not None:
                verify(source.location, sha, expected)
                in_use = self._use(sha)
                if in_use is not None:
                    log.info(
                        "Packed environment %s: unpacked by another task meanwhile, cached at %s",
                        source.location,
                        self._prefix(sha),
                    )
                    return in_use, sha
            download = self._tmp / f"{key}-{source.name}"
            try:
                started = time.monotonic()
                fetched = source.fetch(download)
                log.info(
                    "Packed environment %s: fetched %s in %.1f s (sha256 %s)",
                    source.location,
                    _megabytes(fetched.size),
                    time.monotonic() - started,
                    fetched.sha256,
                )
                verify(source.location, fetched.sha256, expected)
                in_use, unpacked = self._use_or_make(
                    fetched.sha256, lambda: self._unpack(fetched.sha256, download, source, log)
                )
                if not unpacked:
                    log.info(
                        "Packed environment %s: cached at %s", source.location, self._prefix(fetched.sha256)
                    )
            finally:
                download.unlink(missing_ok=True)
            try:
                if fingerprint is not None:
                    self._remember(key, fingerprint, fetched.sha256)
                self._evict(log)
            except BaseException:
                in_use.release()
                raise
        return in_use, fetched.sha256

    def _use_or_make(self, sha: str, make: Callable[[], None]) -> tuple[Lock, bool]:
        """``sha``'s shared lock, held on its ready environment, made by ``make`` (under its
        exclusive lock) if it is not ready; and whether this process made it."""
        while True:
            in_use = self._use(sha)
            if in_use is not None:
                return in_use, False
            lock = Lock.acquire(self._lock_path(sha[:_ID_LENGTH]))
            assert lock is not None  # created and waited for
            made = False
            try:
                if not self._ready(sha):
                    make()
                    made = True
                # An eviction may slip in while the lock is shared, which the checks notice.
                shared = lock.share()
            except BaseException:
                self._discard(sha[:_ID_LENGTH])
                lock.release()
                raise
            if shared and self._ready(sha):
                return lock, made
            lock.release()

    def _unpack(self, sha: str, archive: Path, source: ArchiveSource, log: logging.Logger) -> None:
        """Extract, rename into place, run conda-unpack there, then mark ready (exclusive lock held).

        The size recorded is the one the unpack counted: walking the tree again cost 0.2 s of a
        2.6 s cold activation (``benchmarks/big_env.py``). conda-unpack's rewrites change it by
        the difference in prefix length in the few files they touch.
        """
        env_id = sha[:_ID_LENGTH]
        prefix, work = self._prefix(sha), self._tmp / env_id
        self._remove_leftovers(env_id)
        started = time.monotonic()
        with _not_writable_by_others():
            work.mkdir()
            size = unpack_conda_pack(archive, work, source.location)
            work.rename(prefix)
            extracted = time.monotonic()
            conda_unpack(prefix, source.location)
        info = {"sha256": sha, "source": source.location, "bytes": size}
        _write_replacing(self._marker(env_id), json.dumps(info), self._tmp / f"{env_id}.json")
        log.info(
            "Packed environment %s: unpacked into %s (%s) in %.1f s, conda-unpack %.1f s",
            source.location,
            prefix,
            _megabytes(size),
            extracted - started,
            time.monotonic() - extracted,
        )

    def _build(self, key: str, build: Callable[[Path], None], name: str, log: logging.Logger) -> None:
        """Build the layer ``key`` in place, then mark it ready (its exclusive lock held)."""
        env_id = key[:_ID_LENGTH]
        prefix = self._prefix(key)
        self._remove_leftovers(env_id)
        started = time.monotonic()
        with _not_writable_by_others():
            build(prefix)
        size = _tree_bytes(prefix)
        info = {"sha256": key, "source": name, "bytes": size}
        _write_replacing(self._marker(env_id), json.dumps(info), self._tmp / f"{env_id}.json")
        log.info("%s: built at %s (%s) in %.1f s", name, prefix, _megabytes(size), time.monotonic() - started)

    def _evict(self, log: logging.Logger) -> None:
        """Remove least recently used environments not in use beyond ``max_bytes``; sweep leftovers."""
        if self.max_bytes is not None:
            ready = []
            for marker in self.root.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    ready.append(
                        (marker.stat().st_mtime, marker.stem, json.loads(marker.read_text())["bytes"])
                    )
            total = sum(size for _, _, size in ready)
            for _, env_id, size in sorted(ready):
                if total <= self.max_bytes:
                    break
                if not self._discard_unused(env_id):
                    continue  # in use
                total -= size
                log.info(
                    "Evicted the cached environment %s (%s) to keep the cache under %s",
                    self.root / env_id,
                    _megabytes(size),
                    _megabytes(self.max_bytes),
                )
        for lock_path in self._locks.glob("*.lock"):
            if not self._marker(lock_path.stem).exists():
                self._discard_unused(lock_path.stem)

    def _discard_unused(self, key: str) -> bool:
        """Discard ``key`` if its exclusive lock can be taken without waiting (no task uses it)."""
        lock = Lock.acquire(self._lock_path(key), wait=False, create=False)
        if lock is None:
            return False
        with lock:
            self._discard(key)
        return True

    def _discard(self, key: str) -> None:
        """Remove everything of ``key``, its lock file last (its exclusive lock is held)."""
        self._remove_leftovers(key)
        for entry in self._sources.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(entry.read_text())["sha256"].startswith(key):
                    entry.unlink()
        self._lock_path(key).unlink(missing_ok=True)

    def _remove_leftovers(self, key: str) -> None:
        self._marker(key).unlink(missing_ok=True)
        for leftover in (self.root / key, *self._tmp.glob(f"{key}*")):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)

    def _use(self, sha: str) -> Lock | None:
        """The shared lock of ``sha``'s environment, held, if it is ready; else None."""
        lock = Lock.acquire(self._lock_path(sha[:_ID_LENGTH]), shared=True, create=False)
        if lock is None:
            return None
        if not self._ready(sha):
            lock.release()
            return None
        os.utime(self._marker(sha[:_ID_LENGTH]))
        return lock

    def _ready(self, sha: str) -> bool:
        return self._marker(sha[:_ID_LENGTH]).is_file() and self._prefix(sha).is_dir()

    @contextlib.contextmanager
    def _exclusive(self, key: str) -> Iterator[None]:
        """Hold ``key``'s exclusive lock; its lock file goes when the block ends."""
        path = self._lock_path(key)
        lock = Lock.acquire(path)
        assert lock is not None  # created and waited for
        with lock:
            try:
                yield
            finally:
                path.unlink(missing_ok=True)

    def _known_sha(self, fingerprint: str | None, expected: str | None) -> str | None:
        """The sha256 the source's content is known to have without fetching it, if any.

        It is the one remembered for the source's fingerprint; a source that offers none (an
        http server refusing HEAD, as signed URLs do) is taken to hold what the pin names.
        """
        if fingerprint is None:
            return expected
        try:
            entry = json.loads((self._sources / f"{_key(fingerprint)}.json").read_text())
        except (OSError, ValueError):
            return None
        return entry["sha256"] if entry.get("fingerprint") == fingerprint else None

    def _remember(self, key: str, fingerprint: str, sha: str) -> None:
        entry = json.dumps({"fingerprint": fingerprint, "sha256": sha})
        _write_replacing(self._sources / f"{key}.json", entry, self._tmp / f"{key}.json")

    def _prepare(self) -> None:
        for folder in (self.root, self._locks, self._sources, self._tmp):
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            st = folder.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
                raise CacheDirError(
                    f"env_cache_dir: '{folder}' must be a folder owned by this user and not writable by "
                    "others (chmod go-w), so that no one else can change the environments tasks run in"
                )

    def _marker_info(self, sha: str) -> dict:
        try:
            return json.loads(self._marker(sha[:_ID_LENGTH]).read_text())
        except (OSError, ValueError):
            return {}

    def _prefix(self, sha: str) -> Path:
        return self.root / sha[:_ID_LENGTH]

    def _marker(self, env_id: str) -> Path:
        return self.root / f"{env_id}.json"

    def _lock_path(self, key: str) -> Path:
        return self._locks / f"{key}.lock"


@contextlib.contextmanager
def _not_writable_by_others() -> Iterator[None]:
    """Within the block, files are created without group and other write bits. The umask is the
    process's: fine for Airflow, which runs one task per process."""
    umask = os.umask(0o077)
    os.umask(umask | 0o022)
    try:
        yield
    finally:
        os.umask(umask)


def _write_replacing(path: Path, text: str, part: Path) -> None:
    """Write ``text`` to ``part``, not writable by others whatever the umask, then rename it to ``path``."""
    with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "w") as out:
        out.write(text)
    part.replace(path)


def _tree_bytes(folder: Path) -> int:
    """The size of the files under ``folder``, each hard-linked file counted once."""
    sizes = {}
    for directory, _, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(directory, name))
            sizes[st.st_ino] = st.st_size
    return sum(sizes.values())


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_ID_LENGTH]


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
