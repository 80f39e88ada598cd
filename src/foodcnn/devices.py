"""Where a stage computes: the accelerator it picks and its CPU threads."""

import os

import torch

from foodcnn.errors import FoodCnnError

THREADS_VARIABLE = "FOODCNN_THREADS"


def pick_device() -> torch.device:
    """The best device here, CUDA with its index (cuda:0, as tensors on it report their device)."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_threads_from_environment() -> None:
    """Intra-op threads from FOODCNN_THREADS when it is set: cores / parallel runs when runs share a machine."""
    value = os.environ.get(THREADS_VARIABLE)
    if value is None:
        return
    if not value.isdigit() or int(value) < 1:
        raise FoodCnnError(f"{THREADS_VARIABLE} must be a positive integer, got {value!r}")
    torch.set_num_threads(int(value))
