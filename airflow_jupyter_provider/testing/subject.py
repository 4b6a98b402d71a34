"""One ``JupyterCondaOperator`` task under check: its values rendered, its notebook read, once.

Several checks need the same values (the notebook, the given parameters, the kernel, the
environment). A value that cannot be had raises :class:`Unavailable`, naming the value and the
problem; the check about that value reports it and the checks that merely use it pass over it,
so that one cause makes one finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_jupyter_provider.environments import CondaEnvError, ResolveOptions, resolve_environment
from airflow_jupyter_provider.environments.kinds import PrefixEnvironment
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.run.parameters import parse_parameters
from airflow_jupyter_provider.testing.findings import Problem, one_line
from airflow_jupyter_provider.testing.notebooks import (
    Declared,
    Notebook,
    NotebookError,
    declared_parameters,
    read_notebook,
)
from airflow_jupyter_provider.testing.pools import KnownPools
from airflow_jupyter_provider.testing.sample_context import sample_context

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator


T = TypeVar("T")


class Unavailable(Exception):
    """The value ``value`` (a property of :class:`TaskUnderCheck`) cannot be had, because of ``problem``."""

    def __init__(self, value: str, problem: Problem) -> None:
        super().__init__(problem.text)
        self.value = value
        self.problem = problem

    def about(self, *values: str) -> list[Problem]:
        """The problem, if it is about one of ``values``: a check reports the problems of its own values."""
        return [self.problem] if self.value in values else []


class RenderFailed(Exception):
    """A templated field does not render with the sample context; the property that rendered it
    turns this into its own :class:`Unavailable`."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


