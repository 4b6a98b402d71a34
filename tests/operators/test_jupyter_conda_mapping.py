"""The Jupyter task's parameters land on the Airflow primitives that do the same job, and
static mistakes are refused when the DAG file is parsed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from airflow.sdk import DAG, BaseNotifier, BaseOperator

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

REQUIRED = {"input_nb": "in.ipynb", "output_nb": "/tmp/out.ipynb", "conda_env": "analytics"}


def make(**kwargs) -> JupyterCondaOperator:
    with DAG("mapping", schedule=None):
        return JupyterCondaOperator(task_id="nb", **{**REQUIRED, **kwargs})


def strategy(weight_rule: object) -> type:
    """The weight rule's strategy class: Airflow 3.1 keeps a strategy object, 3.2 and later its name."""
    from airflow.task.priority_strategy import validate_and_load_priority_weight_strategy

    if isinstance(weight_rule, str):
        weight_rule = validate_and_load_priority_weight_strategy(weight_rule)
    return type(weight_rule)


@pytest.mark.parametrize(
    ("task_priority", "weight"),
    [("HIGHEST", 5), ("HIGH", 4), ("MEDIUM", 3), ("LOW", 2), ("LOWEST", 1), ("highest", 5)],
)
def test_task_priority_sets_absolute_priority_weight(task_priority, weight):
    op = make(task_priority=task_priority)
    assert op.priority_weight == weight
    assert strategy(op.weight_rule) is strategy("absolute")


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


def test_unset_dolphinscheduler_arguments_leave_airflow_defaults():
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
    ("ds_arguments", "explicit", "named"),
    [
        ({"worker_group": "gpu"}, {"pool": "cpu"}, "pool"),
        ({"task_priority": "HIGH"}, {"priority_weight": 3}, "priority_weight"),
        ({"task_priority": "HIGH"}, {"weight_rule": "downstream"}, "weight_rule"),
        ({"retry_interval": 5}, {"retry_delay": timedelta(minutes=1)}, "retry_delay"),
        ({"timeout": 5}, {"execution_timeout": timedelta(minutes=1)}, "execution_timeout"),
        ({"description": "x"}, {"doc_md": "y"}, "doc_md"),
    ],
)
def test_dolphinscheduler_argument_next_to_its_base_operator_twin_is_an_error(ds_arguments, explicit, named):
    with pytest.raises(ValueError, match=rf"both set {named}; pass only one"):
        make(**ds_arguments, **explicit)


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
            r"timeout_strategy='SOMETIMES' is not one of FAILED, WARN, WARNFAILED",
        ),
        ({"timeout_strategy": "FAILED"}, r"timeout_strategy='FAILED' needs a timeout"),
        ({"timeout_strategy": "WARN"}, r"timeout_strategy='WARN' needs a timeout"),
        ({"timeout": -3, "timeout_strategy": "WARN"}, r"timeout=-3 must be more than 0"),
        (
            {"on_timeout_alarm": print},
            r"on_timeout_alarm needs a timeout with timeout_strategy WARN or WARNFAILED",
        ),
        (
            {"timeout": 5, "timeout_strategy": "FAILED", "on_timeout_alarm": print},
            r"on_timeout_alarm needs a timeout with timeout_strategy WARN or WARNFAILED",
        ),
        (
            {"timeout": 5, "timeout_strategy": "WARN", "on_timeout_alarm": [print, "slack"]},
            r"on_timeout_alarm: 'slack' is not callable",
        ),
        ({"cpu_quota": 0}, r"cpu_quota=0 must be a whole percentage of one core greater than 0, or -1"),
        ({"cpu_quota": -2}, r"cpu_quota=-2 must be a whole percentage of one core greater than 0, or -1"),
        ({"cpu_quota": 12.5}, r"cpu_quota=12.5 must be a whole percentage of one core"),
        ({"cpu_quota": True}, r"cpu_quota=True must be a whole percentage of one core"),
        ({"max_memory": 0}, r"max_memory=0 must be a whole number of MB greater than 0, or -1 for no limit"),
        ({"max_memory": "512"}, r"max_memory='512' must be a whole number of MB greater than 0"),
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
        ({"notebook_conn_id": ""}, r"notebook_conn_id must be a non-empty string, got ''"),
        ({"notebook_conn_id": 3}, r"notebook_conn_id must be a non-empty string, got 3"),
        ({"others": "--cwd 'unclosed"}, r"others: cannot split \"--cwd 'unclosed\" into words"),
        ({"others": "--kernel python3"}, r"others: '--kernel' is set through the operator argument 'kernel'"),
        ({"others": ["-p", "a", "1"]}, r"others: '-p' is set through the operator argument 'parameters'"),
        ({"conda_env": "s3://bucket/env.rar"}, r"conda_env 's3://bucket/env.rar' is a URL without an"),
        (
            {"conda_env": "env.tar.gz", "conda_env_sha256": "abc"},
            r"conda_env_sha256 must be 64 hexadecimal digits \(sha256sum\), got 'abc'",
        ),
        ({"conda_env": "analytics", "conda_env_sha256": "ab" * 32}, r"conda_env_sha256 checks packed"),
    ],
)
def test_static_mistakes_are_refused_at_parse_time_naming_argument_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


