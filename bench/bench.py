"""The study's performance figures on the machine this runs on (issue 4). A script, not a test.

  1. throughput  training images/s of the project's loop (training.fit) against a bare PyTorch loop
  2. repro       wall time of the default `dvc repro` from a clean state, and of a no-op `dvc repro`
  3. finetune    MobileNetV2 fine-tuning (cases A and B) against one pass of the frozen layers over the
                 data plus the training of what is not frozen
  4. parallel    two training runs one after the other (all threads each) against side by side
                 (threads shared out), the choice behind `dvc queue start -j 2`
  5. duplicates  the split stage's scan (decode, pixel digest, difference hash, grouping) against decoding
                 alone, on 11,000 JPEG photos of 512 px (Food-101's size and the study's class count)
  6. diff        `foodcnn diff` of two revisions at Food-11 scale (2,750 test images x 6 roles x 3 seeds,
                 1,000 resamples): the statistics alone, and the whole command from a new process
  7. verify      `make push`'s re-hash of every object it sends (dvc.lock's outputs and the run-cache's) against
                 copying the same cache's objects to another folder (what a push to a local remote does), in a
                 project that ran the study (--verify-project; it is only read)
  8. peer        the default study as an ordinary PyTorch script would run it (bench/peer.py) against the
                 project's `dvc repro`, back to back on the same images and split: both times and the ratio
  9. remote      `make push` and `make pull` of the default study (dvc.lock as committed, its objects from
                 --remote-cache) to a local folder, S3 (moto's server) and SSH (sshd), on 127.0.0.1; needs
                 requirements-remote-test.txt and openssh-server, like tests/test_remotes.py

GPU sections (run with --only; on a CPU they run too, at the sizes given, which is how they are tested):
  gpu-profile     where the time of training.fit's steps goes (torch.profiler): the operators taking the
                  most device time, and the share of the wall time the device is busy
  gpu-throughput  per-model images/s of training.fit (224 px, batch 32, bf16 + channels_last on CUDA)
                  against a bare torch.compile'd loop of the same model and batch, and TFLOP/s against the
                  chip's peak
  gpu-parallel    aggregate training images/s of N processes side by side on one device
  gpu-protocol    the study's full protocol at Food-11 scale on the built-in sample (11 x 1000 images,
                  224 px, 50-epoch grid, dropout retrains, MobileNetV2 30 epochs): the stage scripts in
                  dvc.yaml's order in a temporary copy of the project, runs side by side, time per phase.
                  No dvc needed (the device machines have none)

Timings on a shared machine are noisy: each figure is a ratio of two timings taken back to back in the
same process, repeated, and the median is printed.
"""

import argparse
import contextlib
import copy
import json
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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
import yaml
from torch import nn

from foodcnn import integrity
from foodcnn import params as study_params
from foodcnn.data.augment import normalize
from foodcnn.data.duplicates import find_duplicates, fingerprint
from foodcnn.data.reader import read_rgb
from foodcnn.data.sample import CLASS_NAMES, draw_image
from foodcnn.data.split import scan
from foodcnn.data.tensors import ImageSet
from foodcnn.diff.compare import compare
from foodcnn.diff.revisions import RoleRun, Side
from foodcnn.io import read_table, write_table
from foodcnn.layout import PREDICTIONS_DIR
from foodcnn.models import ModelSpec, build_model
from foodcnn.devices import pick_device
from foodcnn.training import FitSettings, adam, configure_cudnn, fit, numerics

REPO = Path(__file__).resolve().parents[1]
CPU_SECTIONS = ("throughput", "repro", "finetune", "parallel", "duplicates", "diff", "verify", "peer", "remote")
GPU_SECTIONS = ("gpu-profile", "gpu-throughput", "gpu-parallel", "gpu-protocol")
# Dense bf16 tensor-core peaks from NVIDIA's data sheets, by a part of the device name (first match wins).
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0}
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
    return random_image_set(round(total * fraction), settings.data.image_size, seed)


def random_image_set(count: int, size: int, seed: int) -> ImageSet:
    """count random uint8 images of size x size in NUM_CLASSES classes."""
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
    for generated in ("data/raw", "data/prepared", "models", "results", "metrics", "plots", "reports", "dvc.lock"):
        shutil.rmtree(destination / generated, ignore_errors=True)
        (destination / generated).unlink(missing_ok=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=destination, check=True)


