"""Figure 6: `foodcnn diff` of two revisions at Food-11 scale (by default 2,750 test images x 6 roles x 3
seeds, 1,000 resamples): the statistics alone, and the whole command from a new process."""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from harness import NUM_CLASSES, commit, timed

from foodcnn.data.sample import CLASS_NAMES
from foodcnn.diff.compare import compare
from foodcnn.diff.revisions import RoleRun, Side
from foodcnn.io import write_table
from foodcnn.layout import PREDICTIONS_DIR


def diff_side(revision: str | None, images: int, seeds: int, accuracy: float, seed: int) -> Side:
    """Six roles' predictions on the same test images, right for about `accuracy` of them, per seed."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(images) % NUM_CLASSES
    paths = tuple(f"{CLASS_NAMES[label]}/{index:05d}.jpg" for index, label in enumerate(labels.tolist()))
    actual = tuple(CLASS_NAMES[label] for label in labels.tolist())
    roles = {}
    for role in ("basic", "basic_dropout", "residual", "residual_dropout", "mobilenet_A", "mobilenet_B"):
        predicted = {}
        for run_seed in range(42, 42 + seeds):
            wrong = (labels + torch.randint(1, NUM_CLASSES, (images,), generator=generator)) % NUM_CLASSES
            chosen = torch.where(torch.rand(images, generator=generator) < accuracy, labels, wrong)
            predicted[run_seed] = tuple(CLASS_NAMES[label] for label in chosen.tolist())
        roles[role] = RoleRun(paths, actual, predicted)
    return Side(revision or "workspace", revision, roles)


def write_side(project: Path, side: Side) -> None:
    for role, run in side.roles.items():
        write_table(
            project / PREDICTIONS_DIR / f"{role}.csv",
            [
                {"seed": seed, "image": index, "path": path, "actual": actual, "predicted": guess, "confidence": 0.5}
                for seed, predicted in run.predicted.items()
                for index, (path, actual, guess) in enumerate(zip(run.paths, run.actual, predicted, strict=True))
            ],
        )


def two_revisions(project: Path, a: Side, b: Side) -> None:
    """A git and DVC repository whose last two commits hold a's and b's predictions."""
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True)
    for side in (a, b):
        write_side(project, side)
        commit(project, side.name)


def measure(repeats: int, images: int, seeds: int, resamples: int) -> None:
    """`foodcnn diff` of two revisions, its statistics in this process and the whole command."""
    a, b = diff_side("a", images, seeds, 0.67, seed=0), diff_side("b", images, seeds, 0.70, seed=1)
    statistics_seconds = [timed(lambda: compare(a, b, resamples), torch.device("cpu")) for _ in range(repeats)]
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        two_revisions(project, a, b)
        command = [sys.executable, "-m", "foodcnn", "diff", "HEAD~1", "HEAD", "--resamples", str(resamples)]
        command_seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(command, cwd=project, check=True, stdout=subprocess.DEVNULL)
            command_seconds.append(time.perf_counter() - start)
    print(
        f"\n6. diff: {images} test images x 6 roles x {seeds} seeds, {resamples} resamples: statistics "
        f"{statistics.median(statistics_seconds):.2f} s, `foodcnn diff HEAD~1 HEAD` from a new process "
        f"{statistics.median(command_seconds):.2f} s (medians of {repeats}; target < 3 s)"
    )
