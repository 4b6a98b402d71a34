"""The Jupyter task's parameters land on the Airflow primitives that do the same job, and
static mistakes are refused when the DAG file is parsed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk import DAG, BaseOperator

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

REQUIRED = {"input_nb": "in.ipynb", "output_nb": "/tmp/out.ipynb", "conda_env": "analytics"}


def make(**kwargs) -> JupyterCondaOperator:
    with DAG("mapping", schedule=None):
        return JupyterCondaOperator(task_id="nb", **{**REQUIRED, **kwargs})


@pytest.mark.parametrize(
    ("task_priority", "weight"),
    [("HIGHEST", 5), ("HIGH", 4), ("MEDIUM", 3), ("LOW", 2), ("LOWEST", 1), ("highest", 5)],
)
def test_task_priority_sets_absolute_priority_weight(task_priority, weight):
    op = make(task_priority=task_priority)
    assert op.priority_weight == weight
    assert op.weight_rule == "absolute"


@pytest.mark.parametrize(
    ("worker_group", "pool"), [("default", "default_pool"), ("Default", "default_pool"), ("gpu", "gpu")]
)
def test_worker_group_is_the_pool(worker_group, pool):
    assert make(worker_group=worker_group).pool == pool


def test_retries_and_retry_interval_in_minutes():
    op = make(retries=3, retry_interval=2)
    assert op.retries == 3
    assert op.retry_delay == timedelta(minutes=2)


def test_retry_interval_and_timeout_accept_timedelta():
    op = make(retry_interval=timedelta(seconds=30), timeout=timedelta(hours=1))
    assert op.retry_delay == timedelta(seconds=30)
    assert op.execution_timeout == timedelta(hours=1)


def test_timeout_with_failed_strategy_is_execution_timeout():
    op = make(timeout=1.5, timeout_strategy="FAILED")
    assert op.execution_timeout == timedelta(minutes=1.5)


def test_description_is_the_task_documentation():
    assert make(description="Daily **sales** report").doc_md == "Daily **sales** report"


def test_unset_seed_arguments_leave_airflow_defaults():
    op = make()
    plain = BaseOperator(task_id="plain")
    assert (op.pool, op.priority_weight, op.weight_rule, op.execution_timeout, op.doc_md) == (
        plain.pool,
        plain.priority_weight,
        plain.weight_rule,
        plain.execution_timeout,
        plain.doc_md,
    )


def test_explicit_base_operator_arguments_still_work():
    op = make(queue="gpu-workers", pool="special", priority_weight=7, retry_delay=timedelta(seconds=5))
    assert (op.queue, op.pool, op.priority_weight, op.retry_delay) == (
        "gpu-workers",
        "special",
        7,
        timedelta(seconds=5),
    )


@pytest.mark.parametrize(
    ("seed", "explicit", "named"),
    [
        ({"worker_group": "gpu"}, {"pool": "cpu"}, "pool"),
        ({"task_priority": "HIGH"}, {"priority_weight": 3}, "priority_weight"),
        ({"task_priority": "HIGH"}, {"weight_rule": "downstream"}, "weight_rule"),
        ({"retry_interval": 5}, {"retry_delay": timedelta(minutes=1)}, "retry_delay"),
        ({"timeout": 5}, {"execution_timeout": timedelta(minutes=1)}, "execution_timeout"),
        ({"description": "x"}, {"doc_md": "y"}, "doc_md"),
    ],
)
def test_seed_argument_next_to_its_base_operator_twin_is_an_error(seed, explicit, named):
    with pytest.raises(ValueError, match=rf"both set {named}; pass only one"):
        make(**seed, **explicit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"task_priority": "URGENT"},
            r"task_priority='URGENT' is not one of HIGHEST, HIGH, MEDIUM, LOW, LOWEST",
        ),
        ({"run_flag": "PAUSED"}, r"run_flag='PAUSED' is not one of NORMAL, FORBIDDEN"),
        (
            {"timeout": 5, "timeout_strategy": "SOMETIMES"},
            r"timeout_strategy='SOMETIMES' is not one of FAILED",
        ),
        ({"timeout": 5, "timeout_strategy": "WARN"}, r"timeout_strategy='WARN' is not one of FAILED"),
        ({"timeout_strategy": "FAILED"}, r"timeout_strategy='FAILED' needs a timeout"),
        ({"retries": -1}, r"retries=-1 must be 0 or more"),
        ({"retry_interval": -2}, r"retry_interval=-2 must be 0 or more"),
        ({"retry_interval": "soon"}, r"retry_interval='soon' must be a number of minutes or a timedelta"),
        ({"timeout": 0}, r"timeout=0 must be more than 0"),
        ({"timeout": -1}, r"timeout=-1 must be more than 0"),
        (
            {"jupyter_execution_timeout": -5},
            r"jupyter_execution_timeout=-5 must be a whole number of seconds",
        ),
        ({"jupyter_start_timeout": 0}, r"jupyter_start_timeout=0 must be a whole number of seconds"),
        ({"jupyter_start_timeout": 2.5}, r"jupyter_start_timeout=2.5 must be a whole number of seconds"),
        ({"worker_group": ""}, r"worker_group='' must be a pool name"),
        ({"parameters": '{"a": 1,}'}, r"parameters: invalid JSON text '\{\"a\": 1,\}'"),
        ({"parameters": "[1, 2]"}, r"parameters must be a dict or a JSON object, got list \[1, 2\]"),
        ({"parameters": {"when": timedelta(1)}}, r"parameters\['when'\] = .* has type timedelta"),
        (
            {"parameters": {"x; import os": 1}},
            r"parameters: name 'x; import os' is not a valid variable name",
        ),
        ({"input_nb": ""}, r"input_nb must be a non-empty string, got ''"),
        ({"output_nb": None}, r"output_nb must be a non-empty string, got None"),
        ({"conda_env": " "}, r"conda_env must be a non-empty string, got ' '"),
        ({"kernel": ""}, r"kernel must be a non-empty string, got ''"),
        ({"others": "--cwd 'unclosed"}, r"others: cannot split \"--cwd 'unclosed\" into words"),
        ({"others": "--kernel python3"}, r"others: '--kernel' is set through the operator argument 'kernel'"),
        ({"others": ["-p", "a", "1"]}, r"others: '-p' is set through the operator argument 'parameters'"),
        ({"conda_env": "s3://bucket/env.tar.gz"}, r"conda_env 's3://bucket/env.tar.gz': only local paths"),
    ],
)
def test_static_mistakes_are_refused_at_parse_time_naming_argument_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_cpu_quota_and_max_memory_are_not_accepted_yet():
    with pytest.raises(TypeError, match="cpu_quota"):
        make(cpu_quota=50)
    with pytest.raises(TypeError, match="max_memory"):
        make(max_memory=512)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"parameters": "{{ params | tojson }}"},
        {"parameters": '{"day": "{{ ds }}"}'},
        {"conda_env": "{{ var.value.env_archive }}"},
        {"others": "{{ var.value.papermill_options }}"},
        {"others": ["--cwd", "{{ var.value.workdir }}"]},
        {"input_nb": "{{ params.notebook }}"},
    ],
)
def test_templated_values_wait_for_rendering(kwargs):
    ((name, template),) = kwargs.items()
    assert getattr(make(**kwargs), name) == template
    assert name in JupyterCondaOperator.template_fields


def test_parameters_json_text_and_dict_are_both_accepted():
    assert make(parameters='{"n": 3, "ratio": 0.5}').parameters == '{"n": 3, "ratio": 0.5}'
    assert make(parameters={"n": 3, "ratio": 0.5}).parameters == {"n": 3, "ratio": 0.5}
