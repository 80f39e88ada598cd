"""Figure 13: `foodcnn predict` on 100 photos from a new process, and the exported ONNX model against PyTorch
eager on the CPU, batch 1 and 64 (the committed study's chosen model; run in the project after `dvc pull`)."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from harness import REPO

from foodcnn.checkpoint import load_checkpoint
from foodcnn.registry import CHOSEN, ONNX, model_file

PHOTOS = 100


def predict_seconds(photos: list[Path]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "foodcnn", "predict", "--json", *map(str, photos)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def batch_seconds(run, repeats: int) -> float:
    """Median time of one call after a warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeats: int) -> None:
    import onnxruntime

    photos = sorted((REPO / "data/raw").rglob("*.jpg"))[:PHOTOS]
    many = statistics.median(predict_seconds(photos) for _ in range(repeats))
    one = statistics.median(predict_seconds(photos[:1]) for _ in range(repeats))
    print(
        f"\n13. foodcnn predict from a new process, median of {repeats}: {len(photos)} photos {many:.2f} s, "
        f"1 photo {one:.2f} s, so {(many - one) / (len(photos) - 1) * 1000:.1f} ms per further photo"
    )
    model, _ = load_checkpoint(REPO / model_file(CHOSEN))
    session = onnxruntime.InferenceSession(str(REPO / ONNX), providers=["CPUExecutionProvider"])
    size = session.get_inputs()[0].shape[-1]
    for batch in (1, 64):
        images = torch.randn(batch, 3, size, size)
        with torch.inference_mode():
            eager = batch_seconds(lambda: model(images), repeats * 10)  # noqa: B023 (timed before the loop moves on)
        runtime = batch_seconds(lambda: session.run(None, {"images": images.numpy()}), repeats * 10)  # noqa: B023 (timed before the loop moves on)
        print(
            f"   batch {batch:2}: PyTorch eager {eager * 1000:7.2f} ms, ONNX Runtime {runtime * 1000:7.2f} ms, "
            f"eager / ONNX {eager / runtime:.2f}"
        )
