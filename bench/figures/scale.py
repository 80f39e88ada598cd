"""Figure 13: memory and time of images, split, prepare and one training epoch as the photos grow, and of
training runs side by side, in a temporary project whose stages come from a checkout (--scale-project: another
one, to compare).

Each stage runs as `python <checkout>/stages/<stage>.py` under a small launcher, which reports the largest
peak RSS of its children (getrusage; started straight from this process, a child would report this
process's peak, which Linux carries over through exec). Pages mapped from a file count in RSS but belong to
the page cache, shared and dropped when memory runs short; so the processes are also sampled every 50 ms for
their anonymous memory (RssAnon: their own) and their proportional set size (Pss: shared pages split between
the processes that map them), summed over each command's processes.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import yaml
from harness import BENCH_LR, NUM_CLASSES, median_ratio, quiet_fit, timed
from PIL import Image

from figures.duplicates import write_photos
from foodcnn import params as study_params
from foodcnn.data.sample import CLASS_NAMES, draw_image
from foodcnn.data.tensors import ImageSet
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings

LAUNCHER = """
import resource, subprocess, sys
subprocess.run([sys.executable, *sys.argv[1:]], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
SAMPLE_SECONDS = 0.05
BURSTS_PER_CLASS = 3
LEARNING_RATES = (0.1, 0.01, 0.001, 0.0005)  # one per run side by side, so that each writes its own files
PHOTOS = "photos"  # the generated photos, in the project


@dataclass(frozen=True)
class Usage:
    wall: float  # seconds
    rss: float  # MiB, the largest peak RSS of any one process (getrusage)
    anon: float  # MiB, the peak of the processes' anonymous memory, summed
    pss: float  # MiB, the peak of their proportional set sizes, summed


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid for child in map(int, children) for pid in (child, *_descendants(child))]


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> Usage:
    """Run the commands side by side (python arguments, each under the launcher) until all have finished."""
    start = time.perf_counter()
    launchers = [
        subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *command], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    anon = pss = 0
    while any(launcher.poll() is None for launcher in launchers):
        pids = [pid for launcher in launchers for pid in _descendants(launcher.pid)]
        anon = max(anon, sum(_kib(f"/proc/{pid}/status", "RssAnon:") for pid in pids))
        pss = max(pss, sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids))
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - start
    peaks = []
    for launcher in launchers:
        output = launcher.communicate()[0]
        if launcher.returncode:
            raise RuntimeError(f"{commands} failed in {cwd}")
        peaks.append(int(output.split()[-1]))
    return Usage(wall, max(peaks) / 1024, anon / 1024, pss / 1024)


def write_bursts(root: Path, count: int, size: int) -> None:
    """count JPEGs in 11 class folders, each class three bursts: one drawing with a few levels of noise per
    photo, so that every photo is a near-duplicate of every other of its burst (the split's worst case) and
    each class keeps three photos, enough to split."""
    generator = np.random.default_rng(0)
    drawings = [
        np.asarray(
            draw_image(index % len(CLASS_NAMES), size, random.Random(index), np.random.default_rng(index)), np.int16
        )
        for index in range(BURSTS_PER_CLASS * len(CLASS_NAMES))
    ]
    for number in range(count):
        drawing = drawings[number % len(drawings)]
        pixels = (drawing + generator.integers(-2, 3, drawing.shape)).clip(0, 255)
        path = root / CLASS_NAMES[number % len(CLASS_NAMES)] / f"{number:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8)).save(path, quality=90)