# --- resource limits and the timeout alarm -----------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_quota", "max_memory", "limits"),
    [
        (50, 512, ["cpu_quota=50% of one core", "max_memory=512 MB"]),
        (250, None, ["cpu_quota=250% of one core"]),
        (-1, 1024, ["max_memory=1024 MB"]),
        (-1, -1, []),
        (None, None, []),
    ],
)
def test_cpu_quota_and_max_memory_are_the_run_limits_and_minus_one_is_none(cpu_quota, max_memory, limits):
    op = make(cpu_quota=cpu_quota, max_memory=max_memory)
    assert (op.cpu_quota, op.max_memory) == (cpu_quota, max_memory)
    assert [str(limit) for limit in op.limits] == limits


def test_warn_strategy_sets_no_execution_timeout_and_warnfailed_does():
    assert make(timeout=2, timeout_strategy="WARN").execution_timeout is None
    assert make(timeout=2, timeout_strategy="warnfailed").execution_timeout == timedelta(minutes=2)


def test_warn_strategy_leaves_room_for_an_explicit_hard_execution_timeout():
    op = make(timeout=30, timeout_strategy="WARN", execution_timeout=timedelta(hours=2))
    assert op.execution_timeout == timedelta(hours=2)


def test_on_timeout_alarm_takes_a_callable_a_notifier_or_a_list_like_on_failure_callback():
    class Page(BaseNotifier):
        def notify(self, context):
            pass

    notifier = Page()
    assert make(timeout=1, timeout_strategy="WARN", on_timeout_alarm=print).on_timeout_alarm == [print]
    assert make(timeout=1, timeout_strategy="WARN", on_timeout_alarm=notifier).on_timeout_alarm == [notifier]
    op = make(timeout=1, timeout_strategy="WARNFAILED", on_timeout_alarm=[print, notifier])
    assert op.on_timeout_alarm == [print, notifier]


# --- Kubernetes: the limits as the pod's resource limits -----------------------------------------


def pod_limits(op: JupyterCondaOperator) -> dict[str, str]:
    (container,) = op.executor_config["pod_override"].spec.containers
    assert container.name == "base"
    return container.resources.limits


@pytest.fixture
def executors(monkeypatch: pytest.MonkeyPatch):
    """Set ``[core] executor`` for the DAG file being parsed."""
    return lambda value: monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", value)


def test_kubernetes_executor_gets_the_limits_as_pod_resource_limits(executors):
    pytest.importorskip("kubernetes")
    executors("KubernetesExecutor")
    assert pod_limits(make(cpu_quota=50, max_memory=512)) == {"cpu": "500m", "memory": "512Mi"}
    assert pod_limits(make(cpu_quota=150)) == {"cpu": "1500m"}
    assert make(cpu_quota=-1, max_memory=-1).executor_config == {}


