"""Unpacking conda-pack archives: formats by suffix, and members that would escape refused.

Each unpacking test runs twice (the ``unpacker`` fixture): with libarchive, and with the
standard library that takes over where libarchive cannot be loaded.
"""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from airflow_jupyter_provider.environments.archive import archive_format, unpack
from airflow_jupyter_provider.exceptions import ArchiveError
from tests.helpers import tar_member


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("env.tar.gz", "tar"),
        ("ENV.TAR.GZ", "tar"),
        ("env.tgz", "tar"),
        ("env.tar.bz2", "tar"),
        ("env.tbz2", "tar"),
        ("env.tar.xz", "tar"),
        ("env.tar", "tar"),
        ("env.Zip", "zip"),
        ("env.gz", None),
        ("analytics", None),
        ("/opt/envs/analytics", None),
    ],
)
def test_archive_format_by_suffix_case_insensitively(name, kind):
    assert archive_format(name) == kind


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def test_tar_members_keep_their_executable_bits(tmp_path, unpacker):
    archive = _tar(tmp_path / "env.tar.gz", (tar_member("bin/tool", mode=0o755), b"#!/bin/sh\necho hi\n"))
    unpack(archive, tmp_path / "out")
    assert (tmp_path / "out/bin/tool").stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize(
    ("member", "data"),
    [
        (tar_member("../escaped.txt"), b"x"),
        (tar_member("/tmp/absolute.txt"), b"x"),
        (tar_member("bin/link", kind=tarfile.SYMTYPE, target="/etc/passwd"), b""),
        (tar_member("bin/link", kind=tarfile.SYMTYPE, target="../../outside"), b""),
        (tar_member("bin/hard", kind=tarfile.LNKTYPE, target="../outside"), b""),
        (tar_member("dev/null", kind=tarfile.CHRTYPE), b""),
        (tar_member("bin/fifo", kind=tarfile.FIFOTYPE), b""),
    ],
    ids=["dotdot", "absolute", "symlink-absolute", "symlink-outside", "hardlink-outside", "device", "fifo"],
)
def test_members_that_would_escape_are_refused_naming_thetar_member(tmp_path, member, data, unpacker):
    _assert_refused_naming(tmp_path, (member, data))


