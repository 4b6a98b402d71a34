"""Run by the activated environment's own Python in place of its ``papermill`` command (see
``run_notebook.sh``): when the notebook's kernel is not in the environment, choose the one kernel
that can stand in for it, or say which kernels the environment has; then run papermill's command
line in this same process, so the check costs no process of its own.

    python start_papermill.py [NAME LANGUAGE ENVIRONMENT REPORT WHOSE] -- PAPERMILL_ARGUMENTS...

The worker passes the five values when it knows a kernel to check (see ``kernel_check.py``): its
name and language, ``conda_env`` as the task gives it (for the messages), a file for why no
kernel could be chosen (the status is then NO_KERNEL), and whose kernel it is: ``notebook`` (its
kernelspec's: another may stand in) or ``task`` (its ``kernel``: that one or none).

This file runs in the user's environment, of any Python 3 version, with the standard library,
jupyter_client and papermill only: it imports nothing of this package.
"""

from __future__ import annotations

import os
import sys

#: The status when the notebook's kernel is missing and none can stand in for it.
NO_KERNEL = 93
#: jupyter_client's KernelManager starts its native kernel for the name ``python`` (nbclient's
#: own tests run every notebook so): these are the two names of the environment's own Python.
PYTHON_ALIAS, NATIVE_KERNEL = "python", "python3"


def kernelspec_name(name):
    """The kernelspec papermill starts for the kernel ``name``, as jupyter_client takes it. The
    DAG-integrity kit looks kernels up with this too."""
    return NATIVE_KERNEL if name == PYTHON_ALIAS else name


def environment_kernels():
    """name -> language of the kernels that are the environment's own: those in its prefix
    (its ``share/jupyter/kernels``, ipykernel's ``python3``), not a user's or the system's."""
    from jupyter_client.kernelspec import KernelSpecManager

    prefix = os.path.realpath(sys.prefix) + os.sep
    kernels = {}
    for name, found in KernelSpecManager().get_all_specs().items():
        if os.path.realpath(found["resource_dir"]).startswith(prefix):
            kernels[name] = found["spec"].get("language") or ""
    return kernels


def is_found(name):
    """Whether papermill would find the kernel ``name`` (anywhere jupyter_client looks)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return kernelspec_name(name).lower() in KernelSpecManager().find_kernel_specs()


def listing(kernels):
    """``python3 (python), ir (R)``: the kernels and their languages, for a message."""
    return ", ".join(f"{k} ({lang or 'no language'})" for k, lang in sorted(kernels.items())) or "none"


def missing_from_task(kernels, name, environment):
    """Why the run stops when the task's own kernel is not among ``kernels`` (name -> language)."""
    return (
        f"kernel '{name}' (the task's kernel=) is not in conda environment '{environment}'; the "
        f"environment's kernels: {listing(kernels)}. Set kernel= to one of them, or "
        f"install the kernel '{name}' into the environment"
    )


def choose(kernels, name, language, environment):
    """Among ``kernels`` (name -> language), the one to run the notebook with in place of its
    missing kernel ``name``: (that kernel, None), or (None, why there is none). The DAG-integrity
    kit decides with this too."""
    same_language = sorted(k for k, lang in kernels.items() if language and lang.lower() == language.lower())
    if len(same_language) == 1:
        return same_language[0], None
    if not language:
        why = "the notebook names no language to choose another by"
    elif same_language:
        why = f"{len(same_language)} of its kernels are for {language}"
    else:
        why = f"none of its kernels is for {language}"
    problem = (
        f"the notebook's kernel '{name}' is not in conda environment '{environment}', and {why}; "
        f"the environment's kernels: {listing(kernels)}. Set kernel= to the one to run the notebook with"
    )
    return None, problem


def main(argv):
    """Check the kernel if asked to, then run papermill with what follows the ``--``."""
    check, papermill_args = ([], argv[1:]) if argv[0] == "--" else (argv[:5], argv[6:])
    if check and not is_found(check[0]):
        name, language, environment, report, whose = check
        kernels = environment_kernels()
        if whose == "task":
            kernel, problem = None, missing_from_task(kernels, name, environment)
        else:
            kernel, problem = choose(kernels, name, language, environment)
        if kernel is None:
            with open(report, "w", encoding="utf-8") as out:
                out.write(problem)
            return NO_KERNEL
        print(
            f"The notebook's kernel '{name}' is not in conda environment '{environment}': running it with "
            f"'{kernel}', the environment's only {language} kernel (set kernel= to run another)",
            flush=True,
        )
        papermill_args = ["--kernel", kernel, *papermill_args]
    from papermill.cli import papermill

    sys.argv = ["papermill", *papermill_args]
    return papermill.main(args=papermill_args, prog_name="papermill")


if __name__ == "__main__":
    # Python put this file's folder first on sys.path: its modules (progress.py, request.py, ...)
    # must not shadow the environment's own, which main() imports.
    if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
        del sys.path[0]
    sys.exit(main(sys.argv[1:]))
