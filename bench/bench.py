"""The study's performance figures on the machine this runs on (issue 4). A script, not a test.

  1. throughput  training images/s of the project's loop (training.fit) against a bare PyTorch loop
  2. repro       wall time of the default `dvc repro` from a clean state, and of a no-op `dvc repro`
  3. finetune    MobileNetV2 fine-tuning (cases A and B) against one pass of the frozen layers over the
                 data plus the training of what is not frozen
  4. parallel    two training runs one after the other (all threads each) against side by side
                 (threads shared out), the choice behind `dvc queue start -j 2`
  5. duplicates  the split stage's scan (decode, pixel digest, difference hash, grouping) against decoding
                 alone, on 11,000 JPEG photos of 512 px (Food-101's size and the study's class count)

Timings on a shared machine are noisy: each figure is a ratio of two timings taken back to back in the
same process, repeated, and the median is printed.
"""

import argparse
import contextlib
import copy
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from foodcnn import params as study_params
from foodcnn.data.augment import normalize
from foodcnn.data.duplicates import find_duplicates, fingerprint
from foodcnn.data.reader import read_rgb
from foodcnn.data.sample import CLASS_NAMES, draw_image
from foodcnn.data.split import scan
from foodcnn.data.tensors import ImageSet
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings, fit, pick_device

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("throughput", "repro", "finetune", "parallel", "duplicates")
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


def sample_shaped_set(settings: study_params.Params, split: str, seed: int) -> ImageSet:
    """Random uint8 images shaped like the sample's train or val split (count, image size, 11 classes)."""
    total = NUM_CLASSES * settings.data.sample.images_per_class
    fraction = 1 - settings.split.val_fraction - settings.split.test_fraction if split == "train" else (
        settings.split.val_fraction)
    count = round(total * fraction)
    size = settings.data.image_size
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=generator)
    labels = torch.arange(count) % NUM_CLASSES
    return ImageSet(images, labels, tuple(f"class_{i}" for i in range(NUM_CLASSES)), tuple(map(str, range(count))))


