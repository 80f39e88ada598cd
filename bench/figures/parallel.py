"""Figure 4: two training runs one after the other (all threads each) against side by side (threads shared
out), the choice behind `foodcnn repro`'s runs x threads <= cores."""

import os
import statistics
import subprocess
import sys
import time

from harness import BENCH, REPO, median_ratio

# One training run, in a process of its own: the harness comes from this folder.
TRAIN_SCRIPT = """
import sys, torch
from foodcnn.training import FitSettings
torch.set_num_threads({threads})
sys.path.insert(0, {bench!r})
from harness import NUM_CLASSES, quiet_fit, sample_shaped_set
from foodcnn import params
from foodcnn.models import ModelSpec, build_model
settings = params.load({params!r})
torch.manual_seed(0)
quiet_fit(build_model(ModelSpec({model!r}, NUM_CLASSES)), sample_shaped_set(settings, "train", 0),
          sample_shaped_set(settings, "val", 1), FitSettings({epochs}, 32, 0.001, 0, settings.train.augment),
          torch.device("cpu"))
"""


def two_runs(model: str, epochs: int, side_by_side: bool, threads: int) -> float:
    """Seconds of two training processes of `threads` threads each, one after the other or side by side."""
    script = TRAIN_SCRIPT.format(
        bench=str(BENCH), params=str(REPO / "params.yaml"), model=model, epochs=epochs, threads=threads
    )
    start = time.perf_counter()
    if side_by_side:
        processes = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
        if any(p.wait() for p in processes):
            raise SystemExit("a parallel training run failed")
    else:
        for _ in range(2):
            subprocess.run([sys.executable, "-c", script], check=True)
    return time.perf_counter() - start


def measure(repeats: int, epochs: int, model: str) -> None:
    """Two training processes one after the other, then side by side with and without shared threads."""
    cores = os.cpu_count() or 1
    shared = max(1, cores // 2)
    variants = [
        (f"one at a time, {cores} threads each", False, cores),
        (f"side by side, {shared} thread(s) each", True, shared),
        (f"side by side, {cores} threads each", True, cores),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(repeats):
        for name, side_by_side, threads in variants:
            times[name].append(two_runs(model, epochs, side_by_side, threads))
    sequential = times[variants[0][0]]
    print(f"\n4. two {model} runs of {epochs} epochs each as separate processes ({cores} cores, median of {repeats})")
    for name, _, _ in variants:
        ratio = median_ratio(list(zip(times[name], sequential, strict=True)))
        print(f"   {name:36} {statistics.median(times[name]):6.1f} s   ratio to one at a time {ratio:.2f}", flush=True)
