"""conda-pack archives: unpacking them safely (recognised by suffix, ``formats.py``), and making
the unpacked environment work where it is (``conda-unpack``)."""

from __future__ import annotations

import lzma
import os
import stat
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

if sys.version_info >= (3, 12):
    import tarfile
else:
    # Extraction filters reached 3.10 and 3.11 in point releases (3.10.12, 3.11.4), so Debian 12's
    # 3.11.2 has none: the backport is the newer standard-library tarfile, filters included.
    from backports import tarfile

from airflow_jupyter_provider.environments.formats import ARCHIVE_FORMATS, archive_format
from airflow_jupyter_provider.exceptions import ArchiveError
from airflow_jupyter_provider.notebook_env import notebook_env

#: What every conda-pack archive holds.
CONDA_PACK_LAYOUT = ("bin/activate", "bin/conda-unpack", "conda-meta")


def unpack(archive: Path, destination: Path) -> int:
    """Unpack ``archive`` into ``destination``, refusing members that would escape it; the bytes
    of the regular files written (each hard-linked file once).

    libarchive unpacks where it can be loaded, each entry checked first (``libarchive_unpack``);
    elsewhere the standard library does, which is about 3 times slower than GNU tar. Tar
    archives then go through the ``data`` extraction filter (no absolute paths, no ``..``, no
    links leaving the destination, no device files). Zip archives carry no links here
    (conda-pack stores their targets as files); their Unix permission bits are restored so
    that ``bin/`` stays executable. Both paths refuse the same members.
    """
    from airflow_jupyter_provider.environments import libarchive_unpack

    kind = archive_format(archive.name)
    if kind is None:
        raise ArchiveError(f"'{archive}' has none of the suffixes {', '.join(ARCHIVE_FORMATS)}")
    try:
        ffi = libarchive_unpack.load()
        if ffi is not None:
            return libarchive_unpack.unpack(ffi, archive, destination, kind)
        return UNPACKERS[kind](archive, destination)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError, zlib.error) as err:
        raise ArchiveError(f"cannot unpack '{archive}': {err}") from err


def _unpack_tar(archive: Path, destination: Path) -> int:
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter=_refusing_absolute_data_filter)
        _read_to_the_end(tar)
        return _regular_bytes(tar)


def _unpack_zstd(archive: Path, destination: Path) -> int:
    """zstd tar archives: the optional ``zstandard`` package decompresses, tarfile extracts.

    (The standard library reads zstd only from Python 3.14 on.)
    """
    try:
        import zstandard
    except ImportError as err:
        raise ArchiveError(f"'{archive}' is compressed with zstd: install the zstandard package") from err
    try:
        with (
            archive.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw) as stream,
            tarfile.open(fileobj=stream, mode="r|") as tar,
        ):
            tar.extractall(destination, filter=_refusing_absolute_data_filter)
            _read_to_the_end(tar)
            return _regular_bytes(tar)
    except zstandard.ZstdError as err:
        raise ArchiveError(f"cannot unpack '{archive}': {err}") from err


def _read_to_the_end(tar: tarfile.TarFile) -> None:
    """Refuse an archive that ``tarfile`` stopped reading early.

    tarfile takes a damaged header after the first one for the archive's end, and a damaged
    compressed stream can end it there quietly: what follows must be the zeros that pad a tar
    archive, and reading them to the end of the compressed stream checks its checksum.
    """
    while chunk := tar.fileobj.read(1 << 20):
        if chunk.strip(b"\0"):
            raise tarfile.ReadError("an entry's header is damaged: entries follow where it ends")


def _regular_bytes(tar: tarfile.TarFile) -> int:
    """The sizes of the regular files of ``tar``, once extracted (a stream's members are known by then)."""
    return sum(member.size for member in tar.getmembers() if member.isreg())


