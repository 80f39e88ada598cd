"""The tensor cache: each split's images decoded and resized once, stored as uint8."""

from dataclasses import dataclass
from pathlib import Path

import torch

from foodcnn.io import save_torch
from foodcnn.layout import prepared, require


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # uint8, (N, 3, H, W)
    labels: torch.Tensor  # int64, (N,)
    classes: tuple[str, ...]
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def save_image_set(path: Path, image_set: ImageSet) -> None:
    save_torch(
        path,
        {
            "images": image_set.images,
            "labels": image_set.labels,
            "classes": list(image_set.classes),
            "paths": list(image_set.paths),
        },
    )


def load_image_set(split: str) -> ImageSet:
    """One split ("train", "val" or "test") of the tensor cache, mapped from its file, not read into memory:
    runs side by side share one copy in the page cache, and a run reads the pages of the batches it takes."""
    require(prepared(split))
    data = torch.load(prepared(split), mmap=True, weights_only=True)
    return ImageSet(data["images"], data["labels"], tuple(data["classes"]), tuple(data["paths"]))
