"""The Airflow pools a task may name: those in the metadata database, and those in a pools file.

A task whose pool does not exist is not failed by Airflow: it waits in ``scheduled`` for good,
with only a warning in the UI. CI machines seldom have the deployment's database, so the
pools can also come from a file in the format ``airflow pools export`` writes
(``{"name": {"slots": 4, "description": "...", ...}, ...}``).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

DEFAULT_POOL = "default_pool"


class KnownPools:
    """Pool names from a pools file (read at once) and from the database (read when first needed)."""

    def __init__(self, pools_file: str | Path | None = None) -> None:
        self.pools_file = Path(pools_file) if pools_file is not None else None
        self.in_file = _read_pools_file(self.pools_file) if self.pools_file is not None else None

    @cached_property
    def in_database(self) -> frozenset[str] | None:
        """The pools of the configured metadata database; None when it cannot be read (no database, not
        migrated). Read only when a task names a pool other than ``default_pool``."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            from airflow.models.pool import Pool

            return frozenset(pool.pool for pool in Pool.get_pools())
        except SQLAlchemyError:
            return None

    def sources(self) -> list[str]:
        """What the names were looked up in, as a finding names them."""
        sources = ["the Airflow database"] if self.in_database is not None else []
        return [*sources, f"'{self.pools_file}'"] if self.pools_file is not None else sources

    def __contains__(self, pool: str) -> bool:
        return pool == DEFAULT_POOL or pool in (self.in_database or ()) or pool in (self.in_file or ())


def _read_pools_file(path: Path) -> frozenset[str]:
    """The pool names in an ``airflow pools export`` file; ValueError naming the file if it is not one."""
    try:
        pools = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"pools_file: cannot read '{path}' as JSON: {err}") from err
    if not isinstance(pools, dict):
        raise ValueError(
            f"pools_file: '{path}' is not in the format of `airflow pools export` "
            '({"pool name": {"slots": ..., "description": ...}, ...})'
        )
    return frozenset(pools)