def study_environment() -> dict[str, str]:
    """This environment with its Python first on PATH, as the stages' `python` must be."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@contextlib.contextmanager
def fresh_copy(prefix: str, keep: bool) -> Iterator[Path]:
    """A fresh copy of the project in a temporary folder, removed afterwards unless kept (then its path is said)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        copy_project(folder)
        yield folder
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


def repro(keep: bool) -> None:
    """Figure 2: the default pipeline from a clean state, then again with nothing to do."""
    with fresh_copy("foodcnn-bench-", keep) as folder:
        clean, stages = timed_repro(folder, study_environment())
        noop, _ = timed_repro(folder, study_environment())
    print("\n2. default `dvc repro` (params.yaml as committed), in a fresh copy of the repository")
    groups: dict[str, list[float]] = {}
    for name, seconds in stages.items():
        groups.setdefault(name.split("@")[0], []).append(seconds)
    for group, times in groups.items():
        print(f"   {group:10} {len(times):3} stage(s) {sum(times):7.1f} s   (median {statistics.median(times):.1f} s)")
    print(f"   clean state: {clean:.1f} s ({int(clean // 60)} min {clean % 60:02.0f} s)   target <= 180 s")
    print(f"   no-op:       {noop:.1f} s   target <= 3 s")


def peer(keep: bool) -> None:
    """Figure 8: the project's default `dvc repro` from a clean state, then bench/peer.py on its images and split."""
    with fresh_copy("foodcnn-peer-", keep) as folder:
        project_seconds, stages = timed_repro(folder, study_environment())
        start = time.perf_counter()
        script = subprocess.run([sys.executable, str(REPO / "bench/peer.py"), str(folder)],
                                env=study_environment(), capture_output=True, text=True)
        peer_seconds = time.perf_counter() - start
    if script.returncode != 0:
        raise SystemExit(f"bench/peer.py failed:\n{script.stderr}")
    groups: dict[str, float] = {}
    for name, seconds in stages.items():
        groups[name.split("@")[0]] = groups.get(name.split("@")[0], 0.0) + seconds
    print("\n8. the default study: the project's `dvc repro` against an ordinary script (bench/peer.py)")
    print("   project phases: " + ", ".join(f"{group} {seconds:.1f} s" for group, seconds in groups.items()))
    print("   peer " + script.stdout.strip().replace("\n", "\n   peer "))
    print(f"   project {project_seconds:.1f} s, peer {peer_seconds:.1f} s: the project at "
          f"{peer_seconds / project_seconds:.2f}x the peer's speed (peer time / project time)")
def study_project(destination: Path) -> Path:
    """A copy of the repository with its committed dvc.lock: the default study, its outputs to pull."""
    copy_project(destination)
    shutil.copy2(REPO / "dvc.lock", destination / "dvc.lock")
    subprocess.run(["git", "add", "dvc.lock"], cwd=destination, check=True)
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m",
                    "the study"], cwd=destination, check=True)
    return destination


@contextlib.contextmanager
def remote_kinds(folder: Path):
    """Each kind of remote as the settings of `dvc remote modify --local storage`, with its server running."""
    sys.path.insert(0, str(REPO))  # the tests' own servers (tests/servers.py), so both measure the same thing
    from tests import servers

    with servers.s3_server(folder / "moto") as s3, servers.ssh_server(folder / "sshd") as ssh:
        yield {
            "local folder": {"url": str(folder / "local-store")},
            f"S3 (moto {s3.version})": {"url": f"s3://{servers.BUCKET}/store", "endpointurl": s3.endpoint,
                                        "access_key_id": s3.access_key_id, "secret_access_key": s3.secret_access_key},
            f"SSH ({ssh.version.split(',')[0]})": {"url": f"ssh://{ssh.user}@127.0.0.1:{ssh.port}{folder}/ssh-store",
                                                   "keyfile": str(ssh.keyfile)},
        }


