"""Reading a notebook that papermill may be saving: papermill rewrites the output notebook in
place (as a cell starts and as it ends), so a reader can meet it half-written; it is whole again
a moment later.

Used by both the worker's uploads (``run/staging.py``) and the Notebook tab (``plugins/rendered.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def read_whole(read: Callable[..., T], *args: Any, half_written: type[Exception], seconds: float) -> T:
    """``read(*args)``, called again every 50 ms while it raises ``half_written``, for up to
    ``seconds``; then the last error is raised."""
    from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

    reading = Retrying(
        retry=retry_if_exception_type(half_written),
        wait=wait_fixed(0.05),
        stop=stop_after_delay(seconds),
        reraise=True,
    )
    return reading(read, *args)
