"""JupyterCondaOperator: the Jupyter task's parameters, as an Airflow operator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_jupyter_provider.compat import AirflowSkipException, built_from_mapped
from airflow_jupyter_provider.exceptions import InvalidRunError, to_airflow
from airflow_jupyter_provider.limits import Limit, requested_limits
from airflow_jupyter_provider.locations import is_local
from airflow_jupyter_provider.masking import mask_env
from airflow_jupyter_provider.notebook_stamp import task_instance_identity
from airflow_jupyter_provider.operators import kubernetes
from airflow_jupyter_provider.operators.ds_mapping import (
    RUN_FLAGS,
    SCHEDULING_ARGUMENTS,
    base_operator_arguments,
    choice,
)
from airflow_jupyter_provider.operators.timeout import AlarmCallback, TimeoutPolicy
from airflow_jupyter_provider.plugins import NOTEBOOK_XCOM_KEY, OUTPUT_HTML_XCOM_KEY
from airflow_jupyter_provider.plugins.links import OutputNotebookLink
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.render import html_location_for
from airflow_jupyter_provider.run.request import NotebookRun, check_static
from airflow_jupyter_provider.run.run_result import RunResult

if TYPE_CHECKING:
    import jinja2
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from airflow.sdk.definitions.mappedoperator import OperatorPartial

    from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
    from airflow_jupyter_provider.lineage.report import RunReport

#: The XCom key of what the notebook recorded for later tasks (see ``run/results.py``).
RESULTS_KEY = "results"


class JupyterCondaOperator(BaseOperator):
    """
    Run a Jupyter notebook with papermill inside a conda environment.

    The arguments are those of DolphinScheduler's Jupyter task; each one maps onto the
    Airflow primitive that does the same job (see the README's parameter table). Any other
    BaseOperator argument (``queue``, ``email``, ``on_failure_callback``, ...) works as usual.

    XComs: ``notebook``, pushed before the notebook starts, where the output notebook goes
    (``{"output_nb": <absolute local path or URL>, "conn_id": <notebook_conn_id or None>}``)
    for the UI's Notebook tab, which shows it live; ``return_value``, the output notebook;
    ``output_html``, its HTML, if asked for; ``results``, after a successful run, a dict of what
    the notebook recorded for later tasks (the JSON object a cell tagged ``results`` shows,
    scrapbook scraps), values with their JSON types. The output notebook is stamped with the
    task instance (its metadata), so the tab shows a notebook only to the task that ran it.

    Lineage: where the OpenLineage provider is installed, each run reports its input and output
    notebooks as datasets, and its environment, parameters and failed cell as run facets
    (``lineage/facets.py``).

    :param input_nb: notebook to run: a local path (relative: from the DAG file's folder) or a
        papermill I/O URL. Templated.
    :param output_nb: where the executed notebook goes; local parent folders are created.
        Templated. Returned by ``execute``, so it lands in XCom.
    :param notebook_conn_id: Airflow connection for ``input_nb`` and ``output_nb`` in object
        storage (an ``aws`` connection for ``s3://``, ...), read and written through Airflow's
        ``ObjectStoragePath``: the worker reads the input once and uploads the output each time
        papermill has saved it (after each cell, and at the end, failed runs included). Without
        it, URLs go to papermill as they are.
    :param output_html: where the executed notebook also goes as HTML, for those who want a
        file (the UI's Notebook tab needs none: it renders the output notebook itself).
        ``False`` (the default) for none, so a task does not pay nbconvert's import and
        rendering; ``True`` beside ``output_nb`` with ``.html`` for ``.ipynb``; or a local path
        (relative: from the DAG file's folder). Rendered by nbconvert in the worker's Python
        after the run, failed ones included, so the error shows. Templated. Its absolute path
        is pushed to XCom as ``output_html``; a rendering that fails is a warning.
    :param conda_env: a conda environment name, an environment folder (one with
        ``conda-meta/``), or a conda-pack archive (``.tar.gz``, ``.tgz``, ``.tar.bz2``,
        ``.tbz2``, ``.tar.xz``, ``.tar``, ``.zip``; a path or ``file://`` URL). Templated.
    :param parameters: notebook parameters, a dict or JSON text; values keep their JSON types
        (int, float, bool, None, list, dict, str). Templated: ``"{{ params | tojson }}"``
        passes the DAG run's params with their types.
    :param kernel: Jupyter kernel name (papermill ``--kernel``). Templated.
    :param engine: papermill engine name (``--engine``).
    :param jupyter_execution_timeout: seconds each cell may run (``--execution-timeout``).
    :param jupyter_start_timeout: seconds the kernel may take to start (``--start-timeout``).
    :param others: more papermill options, text split as a shell splits words (no shell runs
        it) or a list of words. Templated.
    :param env: more environment variables for the notebook's process, a dict of names to
        values (text or numbers), e.g. ``{"API_TOKEN": "{{ var.value.api_token }}"}``; the way
        to hand a notebook a secret. The notebook gets the worker's environment less Airflow's
        configuration and secrets (``AIRFLOW__*``, ``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``,
        ``_AIRFLOW_*``; see ``notebook_env.py``), then these, which win. Values never reach
        the parameters, papermill's command line, lineage or XCom; those whose names Airflow
        calls sensitive (``*TOKEN*``, ``*PASSWORD*``, ``*SECRET*``, ...) are masked as ``***``
        in the log, the output notebook and the rendered fields. Templated.
    :param requirements: packages the notebook needs beyond ``conda_env``'s: a list of PEP 508
        lines (``["polars>=1", "duckdb"]``) or the path of a requirements file (relative: from
        the DAG file's folder; read as it is, not rendered). Each worker builds a virtual
        environment once over ``conda_env``'s Python, seeing its packages, with these installed
        (uv where installed, else pip; the index is the worker's configuration or the
        ``jupyter_conda`` connection's), and the notebook's kernel runs in it. Later tasks with
        the same requirements on the same environment reuse it. Templated.
    :param run_flag: ``NORMAL`` runs the notebook; ``FORBIDDEN`` skips the task without running it.
    :param description: shown as the task's documentation (``doc_md``) in the UI.
    :param task_priority: ``HIGHEST``, ``HIGH``, ``MEDIUM``, ``LOW`` or ``LOWEST``: sets
        ``priority_weight`` 5..1 with ``weight_rule="absolute"``.
    :param worker_group: the Airflow pool the task runs in; ``default`` means ``default_pool``.
    :param retry_interval: minutes (or a timedelta) between retries: sets ``retry_delay``.
    :param timeout: minutes (or a timedelta) the task may run before its timeout strategy acts.
    :param timeout_strategy: what the timeout does: ``FAILED`` (the default) fails the task
        (``execution_timeout``); ``WARN`` fires the timeout alarm and the notebook goes on;
        ``WARNFAILED`` fires the alarm and fails the task.
    :param on_timeout_alarm: what the alarm calls with the task's context, besides logging a
        warning: a function, an Airflow Notifier, or a list of them. One that raises is logged
        and never fails the task. Without it, a task with ``email`` mails the alarm there
        through Airflow's SMTP setup (the ``smtp_default`` connection).
    :param cpu_quota: percent of one core the whole run (papermill, kernel, their children) may
        use, e.g. 50 or 200; -1 (or None) for no limit. Enforced through a cgroup of the run.
    :param max_memory: MB of memory the whole run may use; -1 (or None) for no limit. Past it,
        the kernel's OOM killer ends the run and the task fails without retries.
    :param conda_env_conn_id: Airflow connection for fetching a packed ``conda_env`` from a URL
        (an ``aws`` connection for ``s3://``, an ``http`` one for ``https://`` with credentials, ...).
    :param conda_env_sha256: the sha256 a packed ``conda_env`` archive must have; a mismatch fails
        the task without retry.
    :param jupyter_conda_conn_id: the ``jupyter_conda`` connection (``conda_path``,
        ``resource_root``, ``env_cache_dir`` extras).
    """

    template_fields: Sequence[str] = (
        "input_nb",
        "output_nb",
        "output_html",
        "parameters",
        "conda_env",
        "kernel",
        "others",
        "env",
        "requirements",
    )
    template_fields_renderers = {"parameters": "json", "env": "json"}
    ui_color = "#f5d3b5"
    ui_fgcolor = "#000000"
    operator_extra_links = (OutputNotebookLink(),)

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """``BaseOperator.partial``, with the DolphinScheduler arguments mapped as ``__init__`` maps them.

        The scheduler reads a mapped task's priority, pool, retry delay and timeout from its
        partial arguments, and the executor its ``executor_config``, never from the task a
        worker builds for each map index: they are mapped here, when the DAG file is parsed, and
        a mistake in them fails the parse. (Limits given to ``expand()`` differ by map index, so
        no pod can carry them: the worker enforces those with cgroups.)
        """
        policy = TimeoutPolicy.of(
            kwargs.get("timeout"), kwargs.get("timeout_strategy"), kwargs.get("on_timeout_alarm")
        )
        scheduling = {name: kwargs.get(name) for name in SCHEDULING_ARGUMENTS}
        if not policy.fails_task:
            scheduling["timeout"] = None
        kwargs.update(base_operator_arguments(scheduling, kwargs))
        limits = requested_limits(kwargs.get("cpu_quota"), kwargs.get("max_memory"))
        if kubernetes.pod_enforces(limits, kwargs):
            kwargs["executor_config"] = kubernetes.executor_config(limits)
        return super().partial(**kwargs)

    def __init__(
        self,
        *,
        input_nb: str,
        output_nb: str,
        output_html: str | bool = False,
        notebook_conn_id: str | None = None,
        conda_env: str,
        parameters: dict[str, Any] | str | None = None,
        kernel: str | None = None,
        engine: str | None = None,
        jupyter_execution_timeout: int | None = None,
        jupyter_start_timeout: int | None = None,
        others: str | Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        requirements: Sequence[str] | str | None = None,
        run_flag: str = "NORMAL",
        description: str | None = None,
        task_priority: str | None = None,
        worker_group: str | None = None,
        retry_interval: float | timedelta | None = None,
        timeout: float | timedelta | None = None,
        timeout_strategy: str | None = None,
        on_timeout_alarm: AlarmCallback | Sequence[AlarmCallback] | None = None,
        cpu_quota: int | None = None,
        max_memory: int | None = None,
        conda_env_conn_id: str | None = None,
        conda_env_sha256: str | None = None,
        jupyter_conda_conn_id: str = "jupyter_conda_default",
        **kwargs: Any,
    ) -> None:
        timeout_policy = TimeoutPolicy.of(timeout, timeout_strategy, on_timeout_alarm)
        limits = requested_limits(cpu_quota, max_memory)
        scheduling = {
            "task_priority": task_priority,
            "worker_group": worker_group,
            "retry_interval": retry_interval,
            "timeout": timeout if timeout_policy.fails_task else None,
            "description": description,
        }
        # One map index's task: partial() mapped these already, and Airflow filled in its own
        # defaults for the other BaseOperator arguments; neither is the author's.
        from_mapped = built_from_mapped(self)
        kwargs.update(base_operator_arguments(scheduling, {} if from_mapped else kwargs))
        if from_mapped:  # partial() gave the pod the limits, or the author's executor_config is kept
            limits_in_pod = kubernetes.pod_carries(limits, kwargs)
        else:
            limits_in_pod = kubernetes.pod_enforces(limits, kwargs)
            if limits_in_pod:
                kwargs["executor_config"] = kubernetes.executor_config(limits)
        super().__init__(**kwargs)
        self.timeout_policy = timeout_policy
        self.cpu_quota = cpu_quota
        self.max_memory = max_memory
        self.limits: tuple[Limit, ...] = limits
        self.limits_in_pod = limits_in_pod
        self.on_timeout_alarm = list(self.timeout_policy.callbacks)
        self.input_nb = input_nb
        self.output_nb = output_nb
        self.output_html = output_html
        self.notebook_conn_id = notebook_conn_id
        self.conda_env = conda_env
        self.parameters = parameters
        self.kernel = kernel
        self.engine = engine
        self.jupyter_execution_timeout = jupyter_execution_timeout
        self.jupyter_start_timeout = jupyter_start_timeout
        self.others = others
        self.env = env
        self.requirements = requirements
        self.run_flag = choice("run_flag", run_flag, RUN_FLAGS)
        self.timeout_strategy = timeout_strategy.upper() if timeout_strategy else None
        self.conda_env_conn_id = conda_env_conn_id
        self.conda_env_sha256 = conda_env_sha256
        self.jupyter_conda_conn_id = jupyter_conda_conn_id
        #: what the last run of this task produced, for lineage (None: it never got to papermill)
        self._run_result: RunResult | None = None
        check_static(self._run_arguments(), Path(self.dag.fileloc).parent if self.has_dag() else None)

    def _run_arguments(self) -> dict[str, Any]:
        """The arguments a run is made of, as they are now (templates rendered once executing)."""
        return {
            "input_nb": self.input_nb,
            "output_nb": self.output_nb,
            "output_html": self.output_html,
            "notebook_conn_id": self.notebook_conn_id,
            "conda_env": self.conda_env,
            "conda_env_sha256": self.conda_env_sha256,
            "parameters": self.parameters,
            "kernel": self.kernel,
            "engine": self.engine,
            "others": self.others,
            "jupyter_execution_timeout": self.jupyter_execution_timeout,
            "jupyter_start_timeout": self.jupyter_start_timeout,
            "env": self.env,
            "requirements": self.requirements,
        }

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render as Airflow does, then register the ``env`` values whose names are sensitive with
        the secrets masker, before Airflow records the rendered fields or anything is logged."""
        super().render_template_fields(context, jinja_env)
        if isinstance(self.env, Mapping):
            mask_env(
                {name: str(value) for name, value in self.env.items() if isinstance(value, str | int | float)}
            )

    @cached_property
    def hook(self) -> JupyterCondaHook:
        from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook

        return JupyterCondaHook(jupyter_conda_conn_id=self.jupyter_conda_conn_id)

    def execute(self, context: Context) -> str:
        if self.run_flag == "FORBIDDEN":
            self.log.info("run_flag is FORBIDDEN: %s is not run and the task is skipped", self.input_nb)
            raise AirflowSkipException("run_flag=FORBIDDEN")
        run = self._notebook_run(context)
        self._push_record(context, run)
        try:
            with self.timeout_policy.alarm(context, self.log, self.email):
                result = self.hook.run(run)
        except BaseException as err:  # a failed run's HTML shows its error: pushed before it goes on
            if (failed := RunResult.attached_to(err)) is not None:
                self._push_html(context, failed)
            self._run_result = failed
            raise
        self._run_result = result
        self._push_html(context, result)
        self._push_results(context, result)
        return result.output_nb

    def _notebook_run(self, context: Context) -> NotebookRun:
        """The run of the rendered arguments, checked by the same rules as at DAG parse time."""
        arguments = self._run_arguments()
        arguments["output_html"] = self._html_location()
        try:
            return NotebookRun.create(
                **arguments,
                base_dir=Path(context["dag"].fileloc).parent,
                limits=self._limits_for_this_worker(),
                task_instance=self._task_instance_of(context),
                conda_env_conn_id=self.conda_env_conn_id,
                tenant=self._tenant(),
            )
        except InvalidRunError as err:
            raise to_airflow(err) from err

    def _tenant(self) -> str | None:
        """The user Airflow runs this task as, if not the worker's own (``run_as_user``, else
        ``[core] default_impersonation``), as Airflow's task runner decides it."""
        from airflow_jupyter_provider.compat import airflow_conf

        return self.run_as_user or airflow_conf().get("core", "default_impersonation", fallback=None) or None

    def _html_location(self) -> str | None:
        """Where the hook writes the HTML: ``output_html`` as rendered, derived, or None."""
        if self.output_html is False:
            return None
        if self.output_html is not True:
            return self.output_html
        if not is_local(self.output_nb):
            self.log.info("No HTML beside %s: output_html=True derives local paths only", self.output_nb)
            return None
        return html_location_for(self.output_nb)

    def _push_record(self, context: Context, run: NotebookRun) -> None:
        """Record where the output notebook goes, before it starts: the Notebook tab follows it."""
        output_nb = Locations.output_of(run)
        conn_id = None if is_local(output_nb) else run.notebook_conn_id
        self._push(context, NOTEBOOK_XCOM_KEY, {"output_nb": output_nb, "conn_id": conn_id})

    def _push_html(self, context: Context, result: RunResult) -> None:
        if result.output_html:
            self._push(context, OUTPUT_HTML_XCOM_KEY, result.output_html)

    def _push_results(self, context: Context, result: RunResult) -> None:
        """Push what the notebook recorded for later tasks (see ``run/results.py``)."""
        for problem in result.result_problems:
            self.log.warning("Results: %s", problem)
        if result.results:
            self.log.info("Results for later tasks (XCom %r): %s", RESULTS_KEY, ", ".join(result.results))
            self._push(context, RESULTS_KEY, result.results)

    @staticmethod
    def _task_instance_of(context: Context) -> dict[str, Any] | None:
        """The task instance the output notebook is stamped with: the UI's Notebook tab shows it
        for that one only."""
        if (ti := context.get("ti")) is None:
            return None
        return task_instance_identity(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)

    @staticmethod
    def _push(context: Context, key: str, value: Any) -> None:
        # execute() called outside a task run (a test, say) has no task instance to push to.
        if (ti := context.get("ti")) is not None:
            ti.xcom_push(key=key, value=value)

    def _limits_for_this_worker(self) -> tuple[Limit, ...]:
        """The limits the hook enforces with cgroups: none where the task's pod enforces them."""
        if not self.limits_in_pod:
            return self.limits
        for limit in self.limits:
            resource, quantity = kubernetes.pod_resource(limit)
            self.log.info(
                "%s is enforced by the Kubernetes pod (resources.limits.%s = %s)", limit, resource, quantity
            )
        return ()

    def on_kill(self) -> None:
        self.hook.kill()

    # OpenLineage: the listener of the OpenLineage provider, where it is installed, calls these on
    # the worker; the task's templates are rendered by then. See ``lineage/facets.py``.

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The notebooks, the environment as the task names it, and the parameters."""
        from airflow_jupyter_provider.lineage.facets import operator_lineage

        return operator_lineage(self._lineage_report())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """As on start, with the environment as the run used it (an archive's sha256 and folder)."""
        from airflow_jupyter_provider.lineage.facets import operator_lineage

        report = self._lineage_report()
        return operator_lineage(report and report.ended(self._run_result))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """As on complete, with the cell that failed, if one did."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def _lineage_report(self) -> RunReport | None:
        """What lineage says of this task's run; None when ``run_flag`` keeps it from running."""
        from airflow_jupyter_provider.lineage.report import RunReport

        if self.run_flag == "FORBIDDEN":
            return None
        run = NotebookRun.create(
            **{**self._run_arguments(), "output_html": None},
            base_dir=Path(self.dag.fileloc).parent,
            conda_env_conn_id=self.conda_env_conn_id,
        )
        return RunReport.of(run, self.hook.environment_of(run).facts())
