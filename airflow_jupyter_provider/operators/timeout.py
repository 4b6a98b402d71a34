"""What ``timeout`` and ``timeout_strategy`` do, as one :class:`TimeoutPolicy`.

``FAILED`` (the default) fails the task at the deadline: Airflow's ``execution_timeout``.
``WARN`` and ``WARNFAILED`` raise the timeout alarm there. The alarm fires once: a warning in
the task log, then every ``on_timeout_alarm`` callback with the task's context. A callback is
anything ``on_failure_callback`` takes: a function of the context, an Airflow Notifier, or a
list of them. A callback that raises is logged and never fails the task: the alarm reports on
the run, it does not decide it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from logging import Logger
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow_jupyter_provider.compat import AirflowTaskTimeout
from airflow_jupyter_provider.operators.ds_mapping import choice, duration

if TYPE_CHECKING:
    from airflow.sdk import Context

AlarmCallback = Callable[["Context"], Any]


@dataclass(frozen=True)
class TimeoutStrategy:
    """What reaching ``timeout`` does."""

    #: the task fails at the deadline: Airflow's ``execution_timeout``
    fails: bool
    #: the timeout alarm fires at the deadline (a warning in the log, the on_timeout_alarm callbacks)
    alarms: bool
    #: what the alarm's warning says comes next
    then: str = ""


TIMEOUT_STRATEGIES: dict[str, TimeoutStrategy] = {
    "FAILED": TimeoutStrategy(fails=True, alarms=False),
    "WARN": TimeoutStrategy(fails=False, alarms=True, then="the notebook goes on running"),
    "WARNFAILED": TimeoutStrategy(fails=True, alarms=True, then="the task fails now"),
}
DEFAULT_TIMEOUT_STRATEGY = "FAILED"


@dataclass(frozen=True)
class TimeoutPolicy:
    """``timeout``, its strategy and the alarm's callbacks, checked once at DAG parse time."""

    #: ``timeout`` as given (minutes or a timedelta); None: no timeout
    timeout: Any = None
    strategy: TimeoutStrategy | None = None
    callbacks: tuple[AlarmCallback, ...] = ()
    #: when the alarm fires, if this strategy has one
    alarm_after: timedelta | None = None

    @classmethod
    def of(cls, timeout: Any, timeout_strategy: Any, on_timeout_alarm: Any) -> TimeoutPolicy:
        """The policy of these operator arguments; a ValueError names what is wrong."""
        if timeout_strategy is not None:
            name = choice("timeout_strategy", timeout_strategy, TIMEOUT_STRATEGIES)
            if timeout is None:
                raise ValueError(f"timeout_strategy={timeout_strategy!r} needs a timeout (minutes)")
        else:
            name = DEFAULT_TIMEOUT_STRATEGY
        strategy = TIMEOUT_STRATEGIES[name] if timeout is not None else None
        callbacks = alarm_callbacks(on_timeout_alarm)
        alarms = strategy is not None and strategy.alarms
        if callbacks and not alarms:
            raise ValueError("on_timeout_alarm needs a timeout with timeout_strategy WARN or WARNFAILED")
        after = duration("timeout", timeout, "minutes", allow_zero=False) if alarms else None
        return cls(timeout, strategy, tuple(callbacks), after)

    @property
    def fails_task(self) -> bool:
        """Whether the task fails at the deadline (``execution_timeout``)."""
        return self.strategy is not None and self.strategy.fails

    def alarm(self, context: Context, log: Logger) -> AbstractContextManager[object]:
        """The alarm, running while ``execute`` does; nothing for a strategy without one."""
        if self.alarm_after is None or self.strategy is None:
            return nullcontext()
        return TimeoutAlarm(
            self.alarm_after, then=self.strategy.then, callbacks=self.callbacks, context=context, log=log
        )


def alarm_callbacks(value: Any) -> list[AlarmCallback]:
    """``on_timeout_alarm`` as a list; anything that cannot be called is refused at DAG parse time."""
    if value is None:
        return []
    callbacks = list(value) if isinstance(value, list | tuple) else [value]
    for callback in callbacks:
        if not callable(callback):
            raise ValueError(
                f"on_timeout_alarm: {callback!r} is not callable; give a function of the task context, "
                "an Airflow Notifier, or a list of them"
            )
    return callbacks


def _name(callback: AlarmCallback) -> str:
    return getattr(callback, "__qualname__", type(callback).__name__)


class TimeoutAlarm:
    """Fires once, ``after`` the start of ``with``, while the task goes on.

    A timer thread fires it at the deadline. With WARNFAILED, Airflow's ``execution_timeout``
    ends the task at the same deadline; should its AirflowTaskTimeout come first, the alarm is
    fired on the way out, so it fires exactly once either way, and leaving ``with`` waits for
    callbacks in progress, so they are not cut short by the task's end.
    """

    def __init__(
        self,
        after: timedelta,
        *,
        then: str,
        callbacks: Sequence[AlarmCallback],
        context: Context,
        log: Logger,
    ) -> None:
        self._after, self._then = after, then
        self._callbacks, self._context, self._log = list(callbacks), context, log
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(after.total_seconds(), self.fire)
        self._timer.daemon = True

    def __enter__(self) -> TimeoutAlarm:
        self._timer.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        if exc_type is not None and issubclass(exc_type, AirflowTaskTimeout):
            self.fire()
        with self._lock:  # a firing in progress finishes before the task does
            pass

    def fire(self) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired = True
            self._log.warning(
                "Timeout alarm: the task has run for %s, its timeout; %s", self._after, self._then
            )
            for callback in self._callbacks:
                try:
                    callback(self._context)
                except Exception:
                    self._log.exception(
                        "The on_timeout_alarm callback %s failed; the task goes on", _name(callback)
                    )
