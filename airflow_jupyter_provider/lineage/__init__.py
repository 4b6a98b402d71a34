"""What a run reports to OpenLineage, when the OpenLineage provider is installed.

``naming.py`` names notebooks as OpenLineage datasets and ``report.py`` gathers what the
operator knows of a run, both without OpenLineage; ``facets.py`` turns that into the
provider's ``OperatorLineage``. The operator imports ``facets.py`` only inside the methods the
OpenLineage listener calls on the worker, never when a DAG file is parsed.
"""
