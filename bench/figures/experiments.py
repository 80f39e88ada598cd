"""Figure 16: experiments on the default study, `foodcnn exp run` against DVC's own paths, back to back.

Each row starts from its own copy of the project at its committed results, with the outputs checked out of a
copy of this project's DVC cache without its run-cache, so that every stage an experiment changes trains in
every row. The dropout retrains' `lr` goes from `auto` to fixed values: 17 stages re-run per experiment.

a. one experiment, -S lr=0.01: `dvc exp run`, then `foodcnn exp run`
b. a sweep of three, -S lr=0.001,0.01,0.1: DVC's queue (`dvc exp run --queue`, then `dvc exp run --run-all
   -j 2`, which waits as `dvc queue start -j 2` does not), then `foodcnn exp run`; the three `dvc exp run`
   one after another are estimated as three times row a's
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import REPO, commit
from study import study_environment

ONE = "lr=0.01"
SWEEP = "lr=0.001,0.01,0.1"
COMMAND_TIME = re.compile(r"(?:Stage '[^']+' took|: \S+ ran in) ([\d.]+) s$")


@contextmanager
def studied_copy(keep: bool) -> Iterator[Path]:
    """A copy of the project at its committed results, outputs checked out of a run-cache-less cache copy."""
    from tests.project import copy_project

    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-exp-"))
    try:
        project = copy_project(folder / "project", {})
        commit(project, "bench")
        # Hard links: DVC never writes a cache file in place, and a copy of 0.5 GB would be timed by the disk.
        shutil.copytree(REPO / ".dvc" / "cache" / "files", folder / "cache" / "files", copy_function=os.link)
        dvc(project, "cache", "dir", "--local", str(folder / "cache"))
        dvc(project, "checkout", "--quiet")
        yield project
    finally:
        if keep:
            print(f"   kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def dvc(project: Path, *arguments: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *arguments],
        cwd=project,
        env=study_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def timed(project: Path, *commands: tuple[str, ...]) -> tuple[float, float]:
    """Wall time of the commands one after the other, and the sum of the stage command times they report
    (foodcnn's; DVC reports none)."""
    began, busy = time.perf_counter(), 0.0
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=project,
            env=study_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed in {project}:\n{result.stdout[-2000:]}")
        busy += sum(float(found[1]) for line in result.stdout.splitlines() if (found := COMMAND_TIME.search(line)))
    return time.perf_counter() - began, busy


def trees(project: Path) -> dict[str, str]:
    """Each saved experiment's lr and its commit's git tree: the same tree is the same files."""
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/exps"], cwd=project, capture_output=True, text=True
    ).stdout.split()
    found = {}
    for ref in refs:
        if ref.startswith("refs/exps/") and ref.count("/") == 4:  # refs/exps/ab/cdef.../NAME
            params = subprocess.run(["git", "show", f"{ref}:params.yaml"], cwd=project, capture_output=True, text=True)
            lr = re.search(r"^lr: (\S+)", params.stdout, re.MULTILINE)
            tree = subprocess.run(["git", "log", "-1", "--format=%T", ref], cwd=project, capture_output=True, text=True)
            found[lr[1] if lr else ref] = tree.stdout.strip()
    return found


def row(label: str, keep: bool, *commands: tuple[str, ...]) -> tuple[float, dict[str, str]]:
    with studied_copy(keep) as project:
        load = os.getloadavg()[0]
        wall, busy = timed(project, *commands)
        saved = trees(project)
    spent = f"{busy:6.0f} s of stage commands ({busy / wall:.2f} at once)" if busy else "(one stage at a time)"
    print(f"   {label:58} {wall:7.1f} s   {spent}   load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    return wall, saved


def measure(keep: bool) -> None:
    cores = os.cpu_count() or 1
    print(f"\n16a. one experiment, -S {ONE}, back to back")
    dvc_one, dvc_trees = row(f"dvc exp run -S {ONE}", keep, ("dvc", "exp", "run", "-S", ONE))
    ours_one, our_trees = row(f"foodcnn exp run -S {ONE}", keep, ("foodcnn", "exp", "run", "-S", ONE))
    print(f"   dvc exp run / foodcnn exp run: {dvc_one / ours_one:.2f}")
    print(f"\n16b. a sweep of three, -S {SWEEP}, back to back")
    queue, queue_trees = row(
        "dvc exp run --queue, then dvc exp run --run-all -j 2",
        keep,
        ("dvc", "exp", "run", "--queue", "-S", SWEEP),
        ("dvc", "exp", "run", "--run-all", "-j", "2"),
    )
    sweep, sweep_trees = row(f"foodcnn exp run -S {SWEEP}", keep, ("foodcnn", "exp", "run", "-S", SWEEP))
    print(f"   three dvc exp run one after another, estimated: {3 * dvc_one:7.1f} s (3 x 16a's)")
    print(f"   queue / sweep: {queue / sweep:.2f} (goal >= 2)")
    print(f"   sweep / (the three one after another / {cores} cores): {sweep / (3 * dvc_one / cores):.2f} (goal <= 1)")
    same = all(tree == sweep_trees.get(lr) for lr, tree in queue_trees.items())
    same = same and dvc_trees == {lr: our_trees.get(lr) for lr in dvc_trees}
    print(f"   every experiment's files the same whichever command made it: {same and len(sweep_trees) == 3}")