def quiet_fit(model: nn.Module, train: ImageSet, val: ImageSet, settings: FitSettings, device: torch.device) -> None:
    """training.fit with its progress bars sent to /dev/null (they still run; the terminal does not)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        fit(model, train, val, settings, device)


def bare_loop(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, epochs: int) -> None:
    """The reference: Adam and cross-entropy over shuffled batches of ready float tensors, nothing else."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=BENCH_LR)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs), generator=generator).split(batch_size):
            if len(batch) < 2:
                continue
            batch = batch.to(inputs.device)
            loss = F.cross_entropy(model(inputs[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(a / b for a, b in pairs)


def throughput(settings: study_params.Params, repeats: int, epochs: int, models: list[str]) -> None:
    """Figure 1: the project's loop against the bare loop, same model, batch size and images."""
    device = pick_device()
    train, val = sample_shaped_set(settings, "train", 0), sample_shaped_set(settings, "train", 1)
    val = ImageSet(val.images[:2], val.labels[:2], val.classes, val.paths[:2])  # keep validation out of the figure
    inputs, labels = normalize(train.images.to(device)), train.labels.to(device)
    print(f"\n1. training throughput, images/s ({len(train)} images of {settings.data.image_size} px, "
          f"{epochs} epochs per timing, median of {repeats}; validation on 2 images)")
    print("   project = training.fit: shuffle, index, augment (or normalise), forward/backward/Adam, metrics, "
          "progress bar, best-weights copy")
    print("   bare    = the same model, batch size and Adam over ready normalised float tensors, no augmentation")
    cases = [
        ("basic", ModelSpec("basic", NUM_CLASSES), settings.grid.batch_size[0]),
        ("residual", ModelSpec("residual", NUM_CLASSES), settings.grid.batch_size[0]),
        ("mobilenet (all blocks train)", ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=19),
         settings.finetune.batch_size),
    ]
    cases = [case for case in cases if case[1].name in models]
    print(f"   {'model':30} {'batch':>5} {'bare':>7} {'fit':>7} {'ratio':>6} {'fit+aug':>7} {'ratio':>6}")
    for name, spec, batch_size in cases:
        images_per_run = epochs * (len(train) - (1 if len(train) % batch_size == 1 else 0))  # fit drops a batch of 1
        torch.manual_seed(0)
        initial = build_model(spec)
        plain = FitSettings(epochs, batch_size, BENCH_LR, 0, None)
        augmented = FitSettings(epochs, batch_size, BENCH_LR, 0, settings.train.augment)

        def run_fit(fit_settings: FitSettings) -> Callable[[], None]:
            model = copy.deepcopy(initial)
            return lambda: quiet_fit(model, train, val, fit_settings, device)

        def run_bare() -> Callable[[], None]:
            model = copy.deepcopy(initial).to(device)
            return lambda: bare_loop(model, inputs, labels, batch_size, epochs)

        for warm_up in (run_bare(), run_fit(plain), run_fit(augmented)):
            warm_up()
        bare_times, plain_pairs, augmented_pairs = [], [], []
        for _ in range(repeats):
            bare_time = timed(run_bare(), device)
            plain_pairs.append((bare_time, timed(run_fit(plain), device)))
            augmented_pairs.append((bare_time, timed(run_fit(augmented), device)))
            bare_times.append(bare_time)
        rate = images_per_run / statistics.median(bare_times)
        plain_rate = images_per_run / statistics.median(t for _, t in plain_pairs)
        augmented_rate = images_per_run / statistics.median(t for _, t in augmented_pairs)
        print(f"   {name:30} {batch_size:>5} {rate:7.0f} {plain_rate:7.0f} {median_ratio(plain_pairs):6.3f} "
              f"{augmented_rate:7.0f} {median_ratio(augmented_pairs):6.3f}", flush=True)


def copy_project(destination: Path) -> None:
    """The repository's files (tracked, or untracked and not ignored) as a fresh git repository."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    for generated in ("data/raw", "data/prepared", "models", "metrics", "plots", "reports", "dvc.lock"):
        shutil.rmtree(destination / generated, ignore_errors=True)
        (destination / generated).unlink(missing_ok=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=destination, check=True)


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


def repro(keep: bool) -> None:
    """Figure 2: the default pipeline from a clean state, then again with nothing to do."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-"))
    try:
        copy_project(folder)
        clean, stages = timed_repro(folder, environment)
        noop, _ = timed_repro(folder, environment)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n2. default `dvc repro` (params.yaml as committed), in a fresh copy of the repository")
    groups: dict[str, list[float]] = {}
    for name, seconds in stages.items():
        groups.setdefault(name.split("@")[0], []).append(seconds)
    for group, times in groups.items():
        print(f"   {group:10} {len(times):3} stage(s) {sum(times):7.1f} s   (median {statistics.median(times):.1f} s)")
    print(f"   clean state: {clean:.1f} s ({int(clean // 60)} min {clean % 60:02.0f} s)   target <= 180 s")
    print(f"   no-op:       {noop:.1f} s   target <= 3 s")
    if keep:
        print(f"   kept in {folder}")


def frozen_forward(model: nn.Module, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model.frozen(normalize(images[i : i + 256].to(device))) for i in range(0, len(images), 256)])


