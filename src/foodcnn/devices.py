"""Where a stage computes: the accelerator it picks and its CPU threads."""

import torch


def pick_device() -> torch.device:
    """The best device here, CUDA with its index (cuda:0, as tensors on it report their device)."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def compute_device(threads: int) -> torch.device:
    """The device a stage computes on, with its CPU threads fixed to params.yaml's `threads`.

    Set, not left to PyTorch (one per core): how many threads split a sum changes its last bits, so a default
    that follows the machine would make the same parameters give other weights on another machine.
    """
    torch.set_num_threads(threads)
    return pick_device()