class _HardLinkToSymlinkError(tarfile.FilterError):
    def __init__(self, member: tarfile.TarInfo) -> None:
        self.tarinfo = member
        super().__init__(f"{member.name!r} is a hard link to the symbolic link {member.linkname!r}")


def _refusing_absolute_data_filter(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo:
    """The ``data`` filter, except that an absolute member is refused instead of made relative,
    and so is a hard link to a symbolic link: the ``data`` filter checks where the link points
    from its own folder, but the hard link is a copy of it in another folder."""
    if member.name.startswith(("/", os.sep)):
        raise tarfile.AbsolutePathError(member)
    if member.islnk() and os.path.islink(os.path.join(dest_path, member.linkname)):
        raise _HardLinkToSymlinkError(member)
    return tarfile.data_filter(member, dest_path)


def _unpack_zip(archive: Path, destination: Path) -> int:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(f"'{archive}': member '{info.filename}' is a symbolic link")
            # Refused, as libarchive_unpack refuses them (ZipFile.extract would drop the parts).
            if info.filename.startswith("/"):
                raise ArchiveError(
                    f"cannot unpack '{archive}': member {info.filename!r} has an absolute path"
                )
            if ".." in info.filename.split("/"):
                raise ArchiveError(
                    f"cannot unpack '{archive}': member {info.filename!r} has a '..' component"
                )
            written = zf.extract(info, destination)
            if mode and not info.is_dir():
                os.chmod(written, (mode & 0o755) | stat.S_IRUSR | stat.S_IWUSR)
        return sum(info.file_size for info in zf.infolist() if not info.is_dir())


UNPACKERS = {"tar": _unpack_tar, "zip": _unpack_zip, "zstd": _unpack_zstd}


def unpack_conda_pack(archive: Path, destination: Path, location: str) -> int:
    """:func:`unpack` ``archive`` (fetched from ``location``), check it is a conda-pack layout, and
    give the bytes :func:`unpack` counted."""
    try:
        size = unpack(archive, destination)
    except ArchiveError as err:
        raise ArchiveError(str(err).replace(str(archive), location)) from err
    missing = [name for name in CONDA_PACK_LAYOUT if not (destination / name).exists()]
    if missing:
        raise ArchiveError(
            f"'{location}' is not a conda-pack archive (it has no {', '.join(missing)}); "
            "make it with `conda pack -n ENV -o ENV.tar.gz`"
        )
    return size


def conda_unpack(prefix: Path, location: str) -> None:
    """Make the environment work at ``prefix``: rewrite the prefix it was packed at, once, at its
    final path, as its ``bin/conda-unpack`` does.

    When that script is the one conda-pack generates, its records are done in this process
    (``prefix_records``: the script would spend most of its time compiling its list); any
    other script, or one whose records do not parse, runs as a program.
    """
    from airflow_jupyter_provider.environments import prefix_records

    records = prefix_records.read_records(prefix / "bin" / "conda-unpack")
    if records is None:
        _run_conda_unpack(prefix, location)
        return
    try:
        prefix_records.rewrite(prefix, records, location)
    except (OSError, ValueError) as err:
        raise _conda_unpack_failed(prefix, location, f": {err}") from err


def _run_conda_unpack(prefix: Path, location: str) -> None:
    """Run the environment's conda-unpack as activation would: its own bin/ first on PATH. It is
    the archive's code, so it gets no more of the worker's environment than a notebook does."""
    env = {
        **notebook_env(os.environ, {}),
        "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [str(prefix / "bin" / "conda-unpack")], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise _conda_unpack_failed(prefix, location, f" (exit status {done.returncode}): {output}")


def _conda_unpack_failed(prefix: Path, location: str, detail: str) -> ArchiveError:
    hint = ""
    if "negative padding" in detail:
        hint = (
            f"; the cache path '{prefix}' is longer than the prefix the environment was packed at: "
            "set env_cache_dir to a shorter folder"
        )
    return ArchiveError(f"conda-unpack failed for '{location}'{detail}{hint}")
