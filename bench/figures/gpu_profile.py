"""GPU profile: where the time of training.fit's steps goes (torch.profiler): the operators taking the most
device time, and the share of the wall time the device is busy."""

import copy

import torch
from harness import BENCH_LR, NUM_CLASSES, REPO, quiet_fit, random_image_set, timed
from torch.profiler import ProfilerActivity, profile

from foodcnn import params as study_params
from foodcnn.devices import pick_device
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings


def measure(model: str, size: int, batch_size: int, count: int, rows: int) -> None:
    """Where one epoch of training.fit spends its time, after a warm-up epoch, by torch.profiler."""
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
    print(
        f"\ngpu-profile: one epoch of training.fit, {model}, {count} images of {size} px, batch {batch_size}, "
        f"augmented, on {device}: {count / wall:.0f} images/s; wall {wall:.2f} s"
        + (f", device busy {busy:.2f} s ({busy / wall:.0%})" if busy is not None else "")
    )
    print(
        events.table(
            sort_by="self_device_time_total" if on_cuda else "self_cpu_time_total",
            row_limit=rows,
            max_name_column_width=48,
        )
    )
