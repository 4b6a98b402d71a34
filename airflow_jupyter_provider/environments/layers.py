"""``requirements`` layered on a task's environment: a virtual environment built once per worker.

The layer is made on the base environment's Python and sees the base's packages; the
requirements are installed into it (``installers.py``: uv or pip), and the notebook runs with
the layer's Python as its kernel. It lives in the environment cache (``cache.py``) under a key
made of what it is built from: the base's identity (a named or folder environment's prefix, a
packed one's archive sha256), the normalized requirement lines, the package index options and
the base's Python version; so a second task with the same requirements builds nothing, and a
changed one builds its own layer beside.

The base's packages are seen twice over: through ``--system-site-packages``, which is the
base's own site-packages when the base is a conda environment, and through a ``.pth`` file
that adds the base's site-packages folders, which holds also when the base's Python is itself a
virtual environment's (whose "system" is the Python it was made from).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from logging import Logger
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_jupyter_provider.environments.installers import Installer, PackageIndex, find_installer
from airflow_jupyter_provider.environments.kinds import Activation, Environment, EnvironmentFacts
from airflow_jupyter_provider.exceptions import CondaEnvError, JupyterCondaError
from airflow_jupyter_provider.masking import mask_secrets, masked
from airflow_jupyter_provider.notebook_env import notebook_env

if TYPE_CHECKING:
    from airflow_jupyter_provider.config import WorkerSettings

#: Printed by the base's Python: what the layer is built on.
_PROBE = (
    "import json, sys, sysconfig; paths = sysconfig.get_paths(); print(json.dumps({"
    "'prefix': sys.prefix, 'version': sys.version, 'lib': 'python%d.%d' % sys.version_info[:2], "
    "'site': sorted({paths['purelib'], paths['platlib']})}))"
)
#: The probe, run in a conda environment: activation values are arguments, never script text.
_IN_CONDA = (
    'source "$1" >/dev/null || exit 90; conda activate "$2" >/dev/null || exit 91; '
    'exec "$CONDA_PREFIX/bin/python" -I -c "$3"'
)
#: How much of a failed installer's output the task's error carries (all of it is in the log).
_ERROR_LINES = 12
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class BasePython:
    """The base environment's Python, as it reports itself."""

    prefix: str
    version: str
    #: ``python3.X``, the folder of the layer's site-packages under ``lib/``
    lib: str
    site_packages: tuple[str, ...]

    @property
    def executable(self) -> str:
        return os.path.join(self.prefix, "bin", "python")

    @classmethod
    def of(cls, activation: Activation, env: Mapping[str, str]) -> BasePython:
        """Ask the activated environment's Python (one process; through ``conda activate`` for a
        named or folder environment)."""
        if activation.conda_sh is None:
            argv = [os.path.join(activation.target, "bin", "python"), "-I", "-c", _PROBE]
        else:
            argv = ["bash", "-c", _IN_CONDA, "bash", activation.conda_sh, activation.target, _PROBE]
        what = (
            f"requirements: the Python of the environment '{activation.target}' could not be asked what it is"
        )
        try:
            done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
        except OSError as err:
            raise CondaEnvError(f"{what}: {err}") from err
        try:
            facts = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise CondaEnvError(f"{what}: {(done.stderr or done.stdout).strip()[-1000:]}") from None
        return cls(facts["prefix"], facts["version"], facts["lib"], tuple(facts["site"]))


def layer_key(identity: str, base: BasePython, requirements: Sequence[str], index: PackageIndex) -> str:
    """The sha256 of what a layer is built from; the index's URLs are in it only hashed."""
    made_of = {
        "base": identity,
        "python": base.version,
        "requirements": list(requirements),
        "index": [index.index_url, index.extra_index_urls, index.find_links, index.trusted_hosts],
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class RequirementsLayer:
    """``base`` with ``requirements`` installed over it, in a layer of the environment cache."""

    base: Environment
    requirements: tuple[str, ...]

    @contextmanager
    def activate(self, settings: WorkerSettings, log: Logger) -> Iterator[Activation]:
        with ExitStack() as in_use:
            activation = in_use.enter_context(self.base.activate(settings, log))
            yield replace(activation, layer=str(self._prepare(in_use, activation, settings, log)))

    def facts(self, activation: Activation | None = None) -> EnvironmentFacts:
        return replace(self.base.facts(activation), requirements=self.requirements)

    def _prepare(
        self, in_use: ExitStack, activation: Activation, settings: WorkerSettings, log: Logger
    ) -> Path:
        """The layer's prefix, built if needed, held in use on ``in_use``."""
        from airflow_jupyter_provider.environments.cache import EnvironmentCache

        installer = find_installer(settings.requirements_installer())
        index = PackageIndex.from_extra(settings.extra or {})
        mask_secrets(index.passwords())
        env = notebook_env(os.environ, {}, settings.notebook_env_keep())
        base = BasePython.of(activation, env)
        key = layer_key(activation.sha256 or base.prefix, base, self.requirements, index)
        builder = _Build(installer, base, self.requirements, index, env, log)
        cache = EnvironmentCache.of(settings.env_cache())
        name = f"Requirements layer over {base.prefix}"
        try:
            return in_use.enter_context(cache.layer(key, builder, name=name, log=log))
        except JupyterCondaError:
            raise
        except Exception as err:
            raise CondaEnvError(
                f"requirements: building the layer failed with {type(err).__name__}: {err}. This is a fault "
                "of the worker's setup or of airflow-jupyter-provider, and a retry would fail the same way"
            ) from err


@dataclass(frozen=True)
class _Build:
    """Builds a layer at the prefix it is called with: create, see the base, install."""

    installer: Installer
    base: BasePython
    requirements: tuple[str, ...]
    index: PackageIndex
    env: Mapping[str, str]
    log: Logger

    def __call__(self, prefix: Path) -> None:
        requirements = ", ".join(self.requirements)
        self.log.info(
            "Requirements layer: installing %s with %s on %s",
            requirements,
            self.installer.name,
            self.base.prefix,
        )
        self._run(self.installer.create(self.base.executable, prefix))
        site_packages = prefix / "lib" / self.base.lib / "site-packages"
        lines = "".join(f"import site; site.addsitedir({folder!r})\n" for folder in self.base.site_packages)
        (site_packages / "_jupyter_conda_base.pth").write_text(lines)
        self._run(self.installer.install(prefix, self.requirements, self.index))

    def _run(self, argv: list[str]) -> None:
        """Run an installer step, each line of its output logged masked as it comes.

        :raises CondaEnvError: it failed; retryable when the index did not answer.
        """
        output = []
        with subprocess.Popen(
            argv,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_task,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(masked(line.rstrip()))
                self.log.info("%s: %s", self.installer.name, output[-1])
        if process.returncode == 0:
            return
        text = "\n".join(output)
        retryable = self.installer.index_unreachable(text)
        why = "the package index did not answer" if retryable else "the requirements cannot be installed"
        raise CondaEnvError(
            f"requirements: {why} ({self.installer.name} exit status {process.returncode}, requirements "
            f"{', '.join(self.requirements)}):\n" + "\n".join(output[-_ERROR_LINES:]),
            retryable=retryable,
        )


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _die_with_task() -> None:
    """In the installer's process before it starts: the kernel kills it when the task process
    dies, so a killed task leaves no installer writing into a layer the next one rebuilds."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
