"""The tensor cache: each split's images decoded and resized once, stored as uint8."""

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from foodcnn.data.reader import load_image_tensor
from foodcnn.io import save_torch

PREPARED_DIR = Path("data/prepared")
IMAGES_PER_WORKER = 200  # below this, starting a process costs more than it saves


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # uint8, (N, 3, H, W)
    labels: torch.Tensor  # int64, (N,)
    classes: tuple[str, ...]
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def _decode(path: Path, size: int, policy: str) -> np.ndarray:
    """One image as a (3, size, size) uint8 array: arrays, unlike tensors, cross processes as plain bytes."""
    return load_image_tensor(path, size, policy).numpy()


def build_image_set(
    root: Path, rows: list[tuple[str, str]], classes: tuple[str, ...], size: int, policy: str, workers: int = 1
) -> ImageSet:
    """Decode (path, label) rows under root into one ImageSet, in up to `workers` processes, in row order."""
    index = {label: i for i, label in enumerate(classes)}
    paths = [root / path for path, _ in rows]
    images = torch.empty(len(rows), 3, size, size, dtype=torch.uint8)
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


def save_image_set(path: Path, image_set: ImageSet) -> None:
    save_torch(path, {
        "images": image_set.images,
        "labels": image_set.labels,
        "classes": list(image_set.classes),
        "paths": list(image_set.paths),
    })


def load_image_set(split: str, folder: Path = PREPARED_DIR) -> ImageSet:
    """One split ("train", "val" or "test") of the tensor cache."""
    data = torch.load(folder / f"{split}.pt", weights_only=True)
    return ImageSet(data["images"], data["labels"], tuple(data["classes"]), tuple(data["paths"]))
