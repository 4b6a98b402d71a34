"""conda-unpack's work done in the worker's process, for the script conda-pack generates.

Why: conda-pack writes ``bin/conda-unpack`` as a Python script: its ``prefixes.py``, then
``_prefix_records = [``, one ``repr((path, placeholder, mode))`` a line, ``]``, then a main
that calls ``update_prefix`` for each record. Run as a program, it first compiles its list
(about 1 MB, 0.2 s, for an environment made with pip, where every text file is listed), then
opens and reads every listed file, although only a few hold the placeholder: for the 149 MB
benchmark environment, a third of a cold activation on tmpfs.

conda-pack is a dependency of this provider, so the worker has the same ``update_prefix``.
Here the records are read from the script's text as literals (never executed), every path
is checked to stay inside the environment, files that do not hold their placeholder are
skipped after one read (``update_prefix`` would leave them unchanged), and conda-pack's own
``update_prefix`` rewrites the others, as the script would. A script that is not recognisably
conda-pack's, or a record line that is not such a literal, is left to run as before
(``archive.conda_unpack``).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import NamedTuple

from airflow_jupyter_provider.exceptions import ArchiveError

#: What the parts of conda-pack's script around the records look like (every version since 0.3).
_SHEBANG = re.compile(r"#!.*python")
_UPDATE_PREFIX_DEFINED = "\ndef update_prefix(path, new_prefix, placeholder, mode='text'):\n"
_RECORDS_START = "\n_prefix_records = [\n"
_RECORDS_END = "\n]\n"
_MAIN_LOOP = "for path, placeholder, mode in _prefix_records:"
#: A record as ``repr`` writes it when neither string needs an escape or a double quote.
_PLAIN_RECORD = re.compile(r"\('([^'\\\n]*)', '([^'\\\n]*)', '(text|binary)'\)")
_MODES = ("text", "binary")


class PrefixRecord(NamedTuple):
    """One file conda-unpack fixes: its path in the environment, the prefix it holds, how to replace."""

    path: str
    placeholder: str
    mode: str


def read_records(script: Path) -> list[PrefixRecord] | None:
    """The records of ``script`` if it is conda-pack's generated conda-unpack, else None."""
    try:
        text = script.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    start = text.find(_RECORDS_START)
    end = text.find(_RECORDS_END, start + len(_RECORDS_START))
    if (
        start < 0
        or end < 0
        or not _SHEBANG.match(text)
        or _UPDATE_PREFIX_DEFINED not in text[:start]
        or _MAIN_LOOP not in text[end:]
    ):
        return None
    lines = text[start + len(_RECORDS_START) : end].split("\n")
    if lines == [""]:
        return []
    return _parse(lines)


def _parse(lines: list[str]) -> list[PrefixRecord] | None:
    """Each line is one record followed by a comma (the last one may lack it); None if one is not."""
    records = []
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if line.endswith(","):
            line = line[:-1]
        elif number != last:
            return None
        plain = _PLAIN_RECORD.fullmatch(line)
        record = PrefixRecord(*plain.groups()) if plain else _literal_record(line)
        if record is None:
            return None
        records.append(record)
    return records


def _literal_record(line: str) -> PrefixRecord | None:
    """A record whose strings ``repr`` escaped or double-quoted, read as a literal (not run)."""
    try:
        value = ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if (
        isinstance(value, tuple)
        and len(value) == 3
        and all(isinstance(part, str) for part in value)
        and value[2] in _MODES
    ):
        return PrefixRecord(*value)
    return None


def rewrite(prefix: Path, records: list[PrefixRecord], location: str) -> None:
    """Rewrite each record's placeholder to ``prefix`` in the files that hold it, as the script would.

    :raises ArchiveError: a record's path is absolute or leads outside the environment
        (checked for every record before any file is changed).
    :raises OSError: a listed file cannot be read or written.
    :raises ValueError: conda-pack's replacement failed (``negative padding``: ``prefix`` is
        longer than a binary file's placeholder); the message starts with the record's path.
    """
    from conda_pack.prefixes import update_prefix

    new_prefix = os.path.abspath(prefix)
    for record in records:
        _refuse_outside(record.path, location)
    real_prefix = os.path.realpath(new_prefix)
    for record in records:
        path = os.path.join(new_prefix, record.path)
        if not _holds(path, record.placeholder.encode("utf-8")):
            continue
        if not os.path.realpath(path).startswith(real_prefix + os.sep):
            raise ArchiveError(
                f"'{location}': conda-unpack's record {record.path!r} leads outside the environment"
            )
        try:
            update_prefix(path, new_prefix, record.placeholder, mode=record.mode)
        except ValueError as err:
            raise ValueError(f"{record.path}: {err}") from err


def _refuse_outside(path: str, location: str) -> None:
    if path.startswith("/"):
        raise ArchiveError(f"'{location}': conda-unpack's record {path!r} has an absolute path")
    if ".." in path.split("/"):
        raise ArchiveError(f"'{location}': conda-unpack's record {path!r} has a '..' component")


def _holds(path: str, needle: bytes) -> bool:
    """Whether the file at ``path`` contains ``needle``: one unbuffered read of the whole file."""
    with open(path, "rb", buffering=0) as file:
        return needle in file.read()
