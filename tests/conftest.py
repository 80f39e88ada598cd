"""Small generated data shared by the tests."""

import importlib.util
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import foodcnn.models
from foodcnn.data.tensors import ImageSet
from foodcnn.params import AugmentParams, load

REPO = Path(__file__).resolve().parents[1]
NEAR_DUPLICATES = load(REPO / "params.yaml").split.near_duplicates  # the repository's default threshold
# Real photos that ship with the project's dependencies (512 x 600, 640 x 427, 640 x 427), found without
# importing the packages
PACKAGES = {name: Path(importlib.util.find_spec(name).origin).parent for name in ("matplotlib", "sklearn")}
PHOTOS = {
    "grace_hopper": PACKAGES["matplotlib"] / "mpl-data/sample_data/grace_hopper.jpg",
    "china": PACKAGES["sklearn"] / "datasets/images/china.jpg",
    "flower": PACKAGES["sklearn"] / "datasets/images/flower.jpg",
}
# The team and its trained study, shared by the team tests of every kind of remote (trained once a session), the
# tiny study, its experiment, the small study and it at three seeds (each built once for every worker), the
# servers' versions in the session's summary, and the suite's groups on pytest-xdist's workers.
pytest_plugins = ["tests.team", "tests.study", "tests.servers", "tests.workers"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked cuda need a CUDA device: skipped where there is none (`pytest -m cuda` runs only them)."""
    if torch.cuda.is_available():
        return
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


@pytest.fixture
def augment() -> AugmentParams:
    return AugmentParams(crop_scale=(0.6, 1.0), rotation=15.0, flip=True)


def separable_set(count: int, seed: int, size: int = 16) -> ImageSet:
    """Two classes a CNN separates at once: dark images and bright images, with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 2
    base = torch.where(labels == 1, 200, 50).view(-1, 1, 1, 1).float()
    noise = torch.randn(count, 3, size, size, generator=generator) * 20
    images = (base + noise).clamp(0, 255).to(torch.uint8)
    return ImageSet(images, labels, ("dark", "bright"), tuple(f"{i}.png" for i in range(count)))


@pytest.fixture
def separable() -> tuple[ImageSet, ImageSet]:
    return separable_set(64, seed=0), separable_set(32, seed=1)


def noise_image(seed: int, size: tuple[int, int] = (8, 8)) -> Image.Image:
    """Random RGB pixels: images of different seeds are neither copies nor near-duplicates of each other."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def save_image(image: Image.Image, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def png_16bit_rgb(colour: tuple[int, int, int], size: int = 6) -> bytes:
    """A 16-bit-per-channel RGB PNG, which Pillow cannot write."""
    row = b"\x00" + struct.pack(">3H", *colour) * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 16, 2, 0, 0, 0)
    pixels = zlib.compress(row * size)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def write_mixed_folder(root: Path) -> tuple[dict[str, tuple[tuple[int, int, int], int]], dict[str, str]]:
    """A class folder tree with every kind of good and bad input a real photo folder holds.

    Returns the good files as path -> (expected RGB colour, tolerance) and the bad ones as path -> the start
    of the reason they are skipped with; hidden files are in neither, since they are not inputs at all.
    """
    solid = Image.new
    good: dict[str, tuple[tuple[int, int, int], int]] = {}
    save_image(solid("RGB", (24, 16), (200, 100, 50)), root / "apple/photo.jpg", quality=95)
    good["apple/photo.jpg"] = ((200, 100, 50), 4)
    exif = Image.Exif()
    exif[0x0112] = 6
    save_image(solid("RGB", (24, 16), (40, 140, 90)), root / "apple/rotated.jpg", quality=95, exif=exif)
    good["apple/rotated.jpg"] = ((40, 140, 90), 4)
    save_image(solid("L", (16, 16), 128), root / "apple/grey.png")
    good["apple/grey.png"] = ((128, 128, 128), 0)
    palette = solid("P", (16, 16), 1)
    palette.putpalette([0, 0, 0, 0, 160, 0] + [0, 0, 0] * 254)
    save_image(palette, root / "apple/palette_clear.png", transparency=1)  # every pixel transparent: white
    good["apple/palette_clear.png"] = ((255, 255, 255), 0)
    save_image(solid("RGBA", (16, 16), (10, 20, 30, 255)), root / "apple/opaque.png")
    good["apple/opaque.png"] = ((10, 20, 30), 0)
    save_image(solid("RGB", (16, 16), (0, 0, 255)).convert("CMYK"), root / "apple/print.jpg", quality=95)
    good["apple/print.jpg"] = ((0, 0, 255), 4)
    save_image(Image.fromarray(np.full((16, 16), 40000, dtype=np.uint16)), root / "apple/deep_grey.png")
    good["apple/deep_grey.png"] = ((156, 156, 156), 0)
    (root / "apple/deep_rgb.png").write_bytes(png_16bit_rgb((65535, 32896, 1000)))
    good["apple/deep_rgb.png"] = ((255, 128, 3), 0)
    frames = [solid("RGB", (16, 16), (255, 0, 0)), solid("RGB", (16, 16), (0, 0, 255))]
    save_image(frames[0], root / "apple/animated.gif", save_all=True, append_images=frames[1:])
    good["apple/animated.gif"] = ((255, 0, 0), 0)
    save_image(solid("RGB", (16, 16), (30, 60, 90)), root / "pizza/lossless.webp", lossless=True)
    good["pizza/lossless.webp"] = ((30, 60, 90), 0)
    save_image(solid("RGB", (16, 16), (90, 60, 30)), root / "pizza/upper.BMP")
    good["pizza/upper.BMP"] = ((90, 60, 30), 0)
    save_image(solid("RGB", (16, 16), (120, 40, 200)), root / "pizza/nested/deeper.png")
    good["pizza/nested/deeper.png"] = ((120, 40, 200), 0)
    save_image(solid("1", (16, 16), 0), root / "pizza/bilevel.png")  # black: a white one copies palette_clear
    good["pizza/bilevel.png"] = ((0, 0, 0), 0)

    bad = {
        "pizza/empty.jpg": "empty file",
        "pizza/truncated.jpg": "cannot decode",
        "pizza/text.png": "cannot decode",
        "pizza/notes.txt": "not an image file type (.txt)",
        "pizza/LICENSE": "not an image file type (no suffix)",
        "pizza/copy_of_grey.png": "duplicate of apple/grey.png",
        "pizza/grey.bmp": "duplicate of apple/grey.png (identical pixels)",  # other bytes, the same photo
        "apple/renamed.jpg": "duplicate of apple/animated.gif",
    }
    (root / "pizza/empty.jpg").write_bytes(b"")
    noisy = save_image(Image.effect_noise((64, 64), 60).convert("RGB"), root / "pizza/truncated.jpg")
    noisy.write_bytes(noisy.read_bytes()[:400])
    (root / "pizza/text.png").write_text("not a picture, whatever the name says")
    (root / "pizza/notes.txt").write_text("menu")
    (root / "pizza/LICENSE").write_text("CC-BY")
    (root / "pizza/copy_of_grey.png").write_bytes((root / "apple/grey.png").read_bytes())
    save_image(solid("L", (16, 16), 128), root / "pizza/grey.bmp")
    (root / "apple/renamed.jpg").write_bytes((root / "apple/animated.gif").read_bytes())  # a GIF named .jpg
    (root / "pizza/.DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    save_image(solid("RGB", (8, 8)), root / "pizza/.ipynb_checkpoints/photo-checkpoint.png")
    save_image(solid("RGB", (8, 8)), root / ".thumbnails/apple/photo.png")
    return good, bad


def write_fake_food101(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    """A Food-101 tree under root/food-101 as the archive unpacks: meta lists and images/<class>/<id>.jpg.

    sizes maps each class to its number of (train, test) images; every image has its own random pixels.
    """
    base = root / "food-101"
    lists: dict[str, list[str]] = {"train": [], "test": []}
    for class_index, (label, (train, test)) in enumerate(sorted(sizes.items())):
        for number in range(train + test):
            entry = f"{label}/{100 * class_index + number + 1000}"
            save_image(noise_image(100 * class_index + number, (20, 14)), base / "images" / f"{entry}.jpg")
            lists["train" if number < train else "test"].append(entry)
    (base / "meta").mkdir(parents=True, exist_ok=True)
    (base / "meta/classes.txt").write_text("".join(f"{label}\n" for label in sorted(sizes)))
    for split, entries in lists.items():
        (base / "meta" / f"{split}.txt").write_text("".join(f"{entry}\n" for entry in entries))
    return base


# A third from-scratch architecture in its own module, as a user would add one.
TOY_ARCHITECTURE = '''"""ToyCNN: one 3x3 convolution to the shared head's 512 features."""

import torch
from torch import nn

from foodcnn.models import register
from foodcnn.models.head import FEATURES, classifier_head


class ToyCNN(nn.Module):
    def __init__(self, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Conv2d(3, FEATURES, kernel_size=3, padding=1)
        self.head = classifier_head(num_classes, dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


register(__name__, "ToyCNN", ToyCNN)
'''


@pytest.fixture
def toy_architecture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`toy`, importable as foodcnn.models.toy from a folder added to the package for this test only."""
    folder = tmp_path / "architectures"
    folder.mkdir()
    (folder / "toy.py").write_text(TOY_ARCHITECTURE)
    monkeypatch.setattr(foodcnn.models, "__path__", [*foodcnn.models.__path__, str(folder)])
    monkeypatch.setattr(foodcnn.models, "_REGISTERED", dict(foodcnn.models._REGISTERED))
    yield "toy"
    sys.modules.pop("foodcnn.models.toy", None)
