"""Unpacking a packed environment: the provider's two paths against the matching command (issue 14).

Builds (once, in --root) the conda-pack ``.tar.gz`` of a conda-layout environment of at least
140 MB (the one ``packed_env_cache.py`` builds: papermill, ipykernel and a few small
packages) and, from the same files, ``.tar``, ``.tar.bz2``, ``.tar.xz``, ``.tar.zst`` and
``.zip``. Then, on each file system asked for (tmpfs ``/dev/shm`` and the disk of --root by
default), it times, interleaved in one run:

- the command: ``tar -xzf``, ``tar -xf``, ``tar -xjf``, ``tar -xJf``, ``tar --zstd -xf``,
  ``unzip -q`` (a format whose command is missing is skipped);
- the libarchive path (``libarchive_unpack.unpack``, what ``unpack()`` does where libarchive
  can be loaded);
- the standard-library path (tarfile with the ``data`` filter, zipfile; the fallback).

Each round runs every unpacker once into a fresh folder; the order flips every round; the
folder is removed (and, on disk, ``sync`` run) outside the timing. The figure is the median
of the rounds, and each path's ratio to the command's median of the same run.

With ``--big`` the environment is ``big_env.py``'s (at least 0.9 GB in 25,000 files, its
archives made by conda-pack in every format) instead, and on tmpfs it also times each format's
cold activation through ``EnvironmentCache``, interleaved, with where its time goes as the
cache's log gives it (fetch and hash, unpack, conda-unpack; the rest is in no logged step).

For the ``.tar.gz`` it also times, interleaved likewise (the order rotating), conda-unpack in
a freshly unpacked prefix, the provider's way (``archive.conda_unpack``: conda-pack's records
done in this process) and as the archive's own ``bin/conda-unpack`` script, and a cold
activation through ``EnvironmentCache`` (copy and hash the archive, unpack, conda-unpack),
and reports each conda-unpack's share of a cold activation.

    python -m benchmarks.unpack_speed [--root DIR] [--big] [--runs 3] [--filesystems tmpfs,disk]
        [--formats gz,tar,bz2,xz,zst,zip] [--disk-formats gz] [--no-stdlib] [--no-conda-unpack]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from airflow_jupyter_provider.environments import archive as archive_module
from airflow_jupyter_provider.environments import libarchive_unpack
from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import LocalArchive
from benchmarks.common import summary_ms, timed, write_results
from benchmarks.packed_env_cache import measured_environment, tree_size

QUIET = logging.Logger("benchmark", logging.WARNING)
TMPFS = Path("/dev/shm")

#: format -> (file name, command that unpacks it into the folder given as the last argument)
FORMATS: dict[str, tuple[str, list[str]]] = {
    "gz": ("env.tar.gz", ["tar", "-xzf", "{archive}", "-C", "{target}"]),
    "tar": ("env.tar", ["tar", "-xf", "{archive}", "-C", "{target}"]),
    "bz2": ("env.tar.bz2", ["tar", "-xjf", "{archive}", "-C", "{target}"]),
    "xz": ("env.tar.xz", ["tar", "-xJf", "{archive}", "-C", "{target}"]),
    "zst": ("env.tar.zst", ["tar", "--zstd", "-xf", "{archive}", "-C", "{target}"]),
    # -o: conda-pack's zip may hold a file twice (its own bin/activate.fish beside the
    # environment's); without it unzip stops to ask
    "zip": ("env.zip", ["unzip", "-qo", "{archive}", "-d", "{target}"]),
}
#: what must be on PATH for a format's command (and to make its archive)
NEEDS = {
    "gz": ["tar"],
    "tar": ["tar"],
    "bz2": ["bzip2"],
    "xz": ["xz"],
    "zst": ["zstd"],
    "zip": ["zip", "unzip"],
}


def make_formats(root: Path, gz: Path, formats: list[str]) -> dict[str, Path]:
    """The archives of ``formats`` with the files of ``gz``, made once in ``root``."""
    made = {}
    tar = root / "env.tar"
    for name in formats:
        if any(shutil.which(tool) is None for tool in NEEDS[name]):
            print(f"skipping .{name}: {' or '.join(NEEDS[name])} is not installed")
            continue
        path = root / FORMATS[name][0]
        if name != "gz" and not path.exists():
            print(f"making {path.name} (once)...")
            if not tar.exists():
                subprocess.run(
                    f"gzip -dc '{gz}' > '{tar}.part' && mv '{tar}.part' '{tar}'", shell=True, check=True
                )
            compress = {"bz2": "bzip2 -c", "xz": "xz -T2 -c", "zst": "zstd -q -T2 -c"}
            if name in compress:
                subprocess.run(f"{compress[name]} '{tar}' > '{path}.part'", shell=True, check=True)
                os.replace(f"{path}.part", path)
            elif name == "zip":
                with tempfile.TemporaryDirectory(dir=root) as files:
                    subprocess.run(["tar", "-xzf", str(gz), "-C", files], check=True)
                    subprocess.run(
                        ["zip", "-qr", str(path.absolute()) + ".part.zip", "."], cwd=files, check=True
                    )
                os.replace(f"{path}.part.zip", path)
        made[name] = path
    return made


#: big_env.py's suffix of each format
BIG_SUFFIXES = {
    "gz": ".tar.gz",
    "tar": ".tar",
    "bz2": ".tar.bz2",
    "xz": ".tar.xz",
    "zst": ".tar.zst",
    "zip": ".zip",
}


def big_archives(root: Path, formats: list[str]) -> tuple[Path, dict[str, Path]]:
    """big_env.py's environment (made once in ``root``) and its archives of ``formats``."""
    from benchmarks.big_env import big_environment

    prefix, by_suffix = big_environment(root)
    return prefix, {name: by_suffix[BIG_SUFFIXES[name]] for name in formats}


