"""What ``timeout`` and ``timeout_strategy`` do, as one :class:`TimeoutPolicy`.

``FAILED`` (the default) fails the task at the deadline: Airflow's ``execution_timeout``.
``WARN`` and ``WARNFAILED`` raise the timeout alarm there. The alarm fires once: a warning in
the task log, then every ``on_timeout_alarm`` callback with the task's context. A callback is
anything ``on_failure_callback`` takes: a function of the context, an Airflow Notifier, or a
list of them. Without callbacks, a task with ``email`` mails the alarm to those addresses (the
seed's "an alarm email will send"), the way Airflow mails its failures. A callback or an email
that fails is logged and never fails the task: the alarm reports on the run, it does not
decide it.
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

from airflow_jupyter_provider.compat import AirflowTaskTimeout, airflow_conf
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

    def alarm(
        self, context: Context, log: Logger, email: str | Sequence[str] | None = None
    ) -> AbstractContextManager[object]:
        """The alarm, running while ``execute`` does; nothing for a strategy without one.

        ``email`` is the task's: the alarm mails it when there are no callbacks to call instead.
        """
        if self.alarm_after is None or self.strategy is None:
            return nullcontext()
        mail = None
        if email and not self.callbacks:
            mail = AlarmEmail(email, self.alarm_after, self.strategy.then)
        return TimeoutAlarm(
            self.alarm_after,
            then=self.strategy.then,
            callbacks=self.callbacks,
            email=mail,
            context=context,
            log=log,
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


class AlarmEmail:
    """The alarm's email, sent through Airflow's SMTP setup as Airflow sends its failure emails.

    That is the smtp provider's SmtpNotifier (a requirement of Airflow itself in 3.1 to 3.3)
    with the ``[email] email_conn_id`` connection (``smtp_default``) and ``[email] from_email``.
    The subject and body are templates rendered from the task's context, so that DAG, task and
    run names go in as values, never as template text.
    """

    SUBJECT = (
        "Timeout alarm: DAG {{ ti.dag_id }}, task {{ ti.task_id }}"
        "{% if ti.map_index is not none and ti.map_index >= 0 %} [{{ ti.map_index }}]{% endif %}, "
        "run {{ ti.run_id }}: past its timeout of {{ timeout }}"
    )
    BODY = (
        "<p>Task {{ ti.task_id | e }} of DAG {{ ti.dag_id | e }}, run {{ ti.run_id | e }}, has run for "
        "{{ timeout }}, its timeout; {{ then }}.</p>"
        '<p>Log: <a href="{{ ti.log_url | e }}">{{ ti.log_url | e }}</a></p>'
    )

    def __init__(self, to: str | Sequence[str], timeout: timedelta, then: str) -> None:
        self.to, self.timeout, self.then = to, timeout, then

    def send(self, context: Context, log: Logger) -> None:
        """Mail the alarm; a failure (no SMTP server, a refused sender) is logged, the task goes on."""
        recipients = self.to if isinstance(self.to, str) else ", ".join(self.to)
        try:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            notifier = SmtpNotifier(
                to=self.to,
                subject=self.SUBJECT,
                html_content=self.BODY,
                from_email=airflow_conf().get("email", "from_email", fallback="airflow@airflow"),
            )
            notifier({**context, "timeout": self.timeout, "then": self.then})
        except Exception:
            log.exception("The timeout alarm email to %s could not be sent; the task goes on", recipients)
            return
        log.info("Timeout alarm emailed to %s", recipients)


def _name(callback: AlarmCallback) -> str:
    return getattr(callback, "__qualname__", type(callback).__name__)


class TimeoutAlarm:
    """Fires once, ``after`` the start of ``with``, while the task goes on.

    A timer thread fires it at the deadline. With WARNFAILED, Airflow's ``execution_timeout``
    ends the task at the same deadline; should its AirflowTaskTimeout come first, the alarm is
    fired on the way out, so it fires exactly once either way, and leaving ``with`` waits for
    callbacks in progress, so they are not cut short by the task's end. Callbacks and the email
    run in the timer thread: the notebook never waits on a pager or an SMTP server.
    """

    def __init__(
        self,
        after: timedelta,
        *,
        then: str,
        callbacks: Sequence[AlarmCallback],
        email: AlarmEmail | None = None,
        context: Context,
        log: Logger,
    ) -> None:
        self._after, self._then = after, then
        self._callbacks, self._email = list(callbacks), email
        self._context, self._log = context, log
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
            if self._email is not None:
                self._email.send(self._context, self._log)