def _assert_refused_naming(tmp_path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> None:
    """An archive of ``members`` is refused, naming the last, and nothing lands outside."""
    archive = _tar(tmp_path / "evil.tar.gz", *members)
    with pytest.raises(ArchiveError, match=r"cannot unpack .*evil\.tar\.gz") as refused:
        unpack(archive, tmp_path / "out")
    assert members[-1][0].name.lstrip("/") in str(refused.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute.txt").exists()


@pytest.mark.parametrize(
    ("member", "data"),
    [
        (tar_member("pkg/sub/../../../escaped.txt"), b"x"),
        (tar_member("pkg/.."), b"x"),
        (tar_member("pkg/link", kind=tarfile.SYMTYPE, target="/etc/passwd"), b""),
        (tar_member("pkg/link", kind=tarfile.SYMTYPE, target="../../outside"), b""),
        (tar_member("pkg/hard", kind=tarfile.LNKTYPE, target="../outside"), b""),
        (tar_member("pkg/fifo", kind=tarfile.FIFOTYPE), b""),
    ],
    ids=["dotdot", "dotdot-last", "symlink-absolute", "symlink-outside", "hardlink-outside", "fifo"],
)
def test_members_in_a_folder_already_written_are_checked_as_the_first(tmp_path, member, data, unpacker):
    """Most members of an environment are plain files in a folder already checked, which the
    libarchive loop admits on its own: the refusals hold there too."""
    _assert_refused_naming(tmp_path, (tar_member("pkg/ok.py"), b"x"), (member, data))


def test_a_file_over_a_link_in_a_folder_already_written_is_refused(tmp_path):
    """libarchive would replace the link; the archive's own links are never written over."""
    archive = _tar(
        tmp_path / "evil.tar.gz",
        (tar_member("pkg/ok.py"), b"inside"),
        (tar_member("pkg/alias", kind=tarfile.SYMTYPE, target="ok.py"), b""),
        (tar_member("pkg/alias"), b"replaced"),
    )
    with pytest.raises(ArchiveError, match=r"'pkg/alias' would be written over the symbolic link"):
        unpack(archive, tmp_path / "out")
    assert (tmp_path / "out/pkg/ok.py").read_bytes() == b"inside"


@pytest.mark.parametrize("name", ["pkg/alias/x.py", "pkg/alias/new/deeper/x.py", "pkg/alias/real/x.py"])
def test_a_file_through_a_link_of_the_archive_is_refused_naming_the_link(tmp_path, name):
    """libarchive would follow the link (inside the destination, so tarfile's filter allows it):
    whatever the folders under the link, and whether the target's own folders are known."""
    archive = _tar(
        tmp_path / "evil.tar.gz",
        (tar_member("pkg/real/ok.py"), b"inside"),
        (tar_member("pkg/alias", kind=tarfile.SYMTYPE, target="."), b""),
        (tar_member(name), b"through"),
    )
    with pytest.raises(
        ArchiveError, match=rf"member '{name}' would be written through the symbolic link 'pkg/alias'"
    ):
        unpack(archive, tmp_path / "out")
    written = {path.relative_to(tmp_path / "out").as_posix() for path in (tmp_path / "out").rglob("*")}
    assert written == {"pkg", "pkg/real", "pkg/real/ok.py", "pkg/alias"}


def test_modes_of_files_in_a_folder_already_written_are_the_data_filters(tmp_path, unpacker):
    modes = (0o644, 0o755, 0o666, 0o4755, 0o611, 0o400)
    members = [(tar_member("pkg/first.py"), b"x")] + [
        (tar_member(f"pkg/{oct(mode)}", mode=mode), b"x") for mode in modes
    ]
    out = tmp_path / "out"
    unpack(_tar(tmp_path / "env.tar.gz", *members), out)
    modes = {path.name: path.stat().st_mode & 0o7777 for path in (out / "pkg").iterdir()}
    assert modes == {
        "first.py": 0o644,
        "0o644": 0o644,
        "0o755": 0o755,
        "0o666": 0o644,
        "0o4755": 0o755,
        "0o611": 0o600,
        "0o400": 0o600,
    }


def test_truncated_archive_is_a_clear_error(tmp_path, unpacker):
    good = _tar(tmp_path / "env.tar.gz", (tar_member("bin/tool"), os.urandom(100_000)))
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[:50_000])
    with pytest.raises(ArchiveError, match=r"cannot unpack .*truncated\.tar\.gz"):
        unpack(truncated, tmp_path / "out")


def test_the_count_is_the_bytes_of_the_regular_files_each_hard_linked_file_once(tmp_path, unpacker):
    """What the cache records as the environment's size, for files the loop admits itself
    (``lib/a.py``), through ``_admit`` (a new folder, permissions the filter changes), links."""
    archive = _tar(
        tmp_path / "env.tar.gz",
        (tar_member("lib", kind=tarfile.DIRTYPE, mode=0o755), b""),
        (tar_member("lib/first.py"), b"1" * 700),
        (tar_member("lib/a.py"), b"2" * 5000),
        (tar_member("lib/loose.txt", mode=0o666), b"3" * 30),
        (tar_member("bin/tool", mode=0o755), b"4" * 123_456),
        (tar_member("bin/same-tool", kind=tarfile.LNKTYPE, target="bin/tool"), b""),
        (tar_member("bin/alias", kind=tarfile.SYMTYPE, target="tool"), b""),
    )
    out = tmp_path / "out"
    size = unpack(archive, out)
    inodes = {path.stat().st_ino: path.stat().st_size for path in out.rglob("*") if path.is_file()}
    assert size == sum(inodes.values()) == 700 + 5000 + 30 + 123_456


def test_zip_restores_permissions(tmp_path, unpacker):
    archive = tmp_path / "env.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, mode in (("bin/tool", 0o755), ("share/loose.txt", 0o666), ("etc/plain.txt", 0o644)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, "#!/bin/sh\n")
    assert unpack(archive, tmp_path / "out") == 3 * len("#!/bin/sh\n")
    modes = {
        name: (tmp_path / "out" / name).stat().st_mode & 0o7777 for name in ("bin/tool", "share/loose.txt")
    }
    assert modes == {"bin/tool": 0o755, "share/loose.txt": 0o644}
    assert (tmp_path / "out/etc/plain.txt").read_text() == "#!/bin/sh\n"


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("../escaped.txt", "'../escaped.txt'"),
        ("/tmp/absolute-from-zip-test.txt", "'/tmp/absolute-from-zip-test.txt' has an absolute path"),
        ("share/../../escaped.txt", "'share/../../escaped.txt'"),
    ],
    ids=["zip-slip", "absolute", "zip-slip-nested"],
)
def test_zip_members_that_would_escape_are_refused_naming_the_member(tmp_path, name, refusal, unpacker):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bin/activate", "# activate\n")
        zf.writestr(name, "x")
    with pytest.raises(ArchiveError, match=r"cannot unpack .*evil\.zip") as refused:
        unpack(archive, tmp_path / "out")
    assert refusal in str(refused.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-from-zip-test.txt").exists()
    assert not (tmp_path / "out/escaped.txt").exists()


def test_zip_symlink_members_are_refused(tmp_path, unpacker):
    archive = tmp_path / "env.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo("lib64")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc")
    with pytest.raises(ArchiveError, match=r"member 'lib64' is a symbolic link"):
        unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out/lib64").is_symlink()


