"""The archive formats of packed environments, told by suffix. Apart from ``archive.py``, which
unpacks them, so that checking a ``conda_env`` when a DAG file is parsed imports no tarfile."""

from __future__ import annotations

#: Suffix -> how to open it. Matched case-insensitively, longest suffix first.
ARCHIVE_FORMATS: dict[str, str] = {
    ".tar.gz": "tar",
    ".tgz": "tar",
    ".tar.bz2": "tar",
    ".tbz2": "tar",
    ".tar.xz": "tar",
    ".txz": "tar",
    ".tar": "tar",
    ".zip": "zip",
    ".tar.zst": "zstd",
    ".tzst": "zstd",
}


def archive_format(location: str) -> str | None:
    """The format of ``location`` judged by its suffix, or None when it is no archive."""
    lowered = location.lower()
    for suffix in sorted(ARCHIVE_FORMATS, key=len, reverse=True):
        if lowered.endswith(suffix):
            return ARCHIVE_FORMATS[suffix]
    return None
