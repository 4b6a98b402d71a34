"""The installers that build a requirements layer: uv where the worker has it, else pip.

Each one creates the layer (a virtual environment on the base environment's Python that sees
its packages) and installs the requirements into it. The package index is the installer's own
configuration (``pip.conf``, ``uv.toml``, ``PIP_*``/``UV_*`` variables) unless the
``jupyter_conda`` connection's extras name one (:class:`PackageIndex`). What the installer
printed tells whether the index did not answer (a retry may help) or the requirements cannot be
resolved (it cannot).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_jupyter_provider.exceptions import SettingError

#: ``[jupyter_conda] requirements_installer`` values.
INSTALLER_CHOICES = ("auto", "uv", "pip")


def _words(name: str, value: Any) -> tuple[str, ...]:
    """An extra that holds one or more values: a list, or text split at commas and spaces."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    if isinstance(value, list | tuple) and all(isinstance(word, str) for word in value):
        return tuple(value)
    raise SettingError(
        f"the jupyter_conda connection's extra {name!r} must be text or a list of text, got {value!r}"
    )


@dataclass(frozen=True)
class PackageIndex:
    """Where a layer's packages come from, when the connection says: its extras ``index_url``,
    ``extra_index_urls``, ``find_links`` and ``trusted_host``. Empty: the installer's own
    configuration decides."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> PackageIndex:
        index_url = _words("index_url", extra.get("index_url"))
        if len(index_url) > 1:
            raise SettingError(
                f"the jupyter_conda connection's extra 'index_url' must be one URL, got {index_url}"
            )
        return cls(
            index_url=index_url[0] if index_url else None,
            extra_index_urls=_words("extra_index_urls", extra.get("extra_index_urls")),
            find_links=_words("find_links", extra.get("find_links")),
            trusted_hosts=_words("trusted_host", extra.get("trusted_host")),
        )

    def passwords(self) -> list[str]:
        """The credentials the index URLs hold, which the log must not show."""
        found = []
        for url in (self.index_url, *self.extra_index_urls, *self.find_links):
            parts = urlsplit(url or "")
            if secret := parts.password or parts.username:  # a token may stand alone as the user
                found.append(secret)
        return found

    def options(self, trusted_host_option: str) -> list[str]:
        """The installer options that name this index (pip and uv share all but one)."""
        argv = ["--index-url", self.index_url] if self.index_url else []
        for option, values in (
            ("--extra-index-url", self.extra_index_urls),
            ("--find-links", self.find_links),
            (trusted_host_option, self.trusted_hosts),
        ):
            for value in values:
                argv += [option, value]
        return argv


@dataclass(frozen=True)
class Installer:
    """One installer: how it creates a layer and installs into it, and the words of its output
    that mean the index did not answer."""

    name: str
    #: the uv program; None for pip, which runs as the layer's ``python -m pip``
    program: str | None
    unreachable: tuple[str, ...]

    def create(self, base_python: str, layer: Path) -> list[str]:
        """A virtual environment at ``layer`` on ``base_python``, seeing its site-packages."""
        if self.program is None:
            return [base_python, "-m", "venv", "--without-pip", "--system-site-packages", str(layer)]
        return [
            self.program, "venv", "--quiet", "--no-python-downloads", "--system-site-packages",
            "--python", base_python, str(layer),
        ]  # fmt: skip

    def install(self, layer: Path, requirements: Sequence[str], index: PackageIndex) -> list[str]:
        """Install ``requirements`` (PEP 508 lines: never options) into ``layer``."""
        python = str(layer / "bin" / "python")
        if self.program is None:
            command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
            command += ["--progress-bar", "off", *index.options("--trusted-host")]
        else:
            command = [
                self.program,
                "pip",
                "install",
                "--python",
                python,
                "--color",
                "never",
                "--no-progress",
            ]
            command += index.options("--allow-insecure-host")
        return [*command, "--", *requirements]

    def index_unreachable(self, output: str) -> bool:
        return any(words in output for words in self.unreachable)


def _uv_program() -> str | None:
    """The uv of the ``uv`` package (the ``[uv]`` extra), else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


#: What each installer prints when an index does not answer (refused, unknown host, timed out,
#: a server error), as against a package or version the index does not have.
_PIP_UNREACHABLE = (
    "Failed to establish a new connection",
    "Connection refused",
    "Max retries exceeded",
    "Read timed out",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Could not fetch URL",
)
_UV_UNREACHABLE = (
    "Failed to fetch",
    "Connection refused",
    "tcp connect error",
    "dns error",
    "operation timed out",
    "Request failed after",
    "error sending request",
)


def find_installer(choice: str) -> Installer:
    """The installer ``choice`` (``[jupyter_conda] requirements_installer``) names on this worker:
    ``auto`` takes uv when it is installed, else pip.

    :raises SettingError: an unknown choice, or uv asked for and not installed.
    """
    choice = choice.strip().lower()
    if choice not in INSTALLER_CHOICES:
        raise SettingError(
            f"[jupyter_conda] requirements_installer = {choice!r} is not one of "
            f"{', '.join(INSTALLER_CHOICES)}"
        )
    uv = _uv_program() if choice != "pip" else None
    if uv is not None:
        return Installer("uv", uv, _UV_UNREACHABLE)
    if choice == "uv":
        raise SettingError(
            "[jupyter_conda] requirements_installer = 'uv', but uv is not installed on this worker: "
            "install airflow-jupyter-provider[uv]"
        )
    return Installer("pip", None, _PIP_UNREACHABLE)
