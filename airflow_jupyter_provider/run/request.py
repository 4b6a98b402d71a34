"""One notebook run, as the hook is asked for it: :class:`NotebookRun`, whose values pass one
set of rules.

The rules are checked twice with the same code: at DAG parse time on the operator's static
arguments (:func:`check_static`; templated values wait), and after template rendering when the
operator builds the run (:meth:`NotebookRun.create`). A value that breaks a rule is an
:class:`~airflow_jupyter_provider.exceptions.InvalidRunError` (a ValueError), naming the
argument and the value; no retry can fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_jupyter_provider.environments import check_environment
from airflow_jupyter_provider.environments.requirements import requirement_lines
from airflow_jupyter_provider.exceptions import InvalidRunError, JupyterCondaError
from airflow_jupyter_provider.limits import Limit
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.notebook_env import check_env
from airflow_jupyter_provider.run.papermill_options import split_others, whole_seconds
from airflow_jupyter_provider.run.parameters import parse_parameters
from airflow_jupyter_provider.run.render import names_html_file

JINJA_MARKERS = ("{{", "{%", "{#")


def is_templated(value: Any) -> bool:
    """Whether Jinja will render ``value`` (text, or a list of words any of which is templated)."""
    if isinstance(value, list | tuple):
        return any(map(is_templated, value))
    return isinstance(value, str) and any(marker in value for marker in JINJA_MARKERS)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _optional_text(name: str, value: Any) -> str | None:
    return None if value is None else _text(name, value)


def _html_argument(name: str, value: Any) -> str | bool:
    """The operator's ``output_html``: True (beside output_nb), False, or a local .html path."""
    if isinstance(value, bool) or (
        isinstance(value, str) and value.strip() and (is_templated(value) or _names_local_html(value))
    ):
        return value
    raise ValueError(
        "output_html must be True (beside output_nb), False (no HTML) or a local path ending "
        f"in .html, got {value!r}"
    )


def _names_local_html(location: str) -> bool:
    return is_local(location) and names_html_file(location)


#: argument -> its rule: the value as the run uses it, or a ValueError naming the argument.
RULES: dict[str, Callable[[str, Any], Any]] = {
    "input_nb": _text,
    "output_nb": _text,
    "output_html": _html_argument,
    "kernel": _optional_text,
    "engine": _optional_text,
    "parameters": lambda _, value: parse_parameters(value),
    "others": lambda _, value: tuple(split_others(value)),
    "jupyter_execution_timeout": whole_seconds,
    "jupyter_start_timeout": whole_seconds,
    "notebook_conn_id": _optional_text,
    "env": check_env,
}


def _checked_environment(conda_env: Any, sha256: Any) -> None:
    _text("conda_env", conda_env)
    check_environment(conda_env, sha256)


@contextmanager
def _invalid() -> Iterator[None]:
    """Turn a broken rule (a ValueError, an environment refused) into an InvalidRunError."""
    try:
        yield
    except InvalidRunError:
        raise
    except (ValueError, JupyterCondaError) as err:
        raise InvalidRunError(str(err)) from err


def check_static(arguments: Mapping[str, Any], base_dir: Path | None = None) -> None:
    """Refuse at DAG parse time what is wrong already; templated values wait for rendering. A
    requirements file is read when ``base_dir`` (the DAG file's folder) is known."""
    with _invalid():
        requirements = arguments.get("requirements")
        if requirements is not None and not is_templated(requirements):
            _static_requirements(requirements, base_dir)
        for name, rule in RULES.items():
            if name in arguments and not is_templated(arguments[name]):
                rule(name, arguments[name])
        if not is_templated(arguments["conda_env"]):
            _checked_environment(arguments["conda_env"], arguments.get("conda_env_sha256"))


def _static_requirements(value: Any, base_dir: Path | None) -> None:
    """Check requirement lines; a relative file's only when its folder is known."""
    if isinstance(value, str) and base_dir is None and not Path(value).is_absolute():
        return
    requirement_lines(value, base_dir or Path.cwd())