class StepTimes(logging.Handler):
    """The seconds of each step of a cold activation, read from the cache's messages."""

    PATTERNS = {
        "fetch": re.compile(r"fetched .* in ([0-9.]+) s"),
        "unpack": re.compile(r"unpacked into .* in ([0-9.]+) s,"),
        "conda-unpack": re.compile(r"conda-unpack ([0-9.]+) s"),
    }

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.steps: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for step, pattern in self.PATTERNS.items():
            if found := pattern.search(message):
                self.steps[step] = float(found.group(1))


def cold_activations(archives: dict[str, Path], where: Path, runs: int) -> dict[str, dict]:
    """Each archive's cold activation into an empty cache, interleaved (the order rotating), with
    the medians of its logged steps and of what is in none of them."""
    order = list(archives)
    times: dict[str, list[float]] = {name: [] for name in order}
    steps: dict[str, list[dict[str, float]]] = {name: [] for name in order}
    for round_ in range(runs):
        shift = round_ % len(order)
        for name in order[shift:] + order[:shift]:
            target = Path(tempfile.mkdtemp(prefix="cold-", dir=where))
            log = logging.Logger("cold-activation", logging.INFO)
            log.addHandler(handler := StepTimes())
            cache = EnvironmentCache(target)
            started = time.perf_counter()
            with cache.environment(LocalArchive(archives[name]), log=log):
                times[name].append(time.perf_counter() - started)
            steps[name].append(handler.steps)
            shutil.rmtree(target)
    figures = {}
    for name in order:
        figures[name] = summary_ms(times[name])
        for step in StepTimes.PATTERNS:
            figures[name][f"{step}_s"] = statistics.median(run[step] for run in steps[name])
        logged = sum(figures[name][f"{step}_s"] for step in StepTimes.PATTERNS)
        figures[name]["other_s"] = round(figures[name]["median_ms"] / 1000 - logged, 2)
    return figures