def timed_remote(project: Path, direction: str, settings: dict[str, str], environment: dict[str, str]) -> float:
    """Seconds of `make push` or `make pull` (scripts/remote.py) with the default remote set to settings."""
    (project / ".dvc/config.local").unlink(missing_ok=True)  # the previous kind's settings
    for key, value in settings.items():
        subprocess.run([sys.executable, "-m", "dvc", "remote", "modify", "--local", "storage", key, value],
                       cwd=project, env=environment, check=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "scripts/remote.py", direction], cwd=project, env=environment, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def remote(cache: Path, keep: bool) -> None:
    """Figure 7: push and pull of the default study to each kind of remote, from and to a fresh clone."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-"))
    (folder / "moto").mkdir()
    (folder / "sshd").mkdir()
    try:
        pusher = study_project(folder / "pusher")
        shutil.copytree(cache, pusher / ".dvc/cache")
        print(f"\n9. remote: `make push` / `make pull` of the default study ({megabytes(pusher / '.dvc/cache'):.0f} MB "
              f"in the cache, from {cache}), one timing each")
        with remote_kinds(folder) as kinds:
            for kind, settings in kinds.items():
                push = timed_remote(pusher, "push", settings, environment)
                puller = study_project(folder / f"puller-{len(list(folder.glob('puller-*')))}")
                pull = timed_remote(puller, "pull", settings, environment)
                print(f"   {kind:40} push {push:6.1f} s   pull {pull:6.1f} s   "
                      f"({megabytes(puller / '.dvc/cache'):.0f} MB pulled)")
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


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
from foodcnn.training import FitSettings, fit
torch.set_num_threads({threads})
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

    def two_runs(side_by_side: bool, threads: int) -> float:
        script = TRAIN_SCRIPT.format(bench=str(Path(__file__).parent), params=str(REPO / "params.yaml"), model=model,
                                     epochs=epochs, threads=threads)
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


def diff_side(commit: str | None, images: int, seeds: int, accuracy: float, seed: int) -> Side:
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
    return Side(commit or "workspace", commit, roles)


def write_side(project: Path, side: Side) -> None:
    for role, run in side.roles.items():
        write_table(project / PREDICTIONS_DIR / f"{role}.csv",
                    [{"seed": seed, "image": index, "path": path, "actual": actual, "predicted": guess, "confidence": 0.5}
                     for seed, predicted in run.predicted.items()
                     for index, (path, actual, guess) in enumerate(zip(run.paths, run.actual, predicted))])


def diff(repeats: int, images: int, seeds: int, resamples: int) -> None:
    """Figure 6: `foodcnn diff` of two revisions, its statistics in this process and the whole command."""
    a, b = diff_side("a", images, seeds, 0.67, seed=0), diff_side("b", images, seeds, 0.70, seed=1)
    statistics_seconds = [timed(lambda: compare(a, b, resamples), torch.device("cpu")) for _ in range(repeats)]
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True)
        for side in (a, b):
            write_side(project, side)
            subprocess.run(git + ["add", "-A"], cwd=project, check=True)
            subprocess.run(git + ["commit", "-q", "-m", side.name], cwd=project, check=True)
        command = [sys.executable, "-m", "foodcnn", "diff", "HEAD~1", "HEAD", "--resamples", str(resamples)]
        command_seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(command, cwd=project, check=True, stdout=subprocess.DEVNULL)
            command_seconds.append(time.perf_counter() - start)
    print(f"\n6. diff: {images} test images x 6 roles x {seeds} seeds, {resamples} resamples: statistics "
          f"{statistics.median(statistics_seconds):.2f} s, `foodcnn diff HEAD~1 HEAD` from a new process "
          f"{statistics.median(command_seconds):.2f} s (medians of {repeats}; target < 3 s)")
def verify(repeats: int, project: Path) -> None:
    """Figure 6: re-hashing what `make push` sends against copying the cache's objects, in a project only read."""
    cache = project / ".dvc/cache/files/md5"
    expected = integrity.lock_outputs(project / "dvc.lock") + integrity.run_cache_outputs(project / ".dvc/cache/runs")
    objects = sorted(integrity.objects(cache))
    cpu = torch.device("cpu")
    pairs, report = [], integrity.Report()
    for index in range(repeats + 1):
        folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-copy-"))
        try:
            copy_time = timed(lambda: [shutil.copyfile(path, folder / f"{path.parent.name}{path.name}")
                                       for path in objects], cpu)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        report = integrity.check_cache(cache, expected)
        if index:  # the first pair warms the file cache
            pairs.append((time.perf_counter() - start, copy_time))
    copied = sum(path.stat().st_size for path in objects)
    check = statistics.median(c for c, _ in pairs)
    copy = statistics.median(c for _, c in pairs)
    print(f"\n7. verify: what `make push` re-hashes in {project} (median of {repeats}, file cache warm)")
    print(f"   re-hash  {report.checked:5} objects {report.size / 1e6:7.1f} MB {check:7.2f} s "
          f"({report.size / 1e6 / check:.0f} MB/s); {report.absent} named but not in the cache, "
          f"{len(report.mismatches)} corrupt")
    print(f"   copy     {len(objects):5} objects {copied / 1e6:7.1f} MB {copy:7.2f} s "
          f"({copied / 1e6 / copy:.0f} MB/s), ratio re-hash / copy {median_ratio(pairs):.2f}")


