"""Unpacking conda-pack archives: formats by suffix, and members that would escape refused."""

from __future__ import annotations

import io
import os
import stat
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


def test_tar_members_keep_their_executable_bits(tmp_path):
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
def test_members_that_would_escape_are_refused_naming_thetar_member(tmp_path, member, data):
    archive = _tar(tmp_path / "evil.tar.gz", (member, data))
    with pytest.raises(ArchiveError, match=r"cannot unpack .*evil\.tar\.gz") as refused:
        unpack(archive, tmp_path / "out")
    assert member.name.lstrip("/") in str(refused.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute.txt").exists()


def test_truncated_archive_is_a_clear_error(tmp_path):
    good = _tar(tmp_path / "env.tar.gz", (tar_member("bin/tool"), os.urandom(100_000)))
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[:50_000])
    with pytest.raises(ArchiveError, match=r"cannot unpack .*truncated\.tar\.gz"):
        unpack(truncated, tmp_path / "out")


def test_zip_restores_permissions_and_drops_escaping_names(tmp_path):
    archive = tmp_path / "env.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        tool = zipfile.ZipInfo("bin/tool")
        tool.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(tool, "#!/bin/sh\n")
        zf.writestr("../escaped.txt", "x")
    unpack(archive, tmp_path / "out")
    assert (tmp_path / "out/bin/tool").stat().st_mode & 0o777 == 0o755
    assert not (tmp_path / "escaped.txt").exists()
    assert (tmp_path / "out/escaped.txt").exists()


def test_zip_symlink_members_are_refused(tmp_path):
    archive = tmp_path / "env.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo("lib64")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc")
    with pytest.raises(ArchiveError, match=r"member 'lib64' is a symbolic link"):
        unpack(archive, tmp_path / "out")
