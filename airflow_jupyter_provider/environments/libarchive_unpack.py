"""Unpacking archives with libarchive (C), every entry checked in Python before it is written.

Python's ``tarfile`` spends most of an unpack on per-member Python work (header parsing, path
checks); libarchive reads, decompresses and writes in C at GNU tar's speed. The decisions stay
ours: for each entry, before libarchive writes it, this module refuses (naming the member)

- absolute names and names with a ``..`` component;
- symbolic links to absolute paths, with ``..`` after a folder name in their target, or whose
  target leaves the destination; in zip archives, every symbolic link (conda-pack stores link
  targets there as files, as the standard-library path expects);
- hard links whose target is absolute, has ``..``, leaves the destination or is a symbolic
  link (libarchive would link the link itself, its relative target then read from elsewhere);
- device files, FIFOs and sockets.

- entries written through a symbolic link of the archive, or over one, and symbolic links
  replacing a folder of the archive: with link targets resolving inside the destination from
  a real folder, this keeps every path inside it, whatever the order of the entries.

Compressed tar archives are decompressed in a second thread (:class:`_Decompressing`, libarchive's
own decompressors in a reader of its own) while this one checks and writes the entries: on two
cores that is what GNU tar gets from running ``zstd`` or ``gzip`` beside it, and where
decompressing costs about as much as writing (zstd) it nearly halves the unpack.

libarchive refuses ``..`` a second time (``ARCHIVE_EXTRACT_SECURE_NODOTDOT``). Where the
destination is not empty at the start, links that were already there are refused by
libarchive too (``ARCHIVE_EXTRACT_SECURE_SYMLINKS``). That flag checks every folder of every
path with three system calls each, about 160,000 for the 149 MB benchmark environment, more
than GNU tar makes for the whole unpack: so an unpack into an empty folder (the cache's case)
goes without it. Names are made absolute under the real path of the destination after
they are checked, so the process's working directory is never changed.

Permissions are those of the standard library's ``data`` filter: no set-id or sticky bits, no
group or other write bits, owner read and write always, executable bits kept only where the
owner may execute; folders ``rwxr-xr-x`` at most. Modification times are restored (Python's
byte-code caches depend on them); owners are not.

``libarchive`` (the libarchive-c binding, which loads the shared library with ctypes) is
imported on the first unpack, never when a DAG file is parsed. :func:`load` tells whether it
can be loaded; the caller falls back to the standard library when it cannot.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import posixpath
import queue
import sys
import threading
from pathlib import Path
from types import ModuleType

from airflow_jupyter_provider.exceptions import ArchiveError

log = logging.getLogger(__name__)

HOW_TO_INSTALL = (
    "install the shared library (Debian/Ubuntu: apt-get install libarchive13; an Airflow in conda: "
    "conda install -c conda-forge libarchive) and the binding (pip install libarchive-c), "
    "or point the LIBARCHIVE environment variable at libarchive.so"
)

# archive.h
_ARCHIVE_EOF, _ARCHIVE_OK, _ARCHIVE_WARN = 1, 0, -20
# archive_entry.h
_AE_IFMT, _AE_IFREG, _AE_IFDIR, _AE_IFLNK = 0o170000, 0o100000, 0o040000, 0o120000
# archive_write_disk flags
_EXTRACT_PERM = 0x0002
_EXTRACT_TIME = 0x0004
_EXTRACT_SECURE_SYMLINKS = 0x0100
_EXTRACT_SECURE_NODOTDOT = 0x0200
_FLAGS = _EXTRACT_PERM | _EXTRACT_TIME | _EXTRACT_SECURE_NODOTDOT


@functools.cache
def load() -> ModuleType | None:
    """libarchive-c's ``ffi`` module with the shared library loaded, or None (logged once).

    Where ``LIBARCHIVE`` is not set and this Python's own prefix holds ``lib/libarchive.so``
    (an Airflow installed in a conda environment with conda-forge's ``libarchive``), that one
    is used: the system's library search does not look there.
    """
    own = Path(sys.prefix) / "lib" / "libarchive.so"
    if not os.environ.get("LIBARCHIVE") and own.exists():
        os.environ["LIBARCHIVE"] = str(own)
    try:
        import libarchive.ffi as ffi

        ffi.libarchive.archive_read_extract2  # noqa: B018  (present since libarchive 2.x)
    except ImportError as err:
        reason = f"the libarchive-c package is not installed ({err})"
    except (OSError, AttributeError) as err:
        where = os.environ.get("LIBARCHIVE") or "the system's library path"
        reason = f"the libarchive shared library could not be loaded from {where} ({err})"
    else:
        return ffi
    log.warning(
        "Packed environments are unpacked with Python's tarfile and zipfile, about 3 times slower "
        "than GNU tar: %s. For the fast path, %s.",
        reason,
        HOW_TO_INSTALL,
    )
    return None


class _Refused(Exception):
    """An entry that must not be written; the message names it."""


def unpack(ffi: ModuleType, archive: Path, destination: Path, kind: str) -> int:
    """Unpack ``archive`` (``kind`` as ``archive.ARCHIVE_FORMATS`` names it) into ``destination``.

    :returns: the bytes libarchive wrote into regular files (each hard-linked file once: a hard
        link writes none), so that the caller need not walk the tree again to know it.
    :raises ArchiveError: an entry is refused or the archive cannot be read or written; the
        message names the archive and, where there is one, the entry.
    """
    destination.mkdir(parents=True, exist_ok=True)
    root = os.fsencode(os.path.realpath(destination))
    with os.scandir(root) as entries:
        flags = _FLAGS if next(entries, None) is None else _FLAGS | _EXTRACT_SECURE_SYMLINKS
    read_p = ffi.read_new()
    write_p = feed = None
    try:
        ffi.read_support_filter_all(read_p)
        ffi.read_support_format_all(read_p)
        feed = None if kind == "zip" else _Decompressing.of(ffi, archive)
        if feed is None:
            ffi.read_open_filename_w(read_p, str(archive), 1 << 16)
        else:
            feed.open(read_p)
        write_p = ffi.write_disk_new()
        ffi.write_disk_set_options(write_p, flags)
        _extract(ffi, read_p, write_p, root, zip_archive=kind == "zip")
        ffi.write_close(write_p)  # folders' times and modes are set here, last
        size = ffi.filter_bytes(write_p, -1)  # a disk writer's count of the data it wrote
    except (_Refused, ffi.ArchiveError) as err:
        # A failed decompression is what made the reading fail: its message says why.
        reason = (feed and feed.failure) or getattr(err, "msg", None) or err
        raise ArchiveError(f"cannot unpack '{archive}': {reason}") from None
    finally:
        if feed is not None:
            feed.stop()
        if write_p is not None:
            ffi.write_free(write_p)
        ffi.read_free(read_p)
    return size


#: The decompressed bytes handed to libarchive at a time, and how many may wait for it.
_CHUNK_BYTES = 1 << 20
_QUEUED_CHUNKS = 8


class _Decompressing:
    """The decompressed stream of a compressed archive, made in a second thread.

    The thread reads the archive with a libarchive reader of its own (every compression
    libarchive knows, the ``raw`` format: the stream as it is once decompressed) into a ring
    of buffers; the unpacking reader gets them in order through its read callback. ctypes
    releases the GIL around every libarchive call, so the two threads decompress and write at
    once. A buffer is filled again only after ``_QUEUED_CHUNKS + 1`` later ones: by then
    libarchive has asked for the next one after it, which is when it lets the previous go.

    A decompression error ends the stream (the callback returns -1) and :attr:`failure` holds
    libarchive's message for it. What the stream holds after the archive's end is never asked
    for, as with libarchive's decompression in the unpacking reader.
    """

    def __init__(self, ffi: ModuleType, raw_p: int) -> None:
        self.failure: str | None = None
        self._ffi, self._raw_p = ffi, raw_p
        self._ring = [ctypes.create_string_buffer(_CHUNK_BYTES) for _ in range(_QUEUED_CHUNKS + 2)]
        self._chunks: queue.Queue[tuple[int, int] | None] = queue.Queue(_QUEUED_CHUNKS)
        self._stopping = threading.Event()
        self._callback = ffi.READ_CALLBACK(self._read)  # kept alive while libarchive may call it
        self._thread = threading.Thread(target=self._decompress, name="unpack-decompress", daemon=True)

    @classmethod
    def of(cls, ffi: ModuleType, archive: Path) -> _Decompressing | None:
        """One for ``archive`` if libarchive finds it compressed; None for an uncompressed one (or
        one it cannot open: the unpacking reader then says why)."""
        raw_p = ffi.read_new()
        try:
            ffi.read_support_filter_all(raw_p)
            ffi.read_support_format_raw(raw_p)
            ffi.read_open_filename_w(raw_p, str(archive), 1 << 16)
            entry_p = ffi.entry_new()
            try:
                ffi.read_next_header2(raw_p, entry_p)
            finally:
                ffi.entry_free(entry_p)
            if ffi.filter_count(raw_p) > 1:  # "none", the file itself, is always one
                return cls(ffi, raw_p)
        except ffi.ArchiveError:
            pass
        ffi.read_free(raw_p)
        return None

    def open(self, read_p: int) -> None:
        """Start the thread and open ``read_p`` on its stream."""
        self._thread.start()
        self._ffi.read_open(read_p, None, self._ffi.NO_OPEN_CB, self._callback, self._ffi.NO_CLOSE_CB)

    def stop(self) -> None:
        """End the thread, wherever the unpack stopped, and free its reader."""
        self._stopping.set()
        if self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:  # room for a put the thread may be waiting on
                    self._chunks.get_nowait()
            self._thread.join()
        self._ffi.read_free(self._raw_p)

    def _decompress(self) -> None:
        read_data = _function(
            self._ffi, "read_data", ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t
        )
        number = 0
        try:
            while not self._stopping.is_set():
                buffer = self._ring[number % len(self._ring)]
                size = read_data(self._raw_p, buffer, _CHUNK_BYTES)
                if size < 0:
                    self.failure = _error(self._ffi, self._raw_p)
                if size <= 0:
                    break
                self._put((ctypes.addressof(buffer), size))
                number += 1
        finally:
            self._put(None)

    def _put(self, chunk: tuple[int, int] | None) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(queue.Full):
                self._chunks.put(chunk, timeout=0.1)
                return

    def _read(self, _archive_p: int, _client_data: int, buffer_p: ctypes._Pointer) -> int:
        """libarchive's read callback: the next chunk's size (0 at the end, -1 after a failure)."""
        chunk = self._chunks.get()
        if chunk is None:
            self._chunks.put(None)  # libarchive may ask again
            return -1 if self.failure else 0
        buffer_p[0], size = chunk
        return size


def _extract(ffi: ModuleType, read_p: int, write_p: int, root: bytes, *, zip_archive: bool) -> None:
    """The loop: read a header, check it, point it under ``root``, let libarchive write it.

    Kept to plain ctypes calls on one reused entry, looked up once. Nearly every entry of an
    environment is a plain file in a folder already checked, its permissions ones the ``data``
    filter keeps: for those the loop itself checks what :func:`_admit` would (nothing else is
    left to check), so that the Python per entry stays a small part of writing it.
    """
    entry = _Entry(ffi)
    tree = _Tree(root, root + b"/")
    next_header = _function(ffi, "read_next_header2", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    extract = _function(ffi, "read_extract2", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    pathname, mode_of, hardlink = entry.pathname, entry.mode, entry.hardlink
    folders, links, prefix = tree.folders, tree.links, tree.prefix
    entry_p = ffi.entry_new()
    try:
        while (status := next_header(read_p, entry_p)) != _ARCHIVE_EOF:
            if status != _ARCHIVE_OK:
                _header_status(ffi, read_p, status)
            name = pathname(entry_p)
            # Written as it is: a plain file whose permissions stay, not a hard link, not over a
            # link, named in a folder of ``folders`` (relative, normalized, no link on it: never "")
            # by a last part that is a name (so a normalized relative path already). Else _admit.
            if not (
                mode_of(entry_p) in _KEPT_FILE_MODES
                and name is not None
                and (parts := name.rpartition(b"/"))[0] in folders
                and parts[2] not in _NOT_NAMES
                and not (links and name in links)
                and hardlink(entry_p) is None
            ):
                name = _admit(entry, entry_p, tree, zip_archive)
            entry.set_pathname(entry_p, prefix + name)
            # archive_read_extract2 reports a refused or failed write as a warning: none is ignored.
            if extract(read_p, entry_p, write_p) != _ARCHIVE_OK:
                raise _Refused(f"member {_show(name)}: {_error(ffi, read_p)}")
    finally:
        ffi.entry_free(entry_p)


def _header_status(ffi: ModuleType, read_p: int, status: int) -> None:
    """Refuse a header libarchive could not read; log what it read with a warning."""
    if status < _ARCHIVE_WARN:
        raise _Refused(_error(ffi, read_p))
    log.warning("%s", _error(ffi, read_p))


class _Entry:
    """The libarchive calls on an entry the loop makes, looked up once."""

    def __init__(self, ffi: ModuleType) -> None:
        self.pathname, self.mode = ffi.entry_pathname, ffi.entry_mode
        self.hardlink, self.symlink = ffi.entry_hardlink, ffi.entry_symlink
        self.set_perm, self.set_pathname = ffi.entry_set_perm, ffi.entry_copy_pathname
        self.set_hardlink = _function(ffi, "entry_copy_hardlink", None, ctypes.c_void_p, ctypes.c_char_p)


#: Last components that are not a file's name: normalized away, or refused.
_NOT_NAMES = frozenset((b"", b".", b".."))


class _Tree:
    """What is known of the tree written so far under ``root`` (``prefix`` is ``root`` + ``/``)."""

    def __init__(self, root: bytes, prefix: bytes) -> None:
        self.root, self.prefix = root, prefix
        self.links: set[bytes] = set()  # the symbolic links written so far, normalized names
        self.folders: set[bytes] = set()  # folders known to be real: nothing in their path is a link

    def checked_path(self, name: bytes) -> bytes:
        """The normalized path of the member ``name``; refused if it leaves the tree or a link is on it."""
        _check_name(name, self.root)
        path = _normalized(name)
        self.check_folder_of(name, path)
        if path in self.links:
            raise _Refused(f"member {_show(name)} would be written over the symbolic link {_show(path)}")
        return path

    def check_folder_of(self, name: bytes, path: bytes) -> None:
        """Refuse ``name`` when a folder above ``path`` is a symbolic link; else remember them as real.

        ``folders`` holds every folder above each of its folders, so the walk up stops at the
        first known one: usually the folder's own parent.
        """
        new, folder = [], path.rpartition(b"/")[0]
        while folder and folder not in self.folders:
            if folder in self.links:
                raise _Refused(
                    f"member {_show(name)} would be written through the symbolic link {_show(folder)}"
                )
            new.append(folder)
            folder = folder.rpartition(b"/")[0]
        self.folders.update(new)

    def check_hardlink(self, name: bytes, target: bytes) -> None:
        _check_hardlink(name, target, self.root)
        # libarchive links with link(2), which does not follow a link: a hard link to a symbolic
        # link would be a copy of it elsewhere, its relative target read anew.
        linked = _normalized(target)
        self.check_folder_of(name, linked)
        if linked in self.links or os.path.islink(self.prefix + linked):
            raise _Refused(f"{_show(name)} is a hard link to the symbolic link {_show(target)}")

    def add_symlink(self, name: bytes, path: bytes, target: bytes | None) -> None:
        if path in self.folders:
            raise _Refused(f"{_show(name)} is a symbolic link that would replace a folder")
        _check_symlink(name, target, self.root)
        self.links.add(path)


def _data_filter_file_permissions(mode: int) -> int:
    """The permissions the ``data`` filter leaves a regular file of permissions ``mode``."""
    perm = mode & 0o755
    return (perm if perm & 0o100 else perm & ~0o111) | 0o600


#: The modes of regular files whose permissions the ``data`` filter keeps as they are.
_KEPT_FILE_MODES = frozenset(
    _AE_IFREG | perm for perm in range(0o10000) if _data_filter_file_permissions(perm) == perm
)


def _admit(entry: _Entry, entry_p: int, tree: _Tree, zip_archive: bool) -> bytes:
    """The name of the entry at ``entry_p`` once it is checked, its permissions those of the
    ``data`` filter; refuses what must not be written."""
    name = entry.pathname(entry_p)
    if name is None:
        raise _Refused("an entry has no name libarchive can convert to this locale")
    mode = entry.mode(entry_p)  # the file type's bits and the permissions
    path = tree.checked_path(name)
    kind = mode & _AE_IFMT
    if (target := entry.hardlink(entry_p)) is not None:
        tree.check_hardlink(name, target)
        entry.set_hardlink(entry_p, tree.prefix + target)
    elif kind == _AE_IFREG:
        entry.set_perm(entry_p, _data_filter_file_permissions(mode))
    elif kind == _AE_IFDIR:
        if path:  # "./" is the destination itself, no folder of a name
            tree.folders.add(path)
        entry.set_perm(entry_p, (mode & 0o755) | 0o700)
    elif kind == _AE_IFLNK:
        if zip_archive:
            raise _Refused(f"member {_show(name)} is a symbolic link")
        tree.add_symlink(name, path, entry.symlink(entry_p))
    else:
        raise _Refused(f"{_show(name)} is a special file")
    return name


def _function(ffi: ModuleType, name: str, restype: object, *argtypes: object) -> ctypes._CFuncPtr:
    """``archive_NAME`` as a function object of our own (libarchive-c's carry its error checks)."""
    function = ffi.libarchive[f"archive_{name}"]
    function.argtypes, function.restype = argtypes, restype
    return function


def _normalized(name: bytes) -> bytes:
    """``name`` without ``.`` components, doubled or trailing slashes (``..`` is refused before)."""
    if name.startswith(b"./") or b"//" in name or b"/./" in name or name.endswith(b"/."):
        name = b"/".join(part for part in name.split(b"/") if part not in (b"", b"."))
    return name.rstrip(b"/")


def _check_name(name: bytes, root: bytes) -> None:
    if name.startswith(b"/"):
        raise _Refused(f"member {_show(name)} has an absolute path")
    if b".." in name.split(b"/"):
        if posixpath.normpath(name).startswith(b".."):
            resolved = posixpath.normpath(posixpath.join(root, name))
            raise _Refused(
                f"{_show(name)} would be extracted to {_show(resolved)}, which is outside the destination"
            )
        raise _Refused(f"member {_show(name)} has a '..' component")


def _check_symlink(name: bytes, target: bytes | None, root: bytes) -> None:
    """A relative target, ``..`` only at its start, resolving inside ``root`` from the link's folder.

    With ``..`` only leading, the target resolves from the link's own folder, a real folder
    (libarchive writes nothing through links), so the lexical answer is the real one whatever
    links exist or come later.
    """
    if not target:
        raise _Refused(f"{_show(name)} is a symbolic link without a target")
    if target.startswith(b"/"):
        raise _Refused(f"{_show(name)} is a link to an absolute path")
    parts = [part for part in target.split(b"/") if part not in (b"", b".")]
    leading = 0
    while leading < len(parts) and parts[leading] == b"..":
        leading += 1
    if b".." in parts[leading:]:
        raise _Refused(f"{_show(name)} is a link to {_show(target)}, which has '..' after a folder name")
    folder = [part for part in posixpath.dirname(name).split(b"/") if part not in (b"", b".")]
    if leading > len(folder):
        resolved = posixpath.normpath(posixpath.join(root, *folder, target))
        raise _Refused(f"{_show(name)} would link to {_show(resolved)}, which is outside the destination")


def _check_hardlink(name: bytes, target: bytes, root: bytes) -> None:
    """A hard link's target is a member name: relative, without ``..``."""
    if target.startswith(b"/"):
        raise _Refused(f"{_show(name)} is a link to an absolute path")
    if b".." in target.split(b"/"):
        resolved = posixpath.normpath(posixpath.join(root, target))
        raise _Refused(f"{_show(name)} would link to {_show(resolved)}, which is outside the destination")


def _error(ffi: ModuleType, archive_p: int) -> str:
    """libarchive's message for the last error on ``archive_p``."""
    message = ffi.error_string(archive_p)
    return os.fsdecode(message) if message else "unknown libarchive error"


def _show(name: bytes) -> str:
    return repr(os.fsdecode(name))
