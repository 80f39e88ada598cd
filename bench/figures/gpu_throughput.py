"""GPU figure 1: per-model images/s of training.fit against a bare torch.compile'd loop of the same model and
batch, and TFLOP/s against the chip's peak."""

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from harness import BENCH_LR, NUM_CLASSES, quiet_fit, random_image_set, timed
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from foodcnn import params as study_params
from foodcnn.data.augment import normalize
from foodcnn.devices import pick_device
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings, adam, configure_cudnn, numerics

# Dense bf16 tensor-core peaks from NVIDIA's data sheets, by a part of the device name (first match wins).
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0}


def training_flops_per_image(spec: ModelSpec, size: int) -> float:
    """FLOPs of one training step (forward and backward) per image, counted on the CPU on two images."""
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


def bare_compiled_loop(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    epochs: int,
    device: torch.device,
    compiled: bool,
) -> Callable[[], None]:
    """The reference step, nothing else: fused Adam, ready normalised inputs on the device, indexes drawn there,
    only full batches (one shape, so one compilation), the same precision, layout and cuDNN settings as fit's."""
    configure_cudnn(device)
    precision, channels_last = numerics("auto", "auto", device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=layout).train()
    step_model = torch.compile(model) if compiled else model
    optimizer = adam([p for p in model.parameters() if p.requires_grad], BENCH_LR)
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


def measure(
    models: list[str],
    size: int,
    batch_size: int,
    count: int,
    epochs: int,
    compiled: bool,
    peak: float | None,
    augment: study_params.AugmentParams,
) -> None:
    """training.fit against a bare compiled loop, per model, and the FLOP rate both reach."""
    device = pick_device()
    count -= count % batch_size  # full batches only, in both loops
    train, val = random_image_set(count, size, 0), random_image_set(2, size, 1)  # validation stays out of the figure
    inputs, labels = normalize(train.images.to(device)), train.labels.to(device)
    precision, channels_last = numerics("auto", "auto", device)
    peak = peak_tflops(device, peak)
    print(
        f"\ngpu-throughput: training images/s on {device}, {count} images of {size} px, batch {batch_size}, "
        f"{epochs} epochs per timing, {precision}{' + channels_last' if channels_last else ''}; "
        f"bare loop {'torch.compile' if compiled else 'eager'}; peak {f'{peak:g} TFLOP/s' if peak else 'unknown'}"
    )
    print(
        f"   {'model':30} {'GFLOP/img':>9} {'bare':>7} {'fit':>7} {'ratio':>6} {'fit+aug':>7} {'ratio':>6} "
        f"{'fit TFLOP/s':>11} {'of peak':>7}"
    )
    cases = {
        "basic": ModelSpec("basic", NUM_CLASSES),
        "residual": ModelSpec("residual", NUM_CLASSES),
        "mobilenet": ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=19),
    }
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
            rates.append(
                count
                * epochs
                / timed(
                    lambda: quiet_fit(copy.deepcopy(initial), train, val, settings, device),  # noqa: B023 (called before the loop moves on)
                    device,
                )
            )
        achieved = rates[0] * flops / 1e12
        share = f"{achieved / peak:7.1%}" if peak else f"{'n/a':>7}"
        print(
            f"   {name:30} {flops / 1e9:9.2f} {bare_rate:7.0f} {rates[0]:7.0f} {rates[0] / bare_rate:6.3f} "
            f"{rates[1]:7.0f} {rates[1] / bare_rate:6.3f} {achieved:11.2f} {share}",
            flush=True,
        )
