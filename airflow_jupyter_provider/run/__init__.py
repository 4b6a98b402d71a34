"""One notebook run on the worker, below the hook: what is asked for (``request.py``), what
papermill is told (``papermill_args.py``, ``parameters.py``), how it is started
(``launcher.py`` with ``run_notebook.sh`` under ``guardian.py``, ``process.py``), the task log's
cell progress (``progress.py``), and what is made of the executed notebook (``outcome.py``: ``failure.py``,
``render.py``, ``results.py``)."""
