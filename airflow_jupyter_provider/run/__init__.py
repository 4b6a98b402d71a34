"""What papermill is told (parameters, options) and what the worker makes of a run: the task
log's cell progress, the failed cell, the HTML rendering and the results for later tasks."""