def unpackers(name: str, archive: Path, stdlib: bool = True) -> dict[str, Callable[[Path], object]]:
    """The command, the libarchive path and (if ``stdlib``) the standard-library path for one archive."""
    ffi = libarchive_unpack.load()
    if ffi is None:
        raise SystemExit("libarchive cannot be loaded: " + libarchive_unpack.HOW_TO_INSTALL)
    kind = archive_module.archive_format(archive.name)
    command = FORMATS[name][1]

    def run_command(target: Path) -> None:
        argv = [part.format(archive=archive, target=target) for part in command]
        subprocess.run(argv, check=True)

    paths: dict[str, Callable[[Path], object]] = {
        " ".join(command[:-3] if name != "zip" else command[:2]): run_command,
        "libarchive path": lambda target: libarchive_unpack.unpack(ffi, archive, target, kind),
    }
    if stdlib:
        paths["tarfile/zipfile path"] = lambda target: archive_module.UNPACKERS[kind](archive, target)
    return paths


def interleaved_fresh(
    runs: int, actions: dict[str, Callable[[Path], object]], where: Path, sync: bool
) -> dict[str, list[float]]:
    """Seconds of ``runs`` rounds of each action, each into a fresh folder under ``where``.

    The order flips every round; removing the folder (and ``sync`` on disk) is not timed.
    """
    order = list(actions.items())
    times: dict[str, list[float]] = {name: [] for name in actions}
    for round_ in range(runs):
        for name, action in order if round_ % 2 == 0 else reversed(order):
            target = Path(tempfile.mkdtemp(prefix="unpack-", dir=where))
            if sync:
                os.sync()
            times[name].append(timed(lambda action=action, target=target: action(target)))
            shutil.rmtree(target)
    if sync:
        os.sync()
    return times


def conda_unpack_against_cold(gz: Path, where: Path, runs: int, sync: bool) -> dict[str, list[float]]:
    """conda-unpack alone in a fresh prefix, the provider's way (in this process) and as the
    archive's script, and a cold activation, interleaved; the order rotates every round."""
    ffi = libarchive_unpack.load()

    def conda_unpack(target: Path, how: Callable[[Path], object]) -> float:
        libarchive_unpack.unpack(ffi, gz, target, "tar")
        return timed(lambda: how(target))

    actions: dict[str, Callable[[Path], float]] = {
        "conda-unpack (provider)": lambda target: conda_unpack(
            target, lambda prefix: archive_module.conda_unpack(prefix, str(gz))
        ),
        "conda-unpack (script)": lambda target: conda_unpack(
            target, lambda prefix: subprocess.run([str(prefix / "bin" / "conda-unpack")], check=True)
        ),
        "cold activation": lambda target: timed(lambda: _activate(EnvironmentCache(target), gz)),
    }
    order = list(actions)
    times: dict[str, list[float]] = {name: [] for name in actions}
    for round_ in range(runs):
        for name in order[round_ % 3 :] + order[: round_ % 3]:
            target = Path(tempfile.mkdtemp(prefix="cold-", dir=where))
            if sync:
                os.sync()
            times[name].append(actions[name](target))
            shutil.rmtree(target)
    return times


