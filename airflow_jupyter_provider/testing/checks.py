"""The checks run on every ``JupyterCondaOperator`` task, one small function each, in a registry.

A check takes the task under check and yields what is wrong with it as Problems. Values that
several checks use come from :class:`TaskUnderCheck`; a check reports the problem of a value
only when the value is its own (``TaskUnderCheck.problems_of``), so one cause makes one finding.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from airflow_jupyter_provider.run.start_papermill import choose, kernelspec_name, missing_from_task
from airflow_jupyter_provider.testing.findings import Problem
from airflow_jupyter_provider.testing.kernels import environment_kernels
from airflow_jupyter_provider.testing.subject import RenderFailed, TaskUnderCheck, Unavailable

#: How alike a given name and a declared one must be (difflib's ratio) to suggest the declared one.
CLOSE_NAME = 0.75


def notebook_is_valid(task: TaskUnderCheck) -> Iterator[Problem]:
    """The input notebook exists and is a notebook (papermill fails the run otherwise)."""
    yield from task.problems_of("notebook")


def parameters_are_declared(task: TaskUnderCheck) -> Iterator[Problem]:
    """Every given parameter is declared in the notebook's ``parameters`` cell.

    papermill injects any name it is given; one the notebook does not read (a typo, a renamed
    parameter) changes nothing, and the notebook runs on with its default.
    """
    try:
        given, declared = task.given_parameters, task.declared_parameters
    except Unavailable as err:
        yield from err.about("given_parameters", "declared_parameters")
        return
    if not given:
        return
    if declared is None:
        names = ", ".join(map(repr, sorted(given)))
        yield Problem(
            f"parameters given ({names}) but {task.input_location!r} has no cell tagged 'parameters'"
        )
        return
    for name in sorted(set(given) - set(declared)):
        close = difflib.get_close_matches(name, declared, n=1, cutoff=CLOSE_NAME)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield Problem(
            f"parameter {name!r} is not declared in the parameters cell of {task.input_location!r}{hint}"
        )


def parameters_have_values(task: TaskUnderCheck) -> Iterator[Problem]:
    """(strict) Every declared parameter without a real default (None, "", nothing) is given."""
    try:
        given, declared = task.given_parameters, task.declared_parameters
    except Unavailable:  # reported by the notebook and parameters checks
        return
    for parameter in (declared or {}).values():
        if not parameter.has_default and parameter.name not in given:
            default = parameter.default or "no value"
            where = f"the parameters cell of {task.input_location!r}"
            yield Problem(
                f"parameter {parameter.name!r} has no default ({default}) in {where} and is not given"
            )


def pool_exists(task: TaskUnderCheck) -> Iterator[Problem]:
    """The task's pool (``worker_group``) exists: Airflow leaves a task of an unknown pool scheduled."""
    pool, pools = task.task.pool, task.run.pools
    if pool in pools:
        return
    sources = pools.sources()
    if not sources:
        reason = "the Airflow database cannot be read and no pools_file is given"
        yield Problem(f"pool {pool!r} not checked: {reason}", skipped=True)
        return
    where = " nor in ".join(sources)
    yield Problem(f"pool {pool!r} does not exist (not in {where}): the task would stay scheduled forever")


def environment_is_conda(task: TaskUnderCheck) -> Iterator[Problem]:
    """A ``conda_env`` folder is a conda environment (the hook refuses it otherwise)."""
    yield from task.problems_of("environment_prefix")


def requirements_are_valid(task: TaskUnderCheck) -> Iterator[Problem]:
    """``requirements`` are PEP 508 lines, and a requirements file exists (the run fails otherwise)."""
    from airflow_jupyter_provider.environments.requirements import requirement_lines

    if task.task.requirements is None:
        return
    try:
        requirement_lines(task.render("requirements"), task.base_dir)
    except RenderFailed as err:
        yield err.problem
    except ValueError as err:
        yield Problem(str(err))


def kernel_is_installed(task: TaskUnderCheck) -> Iterator[Problem]:
    """papermill has a kernel name, and an environment folder has that kernel; or, for the
    notebook's own kernel, the one kernel of its language that a run takes in its place."""
    try:
        name = task.kernel_name
    except Unavailable as err:
        yield from err.about("kernel_name")
        return
    try:
        prefix = task.environment_prefix
    except Unavailable:  # reported by the environment check
        return
    if prefix is None:
        return
    kernels = environment_kernels(prefix)
    if kernelspec_name(name).lower() in kernels:
        return
    # What a run would decide in the environment (run/start_papermill.py), in the same words.
    if task.given_kernel:
        yield Problem(missing_from_task(kernels, name, str(prefix)))
        return
    chosen, problem = choose(kernels, name, task.notebook.language or "", str(prefix))
    if chosen is None:
        yield Problem(problem)


@dataclass(frozen=True)
class Check:
    """A check, the name its findings carry, and whether it runs only with ``strict=True``."""

    name: str
    run: Callable[[TaskUnderCheck], Iterator[Problem]]
    strict_only: bool = False


CHECKS: tuple[Check, ...] = (
    Check("notebook", notebook_is_valid),
    Check("parameters", parameters_are_declared),
    Check("missing-parameters", parameters_have_values, strict_only=True),
    Check("pool", pool_exists),
    Check("environment", environment_is_conda),
    Check("requirements", requirements_are_valid),
    Check("kernel", kernel_is_installed),
)
