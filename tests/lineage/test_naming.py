"""Notebooks as OpenLineage datasets: the namespace and name a lineage consumer joins on."""

from __future__ import annotations

import pytest

from airflow_jupyter_provider.lineage.naming import dataset_name, public_location


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/data/notebooks/in.ipynb", ("file", "/data/notebooks/in.ipynb")),
        ("file:///data/my%20notebooks/in.ipynb", ("file", "/data/my notebooks/in.ipynb")),
        (
            "s3://Reports-Bucket/runs/2026-12-03/out.ipynb",
            ("s3://Reports-Bucket", "runs/2026-12-03/out.ipynb"),
        ),
        ("gs://bucket/in.ipynb", ("gs://bucket", "in.ipynb")),
        (
            "abfss://container@account.dfs.core.windows.net/nb/in.ipynb",
            ("abfss://container@account.dfs.core.windows.net", "nb/in.ipynb"),
        ),
        ("https://user:secret@host:8443/nb/in.ipynb?token=abc#cell", ("https://host:8443", "nb/in.ipynb")),
    ],
)
def test_each_location_gets_the_namespace_and_name_of_the_openlineage_conventions(
    location: str, expected: tuple[str, str]
) -> None:
    assert dataset_name(location) == expected


def test_credentials_query_and_fragment_never_reach_lineage() -> None:
    assert public_location("https://user:secret@host/envs/env.tar.gz?X-Signature=abc#x") == (
        "https://host/envs/env.tar.gz"
    )
    assert public_location("/opt/envs/env.tar.gz") == "/opt/envs/env.tar.gz"
