"""The default study in a fresh copy of the project, for the figures that run it (repro, peer, remote)."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness import REPO, commit

# tests/ is a package at the repository's root: its copy of the project (and, for the remote figure, its
# servers) serve the bench too, so that both measure and test the same thing.
sys.path.insert(0, str(REPO))
# What the study writes: gone from the copy, so that `dvc repro` starts from a clean state.
GENERATED = ("data/raw", "data/prepared", "models", "results", "metrics", "plots", "reports", "dvc.lock")


def study_environment() -> dict[str, str]:
    """This environment with its Python first on PATH, as the stages' `python` must be."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def clean_copy(destination: Path) -> Path:
    """The tests' copy of the project (tests/project.py) without the study's outputs, all of it committed."""
    # Imported here, not at the top: tests/ needs pytest, which the GPU figures' machines lack.
    from tests.project import copy_project

    copy_project(destination, {})
    for generated in GENERATED:
        shutil.rmtree(destination / generated, ignore_errors=True)
        (destination / generated).unlink(missing_ok=True)
    commit(destination, "bench")
    return destination


@contextlib.contextmanager
def fresh_copy(prefix: str, keep: bool) -> Iterator[Path]:
    """A fresh copy of the project in a temporary folder, removed afterwards unless kept (then its path is said)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield clean_copy(folder)
    finally:
        if keep:
            print(f"   kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def timed_repro(
    project: Path,
    environment: dict[str, str],
    command: tuple[str, ...] = ("dvc", "repro"),
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Wall time of `dvc repro` or `foodcnn repro`, and each stage's (start, end) in seconds from the start.

    A stage starts at its 'Running stage' line; it ends at `foodcnn repro`'s 'Stage ... took' line or, from
    `dvc repro`, which runs one stage at a time and prints no such line, at the next stage's start.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for line in process.stdout:
        now = time.perf_counter() - start
        if found := re.search(r"Running stage '([^']+)'", line):
            for name in starts.keys() - ends.keys() if command[0] == "dvc" else ():
                ends[name] = now
            starts[found.group(1)] = now
        elif found := re.search(r"Stage '([^']+)' took", line):
            ends[found.group(1)] = now
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed in {project}")
    total = time.perf_counter() - start
    return total, {name: (began, ends.get(name, total)) for name, began in starts.items()}


def phases(stages: dict[str, tuple[float, float]]) -> dict[str, tuple[int, float, float]]:
    """Per stage group (train, dropout, …): how many ran, the sum of their run times, and the wall time from
    the first one's start to the last one's end (less than the sum when they ran side by side)."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for name, window in stages.items():
        groups.setdefault(name.split("@")[0], []).append(window)
    return {
        group: (
            len(windows),
            sum(end - began for began, end in windows),
            max(end for _, end in windows) - min(began for began, _ in windows),
        )
        for group, windows in groups.items()
    }
