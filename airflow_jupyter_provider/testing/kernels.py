"""The Jupyter kernels a conda environment has, as jupyter_client running inside it finds them.

jupyter_client (papermill's kernel launcher) looks for ``<name>/kernel.json`` in the
``share/jupyter/kernels`` folder of each Jupyter data path, matching names without regard to
case; the environment's own is ``<prefix>/share/jupyter/kernels``. The ``python3`` kernel is
also found without a ``kernel.json`` when ``ipykernel`` is importable, that is, installed in
the environment. Kernels in a user's or the system's Jupyter folders on a worker are not part
of the environment and are not looked at.
"""

from __future__ import annotations

import json
from pathlib import Path

NATIVE_KERNEL = "python3"


def environment_kernels(prefix: Path) -> dict[str, str]:
    """Lower-cased names of the kernels the environment at ``prefix`` provides, each with its
    language ("" when its ``kernel.json`` names none or cannot be read)."""
    specs = (prefix / "share" / "jupyter" / "kernels").glob("*/kernel.json")
    kernels = {spec.parent.name.lower(): _language(spec) for spec in specs if spec.is_file()}
    if any(prefix.glob("lib/python3*/site-packages/ipykernel/__init__.py")):
        kernels.setdefault(NATIVE_KERNEL, "python")
    return kernels


def _language(spec: Path) -> str:
    try:
        return str(json.loads(spec.read_text(encoding="utf-8")).get("language") or "")
    except (OSError, ValueError, AttributeError):
        return ""
