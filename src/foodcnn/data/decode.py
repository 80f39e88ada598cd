"""Decoding a split's image files into one ImageSet, in worker processes when there are many, straight into a
file: the pixels go to disk as they come, so a split of any size decodes in the same memory."""

from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from foodcnn.data.reader import load_image_tensor
from foodcnn.data.tensors import ImageSet

IMAGES_PER_WORKER = 200  # below this, starting a process costs more than it saves


def _decode(path: Path, size: int, policy: str) -> np.ndarray:
    """One image as a (3, size, size) uint8 array: arrays, unlike tensors, cross processes as plain bytes."""
    return load_image_tensor(path, size, policy).numpy()


def file_backed_pixels(path: Path, count: int, size: int) -> torch.Tensor:
    """A (count, 3, size, size) uint8 tensor mapped from a new file at path: pages written to it are the file's,
    which the kernel writes out and drops when memory runs short, not the process's own memory."""
    pixels = torch.from_file(str(path), shared=True, size=count * 3 * size * size, dtype=torch.uint8)
    return pixels.view(count, 3, size, size)


def build_image_set(
    root: Path,
    rows: list[tuple[str, str]],
    classes: tuple[str, ...],
    size: int,
    policy: str,
    staging: Path,
    workers: int = 1,
) -> ImageSet:
    """Decode (path, label) rows under root into one ImageSet whose images are mapped from the new file
    `staging`, in up to `workers` processes, in row order."""
    index = {label: i for i, label in enumerate(classes)}
    paths = [root / path for path, _ in rows]
    images = file_backed_pixels(staging, len(rows), size)
    workers = min(workers, len(rows) // IMAGES_PER_WORKER)
    if workers > 1:
        # spawn, not fork: a forked child of a process that has used torch's thread pool can hang
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            arrays = pool.map(_decode, paths, repeat(size), repeat(policy), chunksize=32)
            for position, array in enumerate(arrays):
                images[position] = torch.from_numpy(array)
    else:
        for position, path in enumerate(paths):
            images[position] = load_image_tensor(path, size, policy)
    return ImageSet(
        images=images,
        labels=torch.tensor([index[label] for _, label in rows], dtype=torch.int64),
        classes=classes,
        paths=tuple(path for path, _ in rows),
    )