def test_tar_modes_times_and_links_as_the_data_filter_sets_them(tmp_path, unpacker):
    members = [
        (tar_member("bin/tool", mode=0o4777), b"#!/bin/sh\n"),
        (tar_member("share/loose.txt", mode=0o666), b"x"),
        (tar_member("share/not-mine.sh", mode=0o611), b"x"),
        (tar_member("lib/libfoo.so.1", mode=0o755), b"ELF"),
        (tar_member("lib/libfoo.so", kind=tarfile.SYMTYPE, target="libfoo.so.1"), b""),
        (tar_member("bin/libfoo", kind=tarfile.SYMTYPE, target="../lib/./libfoo.so.1"), b""),
        (tar_member("lib/libfoo-copy.so", kind=tarfile.LNKTYPE, target="lib/libfoo.so.1", mode=0o755), b""),
    ]
    for info, _ in members:
        info.mtime = 1_600_000_000
    archive = _tar(tmp_path / "env.tar.gz", *members)
    out = tmp_path / "out"
    unpack(archive, out)
    modes = {
        name: (out / name).stat().st_mode & 0o7777
        for name in ("bin/tool", "share/loose.txt", "share/not-mine.sh", "lib/libfoo.so.1")
    }
    assert modes == {
        "bin/tool": 0o755,
        "share/loose.txt": 0o644,
        "share/not-mine.sh": 0o600,
        "lib/libfoo.so.1": 0o755,
    }
    assert (out / "bin/tool").stat().st_mtime == 1_600_000_000
    assert os.readlink(out / "lib/libfoo.so") == "libfoo.so.1"
    assert (out / "bin/libfoo").read_bytes() == b"ELF"
    assert (out / "lib/libfoo-copy.so").stat().st_ino == (out / "lib/libfoo.so.1").stat().st_ino
    assert not [p for p in out.rglob("*") if p.is_dir() and p.stat().st_mode & 0o022]


@pytest.mark.parametrize(
    "members",
    [
        # A link to the folder it is in, then a link through it that climbs out of it.
        [
            (tar_member("lib/here", kind=tarfile.SYMTYPE, target="."), b""),
            (tar_member("lib/here/up", kind=tarfile.SYMTYPE, target="../../escaped.txt"), b""),
        ],
        # The same climb from the top: 'up' reads as inside until 'here' is followed.
        [
            (tar_member("here", kind=tarfile.SYMTYPE, target="."), b""),
            (tar_member("up", kind=tarfile.SYMTYPE, target="here/../escaped.txt"), b""),
        ],
        # A file written through a link that points into the destination's parent.
        [
            (tar_member("lib/outside", kind=tarfile.SYMTYPE, target="../.."), b""),
            (tar_member("lib/outside/escaped.txt"), b"x"),
        ],
    ],
    ids=["link-through-link", "dotdot-after-link", "file-through-link"],
)
def test_links_chained_to_escape_are_refused(tmp_path, members, unpacker):
    archive = _tar(tmp_path / "evil.tar.gz", *members)
    with pytest.raises(ArchiveError, match=r"cannot unpack .*evil\.tar\.gz") as refused:
        unpack(archive, tmp_path / "out")
    message = str(refused.value)
    assert any(f"'{info.name}'" in message or f"/{info.name}'" in message for info, _ in members)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_a_folder_replaced_by_a_link_leads_nowhere_outside(tmp_path, unpacker):
    """A folder, a link to '.' in its place, then a link that would climb out through it."""
    archive = _tar(
        tmp_path / "evil.tar.gz",
        (tar_member("lib", kind=tarfile.DIRTYPE, mode=0o755), b""),
        (tar_member("lib", kind=tarfile.SYMTYPE, target="."), b""),
        (tar_member("lib/up", kind=tarfile.SYMTYPE, target="../escaped.txt"), b""),
        (tar_member("escaped.txt"), b"inside"),
    )
    out = tmp_path / "out"
    if unpacker == "libarchive":
        with pytest.raises(ArchiveError, match=r"'lib' is a symbolic link that would replace a folder"):
            unpack(archive, out)
    else:
        unpack(archive, out)  # tarfile cannot unlink the folder and copies the link's target instead
    for folder, names, files in os.walk(out):
        for name in names + files:
            assert os.path.realpath(os.path.join(folder, name)).startswith(f"{out}/")


