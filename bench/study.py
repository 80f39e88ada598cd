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
GENERATED = ("data/raw", "data/prepared", "models", "metrics", "plots", "reports", "dvc.lock")


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


def timed_repro(project: Path, environment: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall time of `dvc repro`, and the seconds from each 'Running stage' line to the next line of that kind."""
    command = [sys.executable, "-m", "dvc", "repro"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    starts: list[tuple[str, float]] = []
    for line in process.stdout:
        found = re.search(r"Running stage '([^']+)'", line)
        if found:
            starts.append((found.group(1), time.perf_counter()))
    if process.wait() != 0:
        raise SystemExit(f"dvc repro failed in {project}")
    total = time.perf_counter() - start
    ends = [t for _, t in starts[1:]] + [start + total]
    return total, {name: end - began for (name, began), end in zip(starts, ends)}