@dataclass(frozen=True)
class NotebookRun:
    """Everything one run needs, each value checked; build it with :meth:`create`."""

    input_nb: str
    output_nb: str
    conda_env: str
    #: where relative local paths start: the DAG file's folder
    base_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    engine: str | None = None
    execution_timeout: int | None = None
    start_timeout: int | None = None
    others: tuple[str, ...] = ()
    #: the local path the executed notebook is rendered to as HTML, if any
    output_html: Path | None = None
    #: the task instance that runs the notebook (``notebook_stamp.task_instance_identity``): the
    #: output notebook is stamped with it for the UI's Notebook tab; None stamps nothing
    task_instance: Mapping[str, Any] | None = None
    #: the Airflow connection that ``input_nb`` and ``output_nb`` in object storage go through;
    #: None leaves URLs to papermill
    notebook_conn_id: str | None = None
    limits: tuple[Limit, ...] = ()
    conda_env_conn_id: str | None = None
    conda_env_sha256: str | None = None
    #: the user the task runs as (``run_as_user``, DolphinScheduler's tenant), whose files other
    #: tenants may not read (``run/output_files.py``); None: the worker's own user
    tenant: str | None = None
    #: more variables for the notebook's environment (``notebook_env.py``); never shown
    env: dict[str, str] = field(default_factory=dict, repr=False)
    #: normalized PEP 508 lines layered on ``conda_env`` (``environments/layers.py``)
    requirements: tuple[str, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        input_nb: Any,
        output_nb: Any,
        conda_env: Any,
        base_dir: str | Path | None = None,
        output_html: Any = None,
        limits: Sequence[Limit] = (),
        task_instance: Mapping[str, Any] | None = None,
        conda_env_conn_id: str | None = None,
        conda_env_sha256: str | None = None,
        tenant: str | None = None,
        requirements: Any = None,
        **arguments: Any,
    ) -> NotebookRun:
        """The run of these (rendered) operator arguments; ``output_html`` is a path or None.

        ``arguments`` are the other operator arguments the rules know (``parameters``,
        ``kernel``, ``engine``, ``others``, ``jupyter_execution_timeout``, ...). ``requirements``
        is a list of lines or a requirements file's path, read here (relative: from ``base_dir``).

        :raises InvalidRunError: a value breaks its rule.
        """
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        with _invalid():
            unknown = set(arguments) - RULES.keys()
            if unknown:
                raise TypeError(f"NotebookRun.create() got unexpected arguments {sorted(unknown)}")
            values = {
                name: rule(name, arguments.get(name)) for name, rule in RULES.items() if name in arguments
            }
            _text("input_nb", input_nb)
            _text("output_nb", output_nb)
            html = _html_path(output_html, base, input_nb, output_nb)
            _checked_environment(conda_env, conda_env_sha256)
            lines = () if requirements is None else requirement_lines(requirements, base)
        return cls(
            input_nb=input_nb,
            output_nb=output_nb,
            conda_env=conda_env,
            base_dir=base,
            parameters=values.get("parameters", {}),
            kernel=values.get("kernel"),
            engine=values.get("engine"),
            execution_timeout=values.get("jupyter_execution_timeout"),
            start_timeout=values.get("jupyter_start_timeout"),
            others=values.get("others", ()),
            output_html=html,
            task_instance=task_instance,
            notebook_conn_id=values.get("notebook_conn_id"),
            limits=tuple(limits),
            conda_env_conn_id=conda_env_conn_id,
            conda_env_sha256=conda_env_sha256,
            tenant=tenant,
            env=values.get("env", {}),
            requirements=lines,
        )


def _html_path(output_html: Any, base: Path, input_nb: str, output_nb: str) -> Path | None:
    """The local path ``output_html`` names; it may be neither notebook."""
    if output_html is None:
        return None
    if not isinstance(output_html, str) or not _names_local_html(output_html):
        raise ValueError(
            f"output_html must be a local path (or file:// URL) ending in .html, got {output_html!r}"
        )
    path = local_path(output_html, base)
    for name, notebook in (("input_nb", input_nb), ("output_nb", output_nb)):
        if is_local(notebook) and local_path(notebook, base) == path:
            raise ValueError(f"output_html {output_html!r} is {name}: the HTML would overwrite it")
    return path