def _activate(cache: EnvironmentCache, gz: Path) -> None:
    with cache.environment(LocalArchive(gz), log=QUIET):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="build the environment and archives here once, reuse them")
    parser.add_argument(
        "--big", action="store_true", help="big_env.py's 0.9 GB environment, cold activations"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--filesystems", default="tmpfs,disk")
    parser.add_argument("--formats", default="gz,tar,bz2,xz,zst,zip")
    parser.add_argument("--disk-formats", default="gz", help="formats also timed on disk")
    parser.add_argument("--no-stdlib", action="store_true", help="leave the tarfile/zipfile path out")
    parser.add_argument(
        "--no-conda-unpack", action="store_true", help="leave conda-unpack and cold activation out"
    )
    args = parser.parse_args()
    figures: dict = {}
    rows: list[tuple[str, str, str, str, str]] = []
    with ExitStack() as stack:
        if args.big:
            root = args.root or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="big-env-")))
            prefix, archives = big_archives(root, args.formats.split(","))
            unpacked, _, files = tree_size(prefix)
            gz = archives.get("gz")
        else:
            prefix, gz, (unpacked, _, files) = measured_environment(args.root, stack)
            root = prefix.parent
            archives = make_formats(root, gz, args.formats.split(","))
        figures["environment"] = {
            "unpacked_bytes": unpacked,
            "files": files,
            "archive_bytes": {name: path.stat().st_size for name, path in archives.items()},
        }
        print(f"environment: {unpacked / 1e6:.1f} MB in {files} files")
        for filesystem in args.filesystems.split(","):
            where = TMPFS if filesystem == "tmpfs" else root
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="work-", dir=where)))
            wanted = (
                archives
                if filesystem == "tmpfs"
                else {name: path for name, path in archives.items() if name in args.disk_formats.split(",")}
            )
            for name, path in wanted.items():
                path.read_bytes()  # in the page cache before the first round, as for every later one
                print(
                    f"{filesystem}: .{name} ({path.stat().st_size / 1e6:.1f} MB), {args.runs} rounds...",
                    flush=True,
                )
                times = interleaved_fresh(
                    args.runs,
                    unpackers(name, path, stdlib=not args.no_stdlib),
                    work,
                    sync=filesystem == "disk",
                )
                medians = {label: statistics.median(samples) for label, samples in times.items()}
                command = next(iter(medians))
                figures[f"{filesystem}/{name}"] = {
                    label: summary_ms(samples) for label, samples in times.items()
                }
                for label, median in medians.items():
                    ratio = median / medians[command]
                    figures[f"{filesystem}/{name}"][label]["over_command"] = round(ratio, 3)
                    rows.append((filesystem, f".{name}", label, f"{median:.2f} s", f"{ratio:.2f}x"))
                    print("   ", *rows[-1][2:], flush=True)
            if args.big and filesystem == "tmpfs":
                print(f"tmpfs: cold activation of each format, {args.runs} rounds...", flush=True)
                cold = cold_activations(archives, work, args.runs)
                figures["tmpfs/cold activation"] = cold
                for name, summary in cold.items():
                    steps = ", ".join(
                        f"{step} {summary[f'{step}_s']:.2f} s" for step in (*StepTimes.PATTERNS, "other")
                    )
                    size = f"{archives[name].stat().st_size / 1e6:.0f} MB"
                    rows.append(
                        (
                            "tmpfs",
                            f".{name}",
                            f"cold activation ({size})",
                            f"{summary['median_ms'] / 1000:.2f} s",
                            steps,
                        )
                    )
                    print("   ", *rows[-1][2:], flush=True)
            if "gz" in wanted and not args.no_conda_unpack:
                print(f"{filesystem}: conda-unpack and cold activation, {args.runs} rounds...", flush=True)
                times = conda_unpack_against_cold(gz, work, args.runs, sync=filesystem == "disk")
                medians = {label: statistics.median(samples) for label, samples in times.items()}
                shares = {
                    way: medians[f"conda-unpack ({way})"] / medians["cold activation"]
                    for way in ("provider", "script")
                }
                figures[f"{filesystem}/conda-unpack"] = {
                    **{label: summary_ms(samples) for label, samples in times.items()},
                    **{f"{way}_share": round(share, 3) for way, share in shares.items()},
                }
                for label, median in medians.items():
                    rows.append((filesystem, ".tar.gz", label, f"{median:.2f} s", ""))
                for way, share in shares.items():
                    label = f"conda-unpack ({way}) / cold activation"
                    rows.append((filesystem, ".tar.gz", label, f"{share:.2f}", ""))
                print("   ", *(" ".join(row[2:4]) for row in rows[-5:]), sep="\n    ", flush=True)
    if not rows:
        raise SystemExit(f"nothing was timed: on disk, only --disk-formats ({args.disk_formats}) are")
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"\nwritten to {write_results('unpack_speed', figures)}")


if __name__ == "__main__":
    main()