def reference_finetune(model: nn.Module, train: ImageSet, val: ImageSet, batch_size: int, epochs: int,
                       device: torch.device) -> None:
    """The floor: the frozen layers once over train and val, then the rest trained and validated on their output."""
    model.to(device)
    train_features = frozen_forward(model, train.images, device).clone()
    val_features = frozen_forward(model, val.images, device).clone()
    rest = nn.Sequential(model.trainable, model.head)
    labels = train.labels.to(device)
    optimizer = torch.optim.Adam([p for p in rest.parameters() if p.requires_grad], lr=BENCH_LR)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        rest.train()
        for batch in torch.randperm(len(train_features), generator=generator).split(batch_size):
            if len(batch) < 2:
                continue
            batch = batch.to(device)
            loss = F.cross_entropy(rest(train_features[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        rest.eval()
        with torch.inference_mode():
            rest(val_features).argmax(1).cpu()


def finetune(settings: study_params.Params, repeats: int) -> None:
    """Figure 3: fit on MobileNetV2 cases against the reference_finetune floor."""
    device = pick_device()
    train, val = sample_shaped_set(settings, "train", 0), sample_shaped_set(settings, "val", 1)
    epochs, batch_size = settings.finetune.epochs, settings.finetune.batch_size
    print(f"\n3. MobileNetV2 fine-tuning, {epochs} epochs, batch {batch_size}, {len(train)} + {len(val)} images "
          f"(median of {repeats})")
    print("   floor = the frozen layers once over train + val, then the trainable part trained and validated on "
          "their output")
    print(f"   {'case':4} {'trainable blocks':>16} {'augment':>8} {'floor s':>8} {'fit s':>7} {'ratio':>6}")
    for case, blocks in settings.finetune.cases.items():
        torch.manual_seed(0)
        initial = build_model(ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=blocks))
        for augment in (None, settings.train.augment):
            fit_settings = FitSettings(epochs, batch_size, settings.finetune.lr, 0, augment)
            pairs = []
            for index in range(repeats + 1):
                floor = timed(lambda: reference_finetune(copy.deepcopy(initial), train, val, batch_size, epochs,
                                                         device), device)
                model = copy.deepcopy(initial)
                fitted = timed(lambda: quiet_fit(model, train, val, fit_settings, device), device)
                if index:  # the first pair warms up
                    pairs.append((fitted, floor))
            print(f"   {case:4} {blocks:>16} {'on' if augment else 'off':>8} "
                  f"{statistics.median(f for _, f in pairs):8.2f} {statistics.median(t for t, _ in pairs):7.2f} "
                  f"{median_ratio(pairs):6.2f}", flush=True)
    print("   target (augment off): ratio <= 1.2. With augmentation every epoch sees new images, so the frozen "
          "layers run every epoch")


TRAIN_SCRIPT = """
import sys, time, torch
from foodcnn.training import FitSettings, fit, set_threads_from_environment
set_threads_from_environment()
sys.path.insert(0, {bench!r})
from bench import NUM_CLASSES, quiet_fit, sample_shaped_set
from foodcnn import params
from foodcnn.models import ModelSpec, build_model
settings = params.load({params!r})
torch.manual_seed(0)
quiet_fit(build_model(ModelSpec({model!r}, NUM_CLASSES)), sample_shaped_set(settings, "train", 0),
          sample_shaped_set(settings, "val", 1), FitSettings({epochs}, 32, 0.001, 0, settings.train.augment),
          torch.device("cpu"))
"""


def parallel(repeats: int, epochs: int, model: str) -> None:
    """Figure 4: two training processes one after the other, then side by side with and without shared threads."""
    cores = os.cpu_count() or 1
    script = TRAIN_SCRIPT.format(bench=str(Path(__file__).parent), params=str(REPO / "params.yaml"), model=model,
                                 epochs=epochs)

    def two_runs(side_by_side: bool, threads: int) -> float:
        environment = {**os.environ, "FOODCNN_THREADS": str(threads)}
        start = time.perf_counter()
        if side_by_side:
            processes = [subprocess.Popen([sys.executable, "-c", script], env=environment) for _ in range(2)]
            if any(p.wait() for p in processes):
                raise SystemExit("a parallel training run failed")
        else:
            for _ in range(2):
                subprocess.run([sys.executable, "-c", script], env=environment, check=True)
        return time.perf_counter() - start

    shared = max(1, cores // 2)
    variants = [(f"one at a time, {cores} threads each", False, cores), (f"side by side, {shared} thread(s) each", True, shared),
                (f"side by side, {cores} threads each", True, cores)]
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(repeats):
        for name, side_by_side, threads in variants:
            times[name].append(two_runs(side_by_side, threads))
    sequential = times[variants[0][0]]
    print(f"\n4. two {model} runs of {epochs} epochs each as separate processes ({cores} cores, median of {repeats})")
    for name, _, _ in variants:
        ratio = median_ratio(list(zip(times[name], sequential)))
        print(f"   {name:36} {statistics.median(times[name]):6.1f} s   ratio to one at a time {ratio:.2f}", flush=True)


def write_photos(root: Path, count: int, size: int) -> list[Path]:
    """count JPEGs of size x size in 11 class folders: sample images drawn at a quarter size and scaled up,
    so that they decode like photos (smooth, not pure noise) without the cost of drawing them at full size."""
    paths = []
    for number in range(count):
        index = number % len(CLASS_NAMES)
        image = draw_image(index, size // 4, random.Random(number), np.random.default_rng(number))
        path = root / CLASS_NAMES[index] / f"{number:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.resize((size, size), Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def duplicates(settings: study_params.Params, repeats: int, count: int, size: int) -> None:
    """Figure 5: the split stage's scan against decoding alone, and the grouping of the hashes on its own."""
    threshold = settings.split.near_duplicates
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-photos-"))
    try:
        paths = write_photos(folder, count, size)
        cpu = torch.device("cpu")
        pairs, found = [], None
        for index in range(repeats + 1):
            decode_time = timed(lambda: [read_rgb(path) for path in paths], cpu)
            start = time.perf_counter()
            found = scan(folder, threshold)
            if index:  # the first pair warms the file cache
                pairs.append((time.perf_counter() - start, decode_time))
        prints = {path.relative_to(folder).as_posix(): fingerprint(read_rgb(path)) for path in paths}
        grouping = statistics.median(timed(lambda: find_duplicates(prints, threshold), cpu)
                                     for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    decode = statistics.median(d for _, d in pairs)
    total = statistics.median(t for t, _ in pairs)
    print(f"\n5. duplicates: the split's scan of {count} JPEGs of {size} px in {len(CLASS_NAMES)} classes, "
          f"split.near_duplicates {threshold} (median of {repeats})")
    print(f"   decode only      {decode:7.2f} s  ({1000 * decode / count:.2f} ms per image)")
    print(f"   scan             {total:7.2f} s  ({1000 * total / count:.2f} ms per image), ratio to decoding "
          f"{median_ratio(pairs):.3f}")
    print(f"   grouping alone   {grouping:7.2f} s  ({count * (count - 1) // 2:,} pairs compared)")
    print(f"   left out as duplicates: {len(found.duplicates)} (the images are distinct, so any is a false match)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="figures to measure")
    parser.add_argument("--repeats", type=int, default=5, help="timings per figure; the median is printed")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per throughput timing")
    parser.add_argument("--parallel-model", default="basic", help="model of the parallel runs")
    parser.add_argument("--parallel-epochs", type=int, default=4, help="epochs of each parallel run")
    parser.add_argument("--models", nargs="+", choices=("basic", "residual", "mobilenet"),
                        default=["basic", "residual", "mobilenet"], help="models of the throughput figure")
    parser.add_argument("--threads", type=int, help="intra-op threads here and in the repro's stages (FOODCNN_THREADS)")
    parser.add_argument("--keep", action="store_true", help="keep the repro's temporary copy of the repository")
    parser.add_argument("--duplicates-images", type=int, default=11000, help="images of the duplicates figure")
    parser.add_argument("--duplicates-size", type=int, default=512, help="their size in pixels")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["FOODCNN_THREADS"] = str(args.threads)
    settings = study_params.load(REPO / "params.yaml")
    print(f"machine: {machine()}; device {pick_device()}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    if "throughput" in args.only:
        throughput(settings, args.repeats, args.epochs, args.models)
    if "finetune" in args.only:
        finetune(settings, args.repeats)
    if "parallel" in args.only:
        parallel(args.repeats, args.parallel_epochs, args.parallel_model)
    if "duplicates" in args.only:
        duplicates(settings, args.repeats, args.duplicates_images, args.duplicates_size)
    if "repro" in args.only:
        repro(args.keep)


if __name__ == "__main__":
    main()
