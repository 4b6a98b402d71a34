"""The timeout alarm on its own: fires once at the deadline with the task's context, whatever
its callbacks do; leaving it early means it never fires, unless Airflow's own timeout ended
the task first (WARNFAILED).

Deadlines here are short, but nothing asserts how long anything took: the tests wait for
the alarm's effects, with generous limits.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from airflow.sdk import BaseNotifier

from airflow_jupyter_provider.compat import AirflowTaskTimeout
from airflow_jupyter_provider.operators.timeout import TimeoutAlarm

CONTEXT = {"task_instance_key_str": "dag__task__20260102", "params": {"who": "on-call"}}
SOON = timedelta(milliseconds=50)
NEVER_IN_THIS_TEST = timedelta(hours=1)


class Recorder:
    """A callback that records the contexts it is called with and lets a test wait for a call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.called = threading.Event()

    def __call__(self, context: dict) -> None:
        self.calls.append(context)
        self.called.set()


class Page(BaseNotifier):
    """An Airflow Notifier: templated fields are rendered from the context before notify()."""

    template_fields = ("message",)

    def __init__(self, message: str, sent: list[str]) -> None:
        super().__init__()
        self.message, self.sent = message, sent

    def notify(self, context: dict) -> None:
        self.sent.append(self.message)


def boom(context: dict) -> None:
    raise RuntimeError("the pager service is down")


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("test.timeout_alarm")


def test_fires_once_at_the_deadline_with_the_task_context_and_the_task_goes_on(log, caplog):
    recorder, sent = Recorder(), []
    notifier = Page("{{ params.who }}: {{ task_instance_key_str }} is late", sent)

    with (
        caplog.at_level(logging.WARNING),
        TimeoutAlarm(
            SOON,
            then="the notebook goes on running",
            callbacks=[boom, notifier, recorder],
            context=CONTEXT,
            log=log,
        ) as alarm,
    ):
        assert recorder.called.wait(timeout=30)
        alarm.fire()  # the deadline passing again (or a second caller) does nothing more

    assert recorder.calls == [CONTEXT]
    assert sent == ["on-call: dag__task__20260102 is late"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "Timeout alarm: the task has run for 0:00:00.050000, its timeout; the notebook goes on running"
    ]
    # The callback that raised is logged with its name, and did not stop the others.
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "The on_timeout_alarm callback boom failed; the task goes on"
    ]
    assert "the pager service is down" in caplog.text


def test_a_task_done_before_the_deadline_raises_no_alarm(log, caplog):
    recorder = Recorder()

    with TimeoutAlarm(NEVER_IN_THIS_TEST, then="", callbacks=[recorder], context=CONTEXT, log=log):
        pass

    assert recorder.calls == []
    assert "Timeout alarm" not in caplog.text


def test_a_task_failed_for_another_reason_raises_no_alarm(log):
    recorder = Recorder()

    with (
        pytest.raises(ValueError),
        TimeoutAlarm(NEVER_IN_THIS_TEST, then="", callbacks=[recorder], context=CONTEXT, log=log),
    ):
        raise ValueError("cell [3] raised")

    assert recorder.calls == []


def test_airflow_timeout_first_still_fires_the_alarm_once_before_the_task_fails(log):
    """WARNFAILED: execution_timeout and the alarm share the deadline; either may come first."""
    recorder = Recorder()

    with (
        pytest.raises(AirflowTaskTimeout),
        TimeoutAlarm(
            NEVER_IN_THIS_TEST, then="the task fails now", callbacks=[recorder], context=CONTEXT, log=log
        ),
    ):
        raise AirflowTaskTimeout()

    assert recorder.calls == [CONTEXT]


def test_airflow_timeout_after_the_alarm_fired_does_not_fire_it_again(log):
    recorder = Recorder()

    with (
        pytest.raises(AirflowTaskTimeout),
        TimeoutAlarm(SOON, then="the task fails now", callbacks=[recorder], context=CONTEXT, log=log),
    ):
        assert recorder.called.wait(timeout=30)
        raise AirflowTaskTimeout()

    assert recorder.calls == [CONTEXT]
