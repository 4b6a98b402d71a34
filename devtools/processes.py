"""Finding the processes a test or a local Airflow started, by a variable in their environment."""

from __future__ import annotations

from pathlib import Path


def marked_processes(variable: str, value: str) -> dict[int, str]:
    """pid -> command line of each running (non-zombie) process whose environment has ``variable=value``."""
    entry = f"{variable}={value}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if entry in environ and cmdline:  # a zombie has an empty command line
            found[int(proc.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found
