"""Locations of notebooks and environments: local paths, ``file://`` URLs, or other URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse


def is_local(location: str) -> bool:
    """True for plain paths and ``file://`` URLs; papermill I/O URLs (s3://, ...) are not."""
    return "://" not in location or location.startswith("file://")


def local_path(location: str, base_dir: Path) -> Path:
    """The path of a local location; a relative one is taken from ``base_dir``."""
    if location.startswith("file://"):
        location = unquote(urlparse(location).path)
    path = Path(location).expanduser()
    return path if path.is_absolute() else base_dir / path