def training_flops_per_image(spec: ModelSpec, size: int) -> float:
    """FLOPs of one training step (forward and backward) per image, counted on the CPU on two images."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(spec).train()
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(torch.randn(2, 3, size, size)), torch.tensor([0, 1])).backward()
    return counter.get_total_flops() / 2


def peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given or device.type != "cuda":
        return given
    name = torch.cuda.get_device_name(device)
    return next((peak for part, peak in PEAK_BF16_TFLOPS.items() if part in name), None)


def bare_compiled_loop(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, epochs: int,
                       device: torch.device, compiled: bool) -> Callable[[], None]:
    """The reference step, nothing else: fused Adam, ready normalised inputs on the device, indexes drawn there,
    only full batches (one shape, so one compilation), the same precision, layout and cuDNN settings as fit's."""
    configure_cudnn(device)
    precision, channels_last = numerics("auto", "auto", device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=layout).train()
    step_model = torch.compile(model) if compiled else model
    optimizer = adam([p for p in model.parameters() if p.requires_grad], BENCH_LR, device)
    full = len(inputs) - len(inputs) % batch_size

    def run() -> None:
        for _ in range(epochs):
            for batch in torch.randperm(len(inputs), device=device)[:full].split(batch_size):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    loss = F.cross_entropy(step_model(inputs[batch].contiguous(memory_format=layout)), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    return run


def gpu_throughput(models: list[str], size: int, batch_size: int, count: int, epochs: int, compiled: bool,
                   peak: float | None, augment: study_params.AugmentParams) -> None:
    """GPU figure 1: training.fit against a bare compiled loop, per model, and the FLOP rate both reach."""
    device = pick_device()
    count -= count % batch_size  # full batches only, in both loops
    train, val = random_image_set(count, size, 0), random_image_set(2, size, 1)  # validation stays out of the figure
    inputs, labels = normalize(train.images.to(device)), train.labels.to(device)
    precision, channels_last = numerics("auto", "auto", device)
    peak = peak_tflops(device, peak)
    print(f"\ngpu-throughput: training images/s on {device}, {count} images of {size} px, batch {batch_size}, "
          f"{epochs} epochs per timing, {precision}{' + channels_last' if channels_last else ''}; "
          f"bare loop {'torch.compile' if compiled else 'eager'}; peak {f'{peak:g} TFLOP/s' if peak else 'unknown'}")
    print(f"   {'model':30} {'GFLOP/img':>9} {'bare':>7} {'fit':>7} {'ratio':>6} {'fit+aug':>7} {'ratio':>6} "
          f"{'fit TFLOP/s':>11} {'of peak':>7}")
    cases = {"basic": ModelSpec("basic", NUM_CLASSES), "residual": ModelSpec("residual", NUM_CLASSES),
             "mobilenet": ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=19)}
    for name in models:
        flops = training_flops_per_image(cases[name], size)
        torch.manual_seed(0)
        initial = build_model(cases[name])
        bare = bare_compiled_loop(copy.deepcopy(initial), inputs, labels, batch_size, epochs, device, compiled)
        bare()  # compiles, and tunes the kernels
        bare_rate = count * epochs / timed(bare, device)
        rates = []
        for augmented in (None, augment):
            settings = FitSettings(epochs, batch_size, BENCH_LR, 0, augmented)
            quiet_fit(copy.deepcopy(initial), train, val, FitSettings(1, batch_size, BENCH_LR, 0, augmented), device)
            rates.append(count * epochs / timed(lambda: quiet_fit(copy.deepcopy(initial), train, val, settings, device),
                                                device))
        achieved = rates[0] * flops / 1e12
        share = f"{achieved / peak:7.1%}" if peak else f"{'n/a':>7}"
        print(f"   {name:30} {flops / 1e9:9.2f} {bare_rate:7.0f} {rates[0]:7.0f} {rates[0] / bare_rate:6.3f} "
              f"{rates[1]:7.0f} {rates[1] / bare_rate:6.3f} {achieved:11.2f} {share}", flush=True)


