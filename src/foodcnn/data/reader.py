"""The one image reader every data source goes through."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})


class UnreadableImage(Exception):
    """A file that is not a usable image; `reason` says why in a few words."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def list_class_folders(root: Path) -> dict[str, list[Path]]:
    """Map each visible class sub-folder of `root` to its visible files, both sorted by name."""
    return {label: sorted(root / label / name for name in class_files(root / label)) for label in class_folders(root)}


def class_folders(root: Path) -> list[str]:
    """The names of the visible sub-folders of `root`, sorted."""
    return sorted(folder.name for folder in root.iterdir() if folder.is_dir() and not is_hidden(folder))


def class_files(folder: Path) -> Iterator[str]:
    """The visible files under `folder` as paths relative to it, in no set order, one at a time (a class of
    the split stage's can hold most of the photos). Hidden and symlinked folders are not entered, unreadable
    ones skipped, as Path.rglob does; a symlink to a file counts as a file."""
    for top, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        prefix = Path(top).relative_to(folder).as_posix() + "/" if top != str(folder) else ""
        for name in names:
            if not name.startswith(".") and os.path.isfile(os.path.join(top, name)):
                yield prefix + name


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to 8-bit RGB; 16-bit greyscale is scaled, transparency composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def read_rgb(path: Path) -> Image.Image:
    """Decode an image file as upright 8-bit RGB (EXIF orientation applied, first frame of animations)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise UnreadableImage(path, f"not an image file type ({path.suffix or 'no suffix'})")
    if path.stat().st_size == 0:
        raise UnreadableImage(path, "empty file")
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image))
    except UnidentifiedImageError as error:  # its message holds the absolute path; the report is in git
        raise UnreadableImage(path, "cannot decode (not a known image format)") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UnreadableImage(path, f"cannot decode ({error})") from error


def resize(image: Image.Image, size: int, policy: str) -> Image.Image:
    """Make a size x size image: 'crop' scales the shorter side and centre-crops, 'pad' scales and pads."""
    if policy == "crop":
        return ImageOps.fit(image, (size, size), method=Image.Resampling.BILINEAR)
    return ImageOps.pad(image, (size, size), method=Image.Resampling.BILINEAR, color=(0, 0, 0))


def load_image_tensor(path: Path, size: int, policy: str) -> "torch.Tensor":
    """Read, convert and resize one file into a uint8 tensor of shape (3, size, size)."""
    import torch  # here, not at the top: split and images read photos without torch

    array = np.asarray(resize(read_rgb(path), size, policy), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()
