"""Figure 11: what the CPU settings cost: one training epoch of each of the default study's runs, per setting.

Each library reads its setting once, when it loads, so every timing is a new process; the settings take turns
(A B C, B C A, C A B, ...) so that a machine shared with other work slows each of them alike.
"""

import json
import os
import statistics
import subprocess
import sys

from harness import BENCH

# name: (environment over the project's portable one, oneDNN on)
SETTINGS = {
    "AVX2 MKL": ({"MKL_CBWR": "AVX2,STRICT"}, True),  # the cap before: MKL's AVX2 branch, which is Intel's only
    "COMPATIBLE": ({}, True),  # what the study runs (src/foodcnn/numerics.py): MKL's branch for every vendor
    "own choice": ({"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "ALL", "MKL_CBWR": "AUTO"}, True),
    "without oneDNN": ({}, False),  # convolutions through PyTorch's own kernels (im2col + MKL), the rest capped
}
# The default study's runs: grid and dropout runs of both CNNs at both batch sizes, fine-tune B.
RUNS = (("basic", 32), ("basic", 64), ("residual", 32), ("residual", 64), ("mobilenet", 32))

# One timing in a new process: build the run's model, fit one epoch to warm up (oneDNN compiles its kernels
# on first use), then time three one-epoch fits on images shaped like the sample's training split and keep
# the fastest, the one least slowed by other work on a shared machine.
CHILD = """
import json, sys, time, torch
from foodcnn import params as study_params
from foodcnn.devices import pick_device
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings
from harness import BENCH_LR, NUM_CLASSES, REPO, quiet_fit, sample_shaped_set
model, batch, onednn = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "on"
torch.backends.mkldnn.enabled = onednn
settings = study_params.load(REPO / "params.yaml")
torch.set_num_threads(settings.threads)
train, val = sample_shaped_set(settings, "train", 0), sample_shaped_set(settings, "val", 1)
spec = ModelSpec(model, NUM_CLASSES, trainable_blocks=2 if model == "mobilenet" else 0)
fit = FitSettings(1, batch, BENCH_LR, 0, settings.train.augment)
quiet_fit(build_model(spec), train, val, fit, pick_device())
times = []
for _ in range(3):
    start = time.perf_counter()
    quiet_fit(build_model(spec), train, val, fit, pick_device())
    times.append(time.perf_counter() - start)
print(json.dumps(min(times)))
"""


def epoch_seconds(model: str, batch: int, setting: str) -> float:
    environment, onednn = SETTINGS[setting]
    paths = os.pathsep.join([str(BENCH), str(BENCH.parent / "src"), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", CHILD, model, str(batch), "on" if onednn else "off"],
        env={**os.environ, **environment, "PYTHONPATH": paths},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def measure(repeats: int) -> None:
    print(
        f"\n11. CPU settings: one training epoch (s) of each default run, 1 thread, 32 px, new process per timing, "
        f"settings in turn, median of {repeats} processes of the fastest of 3 epochs"
    )
    names = list(SETTINGS)
    print(f"   {'run':14} " + " ".join(f"{name:>15}" for name in names) + f"   ratios to {names[0]}")
    for model, batch in RUNS:
        times: dict[str, list[float]] = {name: [] for name in names}
        for repeat in range(repeats):
            # Each repeat starts at the next setting, so that none always runs first or after the same one.
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                times[name].append(epoch_seconds(model, batch, name))
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratios = " ".join(f"{medians[name] / medians[names[0]]:.2f}" for name in names[1:])
        print(
            f"   {model + ' bs ' + str(batch):14} "
            + " ".join(f"{medians[name]:>15.2f}" for name in names)
            + f"   {ratios}",
            flush=True,
        )