def gpu_profile(model: str, size: int, batch_size: int, count: int, rows: int) -> None:
    """Where one epoch of training.fit spends its time, after a warm-up epoch, by torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    device = pick_device()
    count -= count % batch_size
    train, val = random_image_set(count, size, 0), random_image_set(2, size, 1)
    settings = FitSettings(1, batch_size, BENCH_LR, 0, study_params.load(REPO / "params.yaml").train.augment)
    torch.manual_seed(0)
    initial = build_model(ModelSpec(model, NUM_CLASSES))
    quiet_fit(copy.deepcopy(initial), train, val, settings, device)
    on_cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    with profile(activities=activities) as profiler:
        wall = timed(lambda: quiet_fit(copy.deepcopy(initial), train, val, settings, device), device)
    events = profiler.key_averages()
    busy = sum(event.self_device_time_total for event in events) / 1e6 if on_cuda else None
    print(f"\ngpu-profile: one epoch of training.fit, {model}, {count} images of {size} px, batch {batch_size}, "
          f"augmented, on {device}: {count / wall:.0f} images/s; wall {wall:.2f} s"
          + (f", device busy {busy:.2f} s ({busy / wall:.0%})" if busy is not None else ""))
    print(events.table(sort_by="self_device_time_total" if on_cuda else "self_cpu_time_total", row_limit=rows,
                       max_name_column_width=48))


PARALLEL_RUN_SCRIPT = """
import contextlib, json, os, sys, time, torch
sys.path.insert(0, {bench!r})
from bench import BENCH_LR, NUM_CLASSES, quiet_fit, random_image_set
from foodcnn.models import ModelSpec, build_model
from foodcnn.devices import pick_device
from foodcnn.training import FitSettings
torch.set_num_threads({threads})
device = pick_device()
train, val = random_image_set({count}, {size}, 0), random_image_set(2, {size}, 1)
torch.manual_seed(0)
quiet_fit(build_model(ModelSpec({model!r}, NUM_CLASSES)), train, val, FitSettings(1, {batch}, BENCH_LR, 0, None), device)
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
            script = PARALLEL_RUN_SCRIPT.format(bench=str(Path(__file__).parent), count=count, size=size, model=model,
                                                batch=batch_size, epochs=epochs, ready=ready[-1], go=go,
                                                threads=max(1, cores // processes))
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


def gpu_parallel(counts: list[int], model: str, size: int, batch_size: int, images: int, epochs: int) -> None:
    """GPU figure 2: N training processes side by side on one device, aggregate images/s, N = counts."""
    cores = os.cpu_count() or 1
    images -= images % batch_size  # full batches: every image trains
    print(f"\ngpu-parallel: {model} runs side by side on {pick_device()}, each {images} images of {size} px, "
          f"batch {batch_size}, {epochs} epoch(s), threads = {cores} cores / N; start-up and warm-up excluded")
    print(f"   {'N':>3} {'images/s':>9} {'per run':>8} {'vs N=1':>7}")
    single = None
    for processes in counts:
        rate = side_by_side(processes, model, size, batch_size, images, epochs)
        single = single or rate
        print(f"   {processes:>3} {rate:9.0f} {rate / processes:8.0f} {rate / single:7.2f}", flush=True)


def protocol_runs(settings: study_params.Params, phase: str) -> list[tuple[str, list[str]]]:
    """The stage commands of one parallel phase, as dvc.yaml's matrices expand them: (name, argv)."""
    seeds = settings.train.seeds
    if phase == "grid+finetune":
        runs = [(f"train_{m}_lr{lr:g}_bs{bs}_seed{seed}",
                 ["stages/train.py", "--model", m, "--lr", f"{lr:g}", "--batch-size", str(bs), "--seed", str(seed)])
                for m in settings.grid.model for lr in settings.grid.lr for bs in settings.grid.batch_size
                for seed in seeds]
        return runs + [(f"finetune_{case}_seed{seed}", ["stages/finetune.py", "--case", case, "--seed", str(seed)])
                       for case in settings.finetune.cases for seed in seeds]
    return [(f"dropout_{m}_p{p:g}_seed{seed}", ["stages/dropout.py", "--model", m, "--p", f"{p:g}", "--seed", str(seed)])
            for m in settings.grid.model for p in settings.dropout for seed in seeds]


def run_stage(project: Path, name: str, argv: list[str]) -> None:
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    log = project / "logs" / f"{name}.log"
    with open(log, "w") as handle:
        code = subprocess.run([sys.executable, *argv], cwd=project, env=environment, stdout=handle,
                              stderr=subprocess.STDOUT).returncode
    if code:
        raise SystemExit(f"{name} failed (exit {code}):\n" + "\n".join(log.read_text().splitlines()[-15:]))


def gpu_protocol(images_per_class: int, size: int, epochs: int, finetune_epochs: int, parallel: int,
                 keep: bool) -> None:
    """GPU figure 3: the study's protocol on the built-in sample, the stage scripts in dvc.yaml's order."""
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-protocol-"))
    for name in ("src", "stages"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, folder / name)
    (folder / "logs").mkdir()
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    values["data"].update(source="sample", image_size=size)
    values["data"]["sample"].update(images_per_class=images_per_class, image_size=size)
    values["train"]["epochs"] = epochs
    values["finetune"]["epochs"] = finetune_epochs
    cores = os.cpu_count() or 1
    values["threads"] = max(1, cores // parallel)
    (folder / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    settings = study_params.load(folder / "params.yaml")
    print(f"\ngpu-protocol: {NUM_CLASSES} x {images_per_class} sample images at {size} px, grid {epochs} epochs, "
          f"fine-tunes {finetune_epochs}, up to {parallel} runs side by side ({settings.threads} "
          f"thread(s) each), precision {settings.train.precision}, channels_last "
          f"{settings.train.channels_last}, on {pick_device()}; in {folder}")
    start = time.perf_counter()
    phases = [("data", ["images", "split", "prepare"]), ("grid+finetune", None), ("selection", ["selection"]),
              ("dropout", None), ("evaluate+report", ["evaluate", "report"])]
    try:
        for phase, stages in phases:
            began = time.perf_counter()
            if stages:
                for stage in stages:
                    run_stage(folder, stage, [f"stages/{stage}.py"])
                runs = len(stages)
            else:
                jobs = protocol_runs(settings, phase)
                with ThreadPoolExecutor(max_workers=parallel) as pool:
                    list(pool.map(lambda job: run_stage(folder, *job), jobs))
                runs = len(jobs)
            print(f"   {phase:16} {runs:3} run(s) {time.perf_counter() - began:8.1f} s", flush=True)
        total = time.perf_counter() - start
        print(f"   {'total':16} {'':11} {total:8.1f} s ({int(total // 60)} min {total % 60:02.0f} s)   target <= 600 s")
        grid = {row["config"]: float(row["val_accuracy"]) for row in read_table(folder / "plots/grid.csv")}
        print("   grid val accuracy: " + ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in grid.items()))
        test = json.loads((folder / "results/test.json").read_text())
        print("   test accuracy:     " + ", ".join(f"{name} {row['accuracy']:.3f}" for name, row in test.items()))
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=CPU_SECTIONS + GPU_SECTIONS, default=list(CPU_SECTIONS),
                        help="figures to measure (default: the CPU ones)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per figure; the median is printed")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per throughput timing")
    parser.add_argument("--parallel-model", default="basic", help="model of the parallel runs")
    parser.add_argument("--parallel-epochs", type=int, default=4, help="epochs of each parallel run")
    parser.add_argument("--models", nargs="+", choices=("basic", "residual", "mobilenet"),
                        default=["basic", "residual", "mobilenet"], help="models of the throughput figure")
    parser.add_argument("--threads", type=int, help="intra-op threads of the figures that train in this process")
    parser.add_argument("--keep", action="store_true", help="keep the repro's or the protocol's temporary copy")
    parser.add_argument("--remote-cache", type=Path, default=REPO / ".dvc/cache",
                        help="a DVC cache holding the default study's outputs, for the remote figure")
    parser.add_argument("--duplicates-images", type=int, default=11000, help="images of the duplicates figure")
    parser.add_argument("--duplicates-size", type=int, default=512, help="their size in pixels")
    parser.add_argument("--diff-images", type=int, default=2750, help="test images of the diff figure")
    parser.add_argument("--diff-seeds", type=int, default=3, help="training seeds per role of the diff figure")
    parser.add_argument("--diff-resamples", type=int, default=1000, help="bootstrap resamples of the diff figure")
    parser.add_argument("--verify-project", type=Path, default=REPO,
                        help="the project whose DVC cache the verify figure re-hashes (only read)")
    gpu = parser.add_argument_group("gpu sections")
    gpu.add_argument("--gpu-models", nargs="+", choices=("basic", "residual", "mobilenet"),
                     default=["basic", "residual", "mobilenet"], help="models of gpu-throughput")
    gpu.add_argument("--gpu-size", type=int, default=224, help="image size of gpu-throughput and gpu-parallel")
    gpu.add_argument("--gpu-batch", type=int, default=32, help="batch size of gpu-throughput and gpu-parallel")
    gpu.add_argument("--gpu-images", type=int, default=2048, help="training images per run")
    gpu.add_argument("--gpu-epochs", type=int, default=2, help="epochs per timing")
    gpu.add_argument("--gpu-compile", action=argparse.BooleanOptionalAction, default=True,
                     help="torch.compile the bare loop of gpu-throughput")
    gpu.add_argument("--peak-tflops", type=float, help="the chip's bf16 peak (default: from the device name)")
    gpu.add_argument("--gpu-profile-model", default="residual", help="model of gpu-profile")
    gpu.add_argument("--gpu-parallel-model", default="residual", help="model of gpu-parallel")
    gpu.add_argument("--gpu-parallel-counts", type=int, nargs="+", default=[1, 2, 4, 8],
                     help="runs side by side in gpu-parallel")
    gpu.add_argument("--protocol-images-per-class", type=int, default=1000, help="sample images per class")
    gpu.add_argument("--protocol-size", type=int, default=224, help="image size of gpu-protocol")
    gpu.add_argument("--protocol-epochs", type=int, default=50, help="train.epochs of gpu-protocol")
    gpu.add_argument("--protocol-finetune-epochs", type=int, default=30, help="finetune.epochs of gpu-protocol")
    gpu.add_argument("--protocol-parallel", type=int, default=14, help="runs side by side in gpu-protocol")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
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
    if "diff" in args.only:
        diff(args.repeats, args.diff_images, args.diff_seeds, args.diff_resamples)
    if "verify" in args.only:
        verify(args.repeats, args.verify_project)
    if "repro" in args.only:
        repro(args.keep)
    if "peer" in args.only:
        peer(args.keep)
    if "remote" in args.only:
        remote(args.remote_cache, args.keep)
    if "gpu-profile" in args.only:
        gpu_profile(args.gpu_profile_model, args.gpu_size, args.gpu_batch, args.gpu_images, rows=20)
    if "gpu-throughput" in args.only:
        gpu_throughput(args.gpu_models, args.gpu_size, args.gpu_batch, args.gpu_images, args.gpu_epochs,
                       args.gpu_compile, args.peak_tflops, settings.train.augment)
    if "gpu-parallel" in args.only:
        gpu_parallel(args.gpu_parallel_counts, args.gpu_parallel_model, args.gpu_size, args.gpu_batch,
                     args.gpu_images, args.gpu_epochs)
    if "gpu-protocol" in args.only:
        gpu_protocol(args.protocol_images_per_class, args.protocol_size, args.protocol_epochs,
                     args.protocol_finetune_epochs, args.protocol_parallel, args.keep)


if __name__ == "__main__":
    main()
