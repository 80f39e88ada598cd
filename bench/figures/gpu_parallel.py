"""GPU figure 2: aggregate training images/s of N processes side by side on one device."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import BENCH

from foodcnn.devices import pick_device

# One warmed-up training run in a process of its own (the harness comes from this folder): it says it is
# ready, waits for the go file, and prints when its timed epochs started and ended.
PARALLEL_RUN_SCRIPT = """
import json, os, sys, time, torch
sys.path.insert(0, {bench!r})
from harness import BENCH_LR, NUM_CLASSES, quiet_fit, random_image_set
from foodcnn.models import ModelSpec, build_model
from foodcnn.devices import pick_device
from foodcnn.training import FitSettings
torch.set_num_threads({threads})
device = pick_device()
train, val = random_image_set({count}, {size}, 0), random_image_set(2, {size}, 1)
torch.manual_seed(0)
settings = FitSettings(1, {batch}, BENCH_LR, 0, None)
quiet_fit(build_model(ModelSpec({model!r}, NUM_CLASSES)), train, val, settings, device)
open({ready!r}, "w").close()
while not os.path.exists({go!r}):
    time.sleep(0.01)
start = time.time()
quiet_fit(build_model(ModelSpec({model!r}, NUM_CLASSES)), train, val, FitSettings({epochs}, {batch}, BENCH_LR, 0, None),
          device)
if device.type == "cuda":
    torch.cuda.synchronize()
print(json.dumps({{"start": start, "end": time.time(), "images": {epochs} * {count}}}))
"""


def side_by_side(processes: int, model: str, size: int, batch_size: int, count: int, epochs: int) -> float:
    """Aggregate training images/s of `processes` runs on one device, each warmed up first, then started together."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="foodcnn-parallel-") as folder:
        go = os.path.join(folder, "go")
        children, ready = [], []
        for index in range(processes):
            ready.append(os.path.join(folder, f"ready{index}"))
            script = PARALLEL_RUN_SCRIPT.format(
                bench=str(BENCH),
                count=count,
                size=size,
                model=model,
                batch=batch_size,
                epochs=epochs,
                ready=ready[-1],
                go=go,
                threads=max(1, cores // processes),
            )
            children.append(subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True))
        try:
            while not all(os.path.exists(name) for name in ready):
                if any(child.poll() not in (None, 0) for child in children):
                    raise SystemExit("a side-by-side training run failed")
                time.sleep(0.05)
            Path(go).touch()
            reports = []
            for child in children:
                output, _ = child.communicate()
                if child.returncode:
                    raise SystemExit("a side-by-side training run failed")
                reports.append(json.loads(output.strip().splitlines()[-1]))
        finally:
            for child in children:  # the others would wait for the start signal for ever
                child.kill()
    window = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return sum(r["images"] for r in reports) / window


def measure(counts: list[int], model: str, size: int, batch_size: int, images: int, epochs: int) -> None:
    """N training processes side by side on one device, aggregate images/s, N = counts."""
    cores = os.cpu_count() or 1
    images -= images % batch_size  # full batches: every image trains
    print(
        f"\ngpu-parallel: {model} runs side by side on {pick_device()}, each {images} images of {size} px, "
        f"batch {batch_size}, {epochs} epoch(s), threads = {cores} cores / N; start-up and warm-up excluded"
    )
    print(f"   {'N':>3} {'images/s':>9} {'per run':>8} {'vs N=1':>7}")
    single = None
    for processes in counts:
        rate = side_by_side(processes, model, size, batch_size, images, epochs)
        single = single or rate
        print(f"   {processes:>3} {rate:9.0f} {rate / processes:8.0f} {rate / single:7.2f}", flush=True)
