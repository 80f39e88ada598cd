"""What the figures share: the machine line, timing on the device, stand-in image sets, a quiet fit, a commit."""

import contextlib
import os
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from foodcnn import params as study_params
from foodcnn.data.tensors import ImageSet
from foodcnn.training import FitSettings, fit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NUM_CLASSES = 11
BENCH_LR = 0.001


def machine() -> str:
    """CPU model, cores, accelerator and torch version: what every figure is relative to."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = names[0] if names else cpu
    line = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} intra-op threads"
    if torch.cuda.is_available():
        line += f", GPU {torch.cuda.get_device_name()}"
    return line


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(function: Callable[[], object], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    function()
    synchronize(device)
    return time.perf_counter() - start


def median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(a / b for a, b in pairs)


def commit(project: Path, message: str) -> None:
    """Commit every file of the git repository project that git does not ignore."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=project, check=True)


def sample_shaped_set(settings: study_params.Params, split: str, seed: int) -> ImageSet:
    """Random uint8 images shaped like the sample's train or val split (count, image size, 11 classes)."""
    total = NUM_CLASSES * settings.data.sample.images_per_class
    fraction = (
        1 - settings.split.val_fraction - settings.split.test_fraction
        if split == "train"
        else (settings.split.val_fraction)
    )
    return random_image_set(round(total * fraction), settings.data.image_size, seed)


def random_image_set(count: int, size: int, seed: int) -> ImageSet:
    """count random uint8 images of size x size in NUM_CLASSES classes."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=generator)
    labels = torch.arange(count) % NUM_CLASSES
    return ImageSet(images, labels, tuple(f"class_{i}" for i in range(NUM_CLASSES)), tuple(map(str, range(count))))


def quiet_fit(model: nn.Module, train: ImageSet, val: ImageSet, settings: FitSettings, device: torch.device) -> None:
    """training.fit with its line per epoch sent to /dev/null, so that only the figure's lines are printed."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        fit(model, train, val, settings, device)
