"""Running the notebook's process tree on the worker: start, stream, stop."""
