"""The ``conda_env_sha256`` pin: its form, and whether an archive matches it."""

from __future__ import annotations

import re

from airflow_jupyter_provider.exceptions import ChecksumMismatchError, InvalidRunError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def validate_sha256(value: str | None) -> str | None:
    """``value`` as 64 lower-case hex digits (None stays None); anything else is an InvalidRunError."""
    if value is None:
        return None
    normalized = value.strip().lower()
    if not _SHA256.fullmatch(normalized):
        raise InvalidRunError(f"conda_env_sha256 must be 64 hexadecimal digits (sha256sum), got {value!r}")
    return normalized


def verify(location: str, sha: str, expected: str | None) -> None:
    """Refuse an archive at ``location`` whose sha256 is not the ``expected`` one (if pinned)."""
    if expected is not None and sha != expected:
        raise ChecksumMismatchError(
            f"'{location}' has sha256 {sha}, but conda_env_sha256 is {expected}: "
            "the archive is not the one the task expects"
        )
