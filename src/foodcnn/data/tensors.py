"""The tensor cache: each split's images decoded and resized once, stored as uint8."""

from dataclasses import dataclass
from pathlib import Path

import torch

from foodcnn.data.reader import load_image_tensor
from foodcnn.io import save_torch

PREPARED_DIR = Path("data/prepared")


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # uint8, (N, 3, H, W)
    labels: torch.Tensor  # int64, (N,)
    classes: tuple[str, ...]
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def build_image_set(
    root: Path, rows: list[tuple[str, str]], classes: tuple[str, ...], size: int, policy: str
) -> ImageSet:
    """Decode (path, label) rows under root into one ImageSet."""
    index = {label: i for i, label in enumerate(classes)}
    images = [load_image_tensor(root / path, size, policy) for path, _ in rows]
    return ImageSet(
        images=torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8),
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