@dataclass
class CheckRun:
    """What the checks of one DAG folder share: the known pools, and each notebook read and inspected
    once however many tasks run it (errors included: one bad notebook, one reading)."""

    pools: KnownPools
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def notebook(self, path: Path) -> Notebook:
        return self._once(("read", path), lambda: read_notebook(path))

    def declared_parameters(self, notebook: Notebook, kernel: str | None) -> dict[str, Declared] | None:
        return self._once(("declared", notebook.path, kernel), lambda: declared_parameters(notebook, kernel))

    def _once(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if key not in self._memo:
            try:
                self._memo[key] = compute()
            except NotebookError as err:
                self._memo[key] = err
        found = self._memo[key]
        if isinstance(found, NotebookError):
            raise found
        return found


class TaskUnderCheck:
    """The values of one task as its run would see them, rendered with a sample context."""

    def __init__(self, dag: DAG, task: JupyterCondaOperator, run: CheckRun) -> None:
        self.dag = dag
        self.task = task
        self.run = run
        #: Relative paths are taken from the DAG file's folder, as the operator takes them.
        self.base_dir = Path(dag.fileloc).parent

    @cached_property
    def _context(self) -> dict[str, Any]:
        return sample_context(self.dag, self.task)

    @cached_property
    def _jinja_env(self) -> Any:
        return self.task.get_template_env()

    def problems_of(self, value: str) -> list[Problem]:
        """The problem that keeps the property ``value`` from being had, if the problem is its own;
        [] when it can be had, or when it lacks another value (whose own check reports that)."""
        try:
            getattr(self, value)
        except Unavailable as err:
            return err.about(value)
        return []

    def render(self, field_name: str) -> Any:
        """The templated field rendered as the operator renders it, with the sample context.

        A template that is not valid Jinja fails every run: an error. One that reads what only
        a real run has (XCom, a connection, a Variable without a default) is skipped.
        """
        from jinja2 import TemplateSyntaxError

        value = getattr(self.task, field_name)
        try:
            return self.task.render_template(value, self._context, self._jinja_env)
        except TemplateSyntaxError as err:
            problem = Problem(f"{field_name}: invalid template {value!r}: {one_line(str(err))}")
            raise RenderFailed(problem) from err
        # A template runs arbitrary code (macros, filters, methods of the context's objects).
        except Exception as err:
            reason = one_line(str(err)) or type(err).__name__
            problem = Problem(
                f"{field_name} {value!r} needs a real run to render ({reason}): not checked", skipped=True
            )
            raise RenderFailed(problem) from err

    @cached_property
    def input_location(self) -> str:
        """``input_nb`` rendered: the notebook's location as the task gives it."""
        try:
            location = self.render("input_nb")
        except RenderFailed as err:
            raise Unavailable("notebook", err.problem) from err
        if not isinstance(location, str) or not location.strip():
            problem = Problem(f"input_nb {self.task.input_nb!r} renders to {location!r}, not a location")
            raise Unavailable("notebook", problem)
        return location

    @cached_property
    def notebook(self) -> Notebook:
        """The input notebook, when it is a local one."""
        location = self.input_location
        if not is_local(location):
            text = f"input_nb {location!r} is not local: notebook, parameters, kernel not checked"
            raise Unavailable("notebook", Problem(text, skipped=True))
        try:
            return self.run.notebook(local_path(location, self.base_dir))
        except NotebookError as err:
            raise Unavailable("notebook", Problem(f"input_nb {location!r}: {err}")) from err

    @cached_property
    def given_parameters(self) -> dict[str, Any]:
        """The parameters the task hands to papermill, parsed as the operator parses them."""
        try:
            return parse_parameters(self.render("parameters"))
        except RenderFailed as err:
            raise Unavailable("given_parameters", err.problem) from err
        except ValueError as err:
            raise Unavailable("given_parameters", Problem(one_line(str(err)))) from err

    @cached_property
    def declared_parameters(self) -> dict[str, Declared] | None:
        """What the notebook's ``parameters`` cell declares; None when it has no such cell."""
        try:
            kernel = self.kernel_name
        except Unavailable:  # reported by the kernel check; the notebook's language still picks a translator
            kernel = None
        try:
            return self.run.declared_parameters(self.notebook, kernel)
        except NotebookError as err:
            raise Unavailable(
                "declared_parameters", Problem(f"{err}: parameters not checked", skipped=True)
            ) from err

    @cached_property
    def given_kernel(self) -> str | None:
        """The task's ``kernel`` when it renders non-empty (the hook passes ``--kernel`` only then)."""
        try:
            return (self.render("kernel") if self.task.kernel is not None else None) or None
        except RenderFailed as err:
            raise Unavailable("kernel_name", err.problem) from err

    @cached_property
    def kernel_name(self) -> str:
        """The kernel papermill is asked for: the task's ``kernel``, else the notebook's kernelspec."""
        name = self.given_kernel or self.notebook.kernel_name
        if not name:
            problem = Problem(f"kernel is not set and {self.input_location!r} names none (in its kernelspec)")
            raise Unavailable("kernel_name", problem)
        return name

    @cached_property
    def environment_prefix(self) -> Path | None:
        """The folder of ``conda_env`` when it is an environment folder; None for a name or an
        archive, which only a worker can resolve."""
        try:
            value = self.render("conda_env")
            environment = resolve_environment(value, ResolveOptions(self.base_dir))
        except RenderFailed as err:
            raise Unavailable("environment_prefix", err.problem) from err
        except CondaEnvError as err:
            raise Unavailable("environment_prefix", Problem(one_line(str(err)))) from err
        if not isinstance(environment, PrefixEnvironment):
            return None
        prefix = environment.prefix
        if not prefix.exists():
            text = f"conda_env {value!r} is not on this machine: kernel not checked"
            raise Unavailable("environment_prefix", Problem(text, skipped=True))
        if not (prefix / "conda-meta").is_dir():
            text = (
                f"conda_env {value!r}: '{prefix}' is not a conda environment (it has no conda-meta/ folder)"
            )
            raise Unavailable("environment_prefix", Problem(text))
        return prefix
