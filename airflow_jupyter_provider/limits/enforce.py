"""The cgroup mechanisms in the order they are tried, and what happens to a limit none can enforce."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from logging import Logger
from typing import Protocol

from airflow_jupyter_provider.config import CONFIG_SECTION, CgroupSettings
from airflow_jupyter_provider.exceptions import LimitsUnavailable, SettingError
from airflow_jupyter_provider.limits.group import Created, RunGroup
from airflow_jupyter_provider.limits.hierarchy import run_group_name
from airflow_jupyter_provider.limits.sweep import sweep_stale_groups
from airflow_jupyter_provider.limits.v1 import CgroupV1
from airflow_jupyter_provider.limits.v2 import CgroupV2
from airflow_jupyter_provider.limits.values import Limit


class Mechanism(Protocol):
    name: str

    def create(self, limits: Sequence[Limit], settings: CgroupSettings, group_name: str) -> Created:
        """Groups for the ``limits`` this mechanism can enforce, and the reasons for the others."""
        ...


#: v2 first: where the worker can create a v2 group with the controller, that is the one to use.
MECHANISMS: tuple[Mechanism, ...] = (CgroupV2(), CgroupV1())

HOW_TO_GRANT = (
    "To enforce it, run the worker as root (or in a cgroup delegated to its user) with the cgroup file "
    f"system mounted read-write at [{CONFIG_SECTION}] cgroup_mount; on cgroup v2, point "
    f"[{CONFIG_SECTION}] cgroup_parent at a group whose cgroup.subtree_control enables cpu and memory "
    "(the README's 'Resource limits' shows how). "
    f"To run such tasks without the limit instead, set [{CONFIG_SECTION}] unenforceable_limits = warn"
)


def enforce_limits(limits: Sequence[Limit], settings: CgroupSettings, log: Logger) -> RunGroup:
    """A run group enforcing ``limits``; the task log says which mechanism enforces which.

    :raises LimitsUnavailable: a limit cannot be enforced and ``unenforceable_limits`` is ``fail``.
    """
    group = RunGroup()
    reasons: dict[Limit, list[str]] = {limit: [] for limit in limits}
    name = run_group_name()
    for mechanism in MECHANISMS:
        pending = [limit for limit in limits if limit not in group.enforced]
        if not pending:
            break
        created = mechanism.create(pending, settings, name)
        group.add(created)
        for limit, reason in created.reasons.items():
            reasons[limit].append(f"{mechanism.name}: {reason}")
    for limit, where in group.enforced.items():
        fallback = f"; not by {'; '.join(reasons[limit])}" if reasons[limit] else ""
        log.info("%s is enforced by %s%s", limit, where, fallback)
    missing = [limit for limit in limits if limit not in group.enforced]
    if missing:
        why = "; ".join(
            f"{limit} cannot be enforced on this worker: {'; '.join(reasons[limit])}" for limit in missing
        )
        POLICIES[settings.unenforceable_limits](why, group, log)
    return group


def _fail(why: str, group: RunGroup, log: Logger) -> None:
    group.close(log)
    raise LimitsUnavailable(f"{why}. {HOW_TO_GRANT}")


def _warn(why: str, group: RunGroup, log: Logger) -> None:
    log.warning("%s. The notebook runs without it ([%s] unenforceable_limits = warn)", why, CONFIG_SECTION)


POLICIES = {"fail": _fail, "warn": _warn}


@contextmanager
def enforced(
    limits: Sequence[Limit], settings: Callable[[], CgroupSettings], log: Logger
) -> Iterator[RunGroup]:
    """The run's groups for ``limits`` (none without limits), removed once the run is over.

    Every run first sweeps the groups earlier runs left behind (``sweep.py``), runs without
    limits too: a stale group holds processes and memory whatever the next run asks for. A run
    without limits needs no cgroup, so it does not fail for settings it cannot use; it just
    sweeps nothing.

    :raises LimitsUnavailable: see :func:`enforce_limits`.
    :raises SettingError: ``settings()`` found an option it cannot use, and there are limits.
    """
    if not limits:
        with suppress(SettingError):
            sweep_stale_groups(settings(), log)
        yield RunGroup()
        return
    chosen = settings()
    sweep_stale_groups(chosen, log)
    group = enforce_limits(limits, chosen, log)
    try:
        yield group
    finally:
        group.close(log)
