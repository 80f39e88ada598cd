"""A hash of the result of every operation a training run of the study performs, on fixed inputs, on one thread.

Two machines whose lines agree compute those operations to the same bits; a line that differs names an
operation that computes other bits there. Run from the project root:

    python bench/op_hashes.py               # the project's CPU settings (importing foodcnn sets them)
    python bench/op_hashes.py --no-onednn   # convolutions through PyTorch's own kernels instead of oneDNN
    ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=ALL MKL_CBWR=AUTO python bench/op_hashes.py  # libraries' choice

Each line is printed as soon as it is computed, so that a crash (as under an emulator) still shows how far
it got. Recorded outputs: bench/RESULTS.md, "Which operations compute other bits on another CPU";
tests/test_op_hashes.py checks this machine family's lines.
"""

import argparse
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run without installing the project

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from foodcnn import numerics, provenance  # noqa: E402  (first: sets the CPU settings before torch loads)
from foodcnn.data.augment import affine_augment, normalize, random_affine_matrices  # noqa: E402
from foodcnn.models import ModelSpec, build_model  # noqa: E402
from foodcnn.params import AugmentParams  # noqa: E402
from foodcnn.training import adam  # noqa: E402

SEED = 20261206
CLASSES = 11
BATCH = 32  # train.batch_size's smaller grid value and finetune.batch_size
SIZE = 32  # data.image_size
AUGMENT = AugmentParams(crop_scale=(0.6, 1.0), rotation=15.0, flip=True)  # params.yaml's train.augment
MODELS = (
    ModelSpec("basic", CLASSES),
    ModelSpec("residual", CLASSES),
    ModelSpec("basic", CLASSES, dropout=0.5),
    ModelSpec("mobilenet", CLASSES, trainable_blocks=2),
)

Case = tuple[str, tuple[torch.Tensor, ...]]


def digest(tensors: tuple[torch.Tensor, ...]) -> str:
    """The first 16 hex digits of the SHA-256 of the tensors' bytes, in order."""
    hashed = hashlib.sha256()
    for tensor in tensors:
        hashed.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return hashed.hexdigest()[:16]