@pytest.mark.parametrize(
    ("configured", "task_executor"),
    [
        ("LocalExecutor,KubernetesExecutor", "KubernetesExecutor"),
        ("LocalExecutor,k8s:KubernetesExecutor", "k8s"),
        (
            "CeleryExecutor,airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor",
            "airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor",
        ),
    ],
)
def test_a_task_sent_to_the_kubernetes_executor_gets_pod_limits(executors, configured, task_executor):
    pytest.importorskip("kubernetes")
    executors(configured)
    assert pod_limits(make(max_memory=256, executor=task_executor)) == {"memory": "256Mi"}
    assert make(max_memory=256).executor_config == {}  # the default, first executor is not Kubernetes


def test_a_users_own_executor_config_is_kept(executors):
    executors("KubernetesExecutor")
    own = {"pod_override": "the user's own"}
    assert make(cpu_quota=50, executor_config=own).executor_config == own


def test_kubernetes_client_is_imported_only_for_the_kubernetes_executor():
    pytest.importorskip("kubernetes")
    code = (
        "import sys\n"
        "from airflow.sdk import DAG\n"
        "from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator\n"
        "with DAG('k', schedule=None):\n"
        "    JupyterCondaOperator(task_id='nb', input_nb='in.ipynb', output_nb='/tmp/out.ipynb',\n"
        "                         conda_env='analytics', cpu_quota=50, max_memory=512)\n"
        "print('kubernetes' in sys.modules)"
    )

    def imported_with(executor: str) -> str:
        env = {**os.environ, "AIRFLOW__CORE__EXECUTOR": executor}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[-1]

    assert imported_with("LocalExecutor") == "False"
    assert imported_with("KubernetesExecutor") == "True"


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


def make_mapped(**kwargs):
    with DAG("mapping", schedule=None):
        return JupyterCondaOperator.partial(task_id="nb", **{**REQUIRED, **kwargs}).expand(parameters=[{}])


def test_a_mapped_task_gets_the_scheduling_arguments_when_the_dag_file_is_parsed():
    # The scheduler reads these from the mapped task itself, not from the tasks workers build.
    mapped = make_mapped(
        task_priority="HIGH",
        worker_group="etl",
        retry_interval=2,
        timeout=5,
        timeout_strategy="FAILED",
        description="one per region",
    )
    assert (mapped.priority_weight, mapped.pool, mapped.retry_delay, mapped.execution_timeout) == (
        4,
        "etl",
        timedelta(minutes=2),
        timedelta(minutes=5),
    )
    assert strategy(mapped.weight_rule) is strategy("absolute")
    assert mapped.doc_md == "one per region"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_priority": "URGENT"}, r"task_priority='URGENT' is not one of HIGHEST"),
        ({"task_priority": "HIGH", "priority_weight": 2}, r"both set priority_weight; pass only one"),
        ({"timeout": 5, "timeout_strategy": "SOMETIMES"}, r"timeout_strategy='SOMETIMES' is not one of"),
    ],
)
def test_a_mapped_tasks_scheduling_mistakes_are_refused_at_parse_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_mapped(**kwargs)


def test_a_mapped_task_on_kubernetes_gives_its_pods_the_limits_and_each_index_leaves_them_to_the_pod(
    executors,
):
    pytest.importorskip("kubernetes")
    executors("KubernetesExecutor")
    mapped = make_mapped(cpu_quota=50, max_memory=512)
    # The executor builds each map index's pod from the mapped task's own executor_config.
    assert pod_limits(mapped) == {"cpu": "500m", "memory": "512Mi"}

    task = mapped.unmap({"parameters": {}})  # as a worker builds map index 0's task

    assert task.limits_in_pod
    assert [str(limit) for limit in task.limits] == ["cpu_quota=50% of one core", "max_memory=512 MB"]


def test_a_mapped_tasks_own_executor_config_is_kept_and_its_limits_left_to_the_worker(executors):
    executors("KubernetesExecutor")
    own = {"pod_override": "the user's own"}
    mapped = make_mapped(cpu_quota=50, executor_config=own)
    assert mapped.executor_config == own
    assert not mapped.unmap({"parameters": {}}).limits_in_pod


def test_a_mapped_task_elsewhere_gets_no_pod_and_its_worker_enforces_the_limits(executors):
    executors("LocalExecutor")
    mapped = make_mapped(cpu_quota=50)
    assert mapped.executor_config == {}
    assert not mapped.unmap({"parameters": {}}).limits_in_pod