def test_a_hard_link_to_a_symbolic_link_is_refused(tmp_path, unpacker):
    """A hard link made to the link itself would read its relative target from another folder."""
    archive = _tar(
        tmp_path / "evil.tar.gz",
        (tar_member("x"), b"inside"),
        (tar_member("a/b/link", kind=tarfile.SYMTYPE, target="../../x"), b""),
        (tar_member("h", kind=tarfile.LNKTYPE, target="a/b/link"), b""),
    )
    out = tmp_path / "out"
    with pytest.raises(
        ArchiveError, match=r"cannot unpack .*'h' is a hard link to the symbolic link 'a/b/link'"
    ):
        unpack(archive, out)
    for folder, names, files in os.walk(out):
        for name in names + files:
            assert os.path.realpath(os.path.join(folder, name)).startswith(f"{out}/")


def test_link_already_in_the_destination_is_not_written_through(tmp_path, unpacker):
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    out.mkdir()
    (out / "lib").symlink_to(elsewhere)
    archive = _tar(tmp_path / "evil.tar.gz", (tar_member("lib/planted.txt"), b"x"))
    with pytest.raises(ArchiveError, match=r"cannot unpack .*evil\.tar\.gz.*'lib/planted\.txt'"):
        unpack(archive, out)
    assert list(elsewhere.iterdir()) == []


FALLBACK = """
import logging, sys
from pathlib import Path
from airflow_jupyter_provider.environments.archive import unpack
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
archive, out = Path(sys.argv[1]), Path(sys.argv[2])
unpack(archive, out / "first")
unpack(archive, out / "second")
print(sorted("libarchive" in name for name in sys.modules)[-1])
"""


@pytest.mark.parametrize("library", ["missing", "present"])
def test_without_libarchive_the_standard_library_unpacks_and_the_log_says_how_to_get_it(tmp_path, library):
    archive = _tar(tmp_path / "env.tar.gz", (tar_member("bin/tool", mode=0o755), b"#!/bin/sh\n"))
    env = {key: value for key, value in os.environ.items() if key != "LIBARCHIVE"}
    if library == "missing":
        env["LIBARCHIVE"] = str(tmp_path / "no-such-dir" / "libarchive.so.13")
    done = subprocess.run(
        [sys.executable, "-c", FALLBACK, str(archive), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for folder in ("first", "second"):
        assert (tmp_path / "out" / folder / "bin/tool").stat().st_mode & 0o777 == 0o755
    warnings = [line for line in done.stderr.splitlines() if "unpacked with Python's tarfile" in line]
    if library == "present":
        assert warnings == []
        return
    (warning,) = warnings  # once per process, not once per archive
    assert warning.startswith("WARNING airflow_jupyter_provider.environments.libarchive_unpack")
    assert "no-such-dir/libarchive.so.13" in warning
    assert "apt-get install libarchive13" in warning
    assert "conda install -c conda-forge libarchive" in warning
    assert "pip install libarchive-c" in warning


def _many_files(tmp_path: Path, suffix: str) -> tuple[Path, dict[str, bytes]]:
    """An archive whose decompressed stream spans many of the unpack's chunks (several MB),
    compressible, so that a damaged stretch breaks the compressed codes."""
    files = {
        f"lib/part{n}.txt": "".join(f"{n} {line} {line * line}\n" for line in range(25_000)).encode()
        for n in range(20)
    }
    mode = {".tar.gz": "w:gz", ".tar.xz": "w:xz", ".tar.bz2": "w:bz2"}[suffix]
    archive = tmp_path / f"env{suffix}"
    with tarfile.open(archive, mode) as tar:
        for name, data in files.items():
            info = tar_member(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive, files


@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.xz", ".tar.bz2"])
def test_compressed_archive_spanning_many_chunks_unpacks_whole_and_counts_its_bytes(
    tmp_path, unpacker, suffix
):
    archive, files = _many_files(tmp_path, suffix)
    size = unpack(archive, tmp_path / "out")
    assert [name for name, data in files.items() if (tmp_path / "out" / name).read_bytes() != data] == []
    assert size == sum(map(len, files.values()))


@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.xz", ".tar.bz2"])
def test_archive_damaged_in_the_middle_is_a_clear_error_and_leaves_no_thread(tmp_path, unpacker, suffix):
    """Not a partial environment: tarfile alone would take the damage for the archive's end.
    (A plain ``.tar`` has no checksum of its contents: ``conda_env_sha256`` is for that.)"""
    import threading

    archive, _ = _many_files(tmp_path, suffix)
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(4096)
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=rf"cannot unpack .*env{re.escape(suffix)}': \S"):
        unpack(archive, tmp_path / "out")
    assert [thread.name for thread in threading.enumerate() if thread.name == "unpack-decompress"] == []