def grads(
    output: torch.Tensor, inputs: tuple[torch.Tensor, ...], generator: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """The gradients of inputs under a random upstream gradient of output's shape."""
    return torch.autograd.grad(output, inputs, torch.randn(output.shape, generator=generator))


def leaf(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator).requires_grad_()


def images(generator: torch.Generator, count: int = BATCH) -> torch.Tensor:
    return torch.randint(0, 256, (count, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8)


def convolution_cases(generator: torch.Generator) -> Iterator[Case]:
    """Every convolution shape family of the three models: forward, backward to input, backward to weight."""
    shapes = {  # name: (input, weight, stride, padding, groups)
        "conv 3x3, 3 -> 32, 32 px (first layer)": ((BATCH, 3, 32, 32), (32, 3, 3, 3), 1, 1, 1),
        "conv 3x3, 64 -> 128, 8 px": ((BATCH, 64, 8, 8), (128, 64, 3, 3), 1, 1, 1),
        "conv 3x3 stride 2, 128 -> 256": ((BATCH, 128, 8, 8), (256, 128, 3, 3), 2, 1, 1),
        "conv 1x1 stride 2, 128 -> 256 (skip)": ((BATCH, 128, 8, 8), (256, 128, 1, 1), 2, 0, 1),
        "conv 1x1, 160 -> 960 (pointwise)": ((BATCH, 160, 2, 2), (960, 160, 1, 1), 1, 0, 1),
        "conv 3x3 depthwise, 960": ((BATCH, 960, 2, 2), (960, 1, 3, 3), 1, 1, 960),
    }
    for name, (input_shape, weight_shape, stride, padding, groups) in shapes.items():
        x, w = leaf(input_shape, generator), leaf(weight_shape, generator)
        y = F.conv2d(x, w, stride=stride, padding=padding, groups=groups)
        grad_x, grad_w = grads(y, (x, w), generator)
        yield f"{name} forward", (y,)
        yield f"{name} backward input", (grad_x,)
        yield f"{name} backward weight", (grad_w,)


def layer_cases(generator: torch.Generator) -> Iterator[Case]:
    """Batch norm in both modes, activations, pooling, the residual sum, the head's linear layers, dropout."""
    x = leaf((BATCH, 64, 16, 16), generator)
    norm = nn.BatchNorm2d(64)
    y = norm(x)  # train mode: batch statistics, running statistics updated
    yield "batch norm train forward", (y,)
    yield "batch norm train backward", (*grads(y, (x, norm.weight, norm.bias), generator),)
    yield "batch norm running statistics", (norm.running_mean, norm.running_var)
    yield "batch norm eval forward", (norm.eval()(x),)
    for name, function in (
        ("relu", F.relu),
        ("relu6", lambda t: F.relu6(t * 4)),
        ("max pool 2x2", lambda t: F.max_pool2d(t, 2)),
        ("global average pool", lambda t: F.adaptive_avg_pool2d(t, 1)),
        ("residual sum + relu", lambda t: F.relu(t + t.flip(1))),
    ):
        y = function(x)
        yield f"{name} forward", (y,)
        yield f"{name} backward", grads(y, (x,), generator)
    for inputs, outputs in ((512, 256), (256, CLASSES), (1280, CLASSES)):
        features, weight = leaf((BATCH, inputs), generator), leaf((outputs, inputs), generator)
        bias = leaf((outputs,), generator)
        y = F.linear(features, weight, bias)
        yield f"linear {inputs} -> {outputs} forward", (y,)
        yield f"linear {inputs} -> {outputs} backward", grads(y, (features, weight, bias), generator)
    torch.manual_seed(SEED)
    yield "dropout 0.5 (seeded)", (F.dropout(x.detach(), 0.5, training=True),)


def loss_and_optimizer_cases(generator: torch.Generator) -> Iterator[Case]:
    logits = leaf((BATCH, CLASSES), generator)
    targets = torch.randint(0, CLASSES, (BATCH,), generator=generator)
    loss = F.cross_entropy(logits, targets)
    yield "cross entropy forward", (loss,)
    yield "cross entropy backward", torch.autograd.grad(loss, (logits,))
    yield "softmax", (torch.softmax(logits.detach(), 1),)
    parameters = [
        nn.Parameter(torch.randn(256, 512, generator=generator)),
        nn.Parameter(torch.randn(256, generator=generator)),
    ]
    optimizer = adam(parameters, lr=0.01)  # the study's optimizer: fused Adam
    for _ in range(3):  # bias correction differs from step to step
        for parameter in parameters:
            parameter.grad = torch.randn(parameter.shape, generator=generator)
        optimizer.step()
    yield "fused Adam, 3 steps", (*parameters, *(s for p in parameters for s in optimizer.state[p].values()))


def data_cases(generator: torch.Generator) -> Iterator[Case]:
    """The epoch plan's draws, the augmentation (matrices, grid, sampling, normalisation)."""
    yield (
        "random draws: randperm, uniform, rand",
        (
            torch.randperm(462, generator=generator).float(),
            torch.empty(64).uniform_(0.6, 1.0, generator=generator),
            torch.rand(64, generator=generator),
        ),
    )
    theta = random_affine_matrices(BATCH, AUGMENT, generator)
    yield "augmentation matrices (exp, sqrt, cos, sin)", (theta,)
    pixels = images(generator)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    yield "affine grid", (grid,)
    yield "grid sample, bilinear", (F.grid_sample(pixels.float().div_(255.0), grid, align_corners=False),)
    yield "augmentation as training runs it", (affine_augment(pixels, theta),)
    yield "normalise (evaluation input)", (normalize(pixels),)


def model_cases(generator: torch.Generator) -> Iterator[Case]:
    """Each model's initial weights, forward and backward in train mode, eval logits, and two whole training
    steps (augmentation, forward, cross entropy, backward, fused Adam) as training.fit takes them."""
    for spec in MODELS:
        label = spec.name + (f" dropout {spec.dropout}" if spec.dropout else "")
        torch.manual_seed(SEED)
        model = build_model(spec)
        yield f"{label}: initial weights", tuple(model.state_dict().values())
        pixels = images(generator)
        targets = torch.randint(0, CLASSES, (BATCH,), generator=generator)
        trainable = [p for p in model.parameters() if p.requires_grad]
        model.train()
        logits = model(normalize(pixels))
        yield f"{label}: forward, train mode", (logits,)
        yield f"{label}: backward", torch.autograd.grad(F.cross_entropy(logits, targets), trainable)
        with torch.inference_mode():
            yield f"{label}: eval logits", (model.eval()(normalize(pixels)),)
        model.train()
        optimizer = adam(trainable, lr=0.001)
        for _ in range(2):
            inputs = affine_augment(pixels, random_affine_matrices(BATCH, AUGMENT, generator))
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        yield f"{label}: 2 training steps", (loss, *model.state_dict().values())


# The matrix products first and the augmentation's grid_sample late: QEMU 7.2 crashes in its AVX2 code.
CASES: tuple[Callable[[torch.Generator], Iterator[Case]], ...] = (
    convolution_cases,
    layer_cases,
    loss_and_optimizer_cases,
    data_cases,
    model_cases,
)


def header() -> str:
    settings = ", ".join(f"{name}={os.environ.get(name, '')}" for name in numerics.PORTABLE_CPU_SETTINGS)
    libraries = ", ".join(f"{name} {version}" for name, version in provenance.library_versions().items())
    return (
        f"# {provenance.this_cpu().describe()} | {libraries} | capability "
        f"{torch.backends.cpu.get_cpu_capability()} | {settings} | oneDNN "
        f"{'on' if torch.backends.mkldnn.enabled else 'off'} | threads {torch.get_num_threads()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-onednn", action="store_true", help="convolutions through PyTorch's own kernels")
    torch.backends.mkldnn.enabled = not parser.parse_args().no_onednn
    torch.set_num_threads(1)  # params.yaml's threads
    print(header(), flush=True)
    for cases in CASES:
        # A generator per group, so that a line's inputs do not depend on the groups before it.
        for name, tensors in cases(torch.Generator().manual_seed(SEED)):
            print(f"{name:52s} {digest(tensors)}", flush=True)


if __name__ == "__main__":
    main()
