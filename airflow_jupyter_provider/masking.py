"""Secrets stay masked wherever a run shows them, through Airflow's own secrets masker.

Airflow registers what it treats as secret when the task reads it: connection passwords and
sensitive extras, Variables with sensitive names. :func:`mask_env` adds the task's ``env``
entries whose names Airflow's masker calls sensitive (``*PASSWORD*``, ``*TOKEN*``,
``*SECRET*``, ...). The hook masks each line of the run's output with :func:`masked` before it
logs it (Airflow's supervisor masks the task log too, but ``airflow dags test`` has none), and
:func:`redact_notebook` masks the same text in the output notebook before the worker saves it,
so the Notebook tab and the HTML show ``***`` too.

Airflow 3.1 to 3.3 keep the masker in ``airflow.sdk._shared.secrets_masker`` (the module
Airflow's own deprecation message points to) and ``mask_secret`` in ``airflow.sdk.log``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def mask_env(env: Mapping[str, str]) -> None:
    """Register the values of ``env`` whose names are sensitive with Airflow's secrets masker,
    here and in the task's supervisor, which writes the task log."""
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key
    from airflow.sdk.log import mask_secret

    for name, value in env.items():
        if should_hide_value_for_key(name):
            mask_secret(value, name)


def mask_secrets(secrets: Iterable[str]) -> None:
    """Register ``secrets`` (credentials in a package index URL, say) with the secrets masker."""
    from airflow.sdk.log import mask_secret

    for secret in secrets:
        mask_secret(secret)


def masked(text: str) -> str:
    """``text`` with every secret the masker knows replaced by ``***``."""
    from airflow.sdk._shared.secrets_masker import redact

    return redact(text)


def redact_notebook(node: Any) -> Any:
    """``node`` (a notebook, or any part of one) with every secret the masker knows replaced by
    ``***`` in each text it holds: sources, outputs, metadata. Containers are changed in place."""
    if isinstance(node, str):
        return masked(node)
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = redact_notebook(value)
    elif isinstance(node, list):
        node[:] = [redact_notebook(value) for value in node]
    return node