def make_project(folder: Path, checkout: Path, photos: int, photo_size: int, image_size: int, bursts: bool) -> None:
    """params.yaml of the checkout sized as asked (one epoch, one thread per run) and the photos as the folder
    source, for the images stage to copy."""
    values = yaml.safe_load((checkout / "params.yaml").read_text())
    values["threads"] = 1
    values["data"]["source"] = "folder"
    values["data"]["folder"]["path"] = PHOTOS
    values["data"]["image_size"] = image_size
    values["train"]["epochs"] = 1
    (folder / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    (write_bursts if bursts else write_photos)(folder / PHOTOS, photos, photo_size)


def train_command(checkout: Path, lr: float) -> list[str]:
    return [
        str(checkout / "stages/train.py"),
        "--model",
        "basic",
        "--lr",
        str(lr),
        "--batch-size",
        "32",
        "--seed",
        "42",
    ]


def read_split(path: Path, mapped: bool) -> ImageSet:
    data = torch.load(path, mmap=mapped, weights_only=True)
    return ImageSet(data["images"], data["labels"], tuple(data["classes"]), tuple(data["paths"]))


def epoch_times(folder: Path, augment: study_params.AugmentParams, repeats: int) -> list[tuple[float, float]]:
    """One epoch of basic in this process on the prepared splits mapped and read into memory, back to back:
    (mapped, in memory) seconds per repeat."""
    cpu = torch.device("cpu")
    pairs = []
    for index in range(repeats + 1):
        times = []
        for mapped in (True, False):
            train, val = (read_split(folder / f"data/prepared/{split}.pt", mapped) for split in ("train", "val"))
            torch.manual_seed(0)
            model = build_model(ModelSpec("basic", NUM_CLASSES))
            settings = FitSettings(1, 32, BENCH_LR, 0, augment)
            times.append(timed(partial(quiet_fit, model, train, val, settings, cpu), cpu))
        if index:  # the first pair warms up the libraries' kernels
            pairs.append((times[0], times[1]))
    return pairs


def show(label: str, usage: Usage) -> None:
    print(
        f"   {label:<22} {usage.wall:8.1f} s  peak RSS {usage.rss:8.0f} MiB  anonymous {usage.anon:8.0f} MiB  "
        f"PSS {usage.pss:8.0f} MiB"
    )


def measure(
    checkout: Path,
    counts: list[int],
    photo_size: int,
    image_size: int,
    side_by_side: list[int],
    bursts: bool,
    repeats: int,
    keep: bool,
) -> None:
    """Each size in counts: images, split, prepare, one epoch of each number of runs side by side, and (with
    training) one epoch in this process on the mapped splits against the splits in memory."""
    kind = f"near-duplicate bursts ({BURSTS_PER_CLASS} per class)" if bursts else "distinct photos"
    print(
        f"\n13. scale: {checkout}'s stages on {kind}, JPEGs of {photo_size} px prepared at {image_size} px, "
        f"split.near_duplicates as in params.yaml, one epoch of basic (batch 32, 1 thread per run)"
    )
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}  # that checkout's foodcnn, not this one's
    for count in counts:
        folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-scale-"))
        try:
            start = time.perf_counter()
            make_project(folder, checkout, count, photo_size, image_size, bursts)
            print(f"  {count} photos (written in {time.perf_counter() - start:.0f} s)")
            show("images", run_measured([[str(checkout / "stages/images.py")]], folder, env))
            show("split", run_measured([[str(checkout / "stages/split.py")]], folder, env))
            if bursts:
                continue  # every class but a few photos left out: nothing to train
            show("prepare", run_measured([[str(checkout / "stages/prepare.py")]], folder, env))
            prepared = sum(path.stat().st_size for path in (folder / "data/prepared").iterdir()) / 1024**2
            print(f"   prepared files         {prepared:8.0f} MiB")
            for runs in side_by_side:
                commands = [train_command(checkout, lr) for lr in LEARNING_RATES[:runs]]
                show(f"epoch, {runs} side by side", run_measured(commands, folder, env))
            if side_by_side and repeats:
                settings = study_params.load(folder / "params.yaml")
                pairs = epoch_times(folder, settings.train.augment, repeats)
                print(
                    f"   epoch in this process, mapped {np.median([m for m, _ in pairs]):.1f} s, in memory "
                    f"{np.median([r for _, r in pairs]):.1f} s, ratio {median_ratio(pairs):.3f} "
                    f"(median of {repeats})"
                )
        finally:
            if keep:
                print(f"   kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
