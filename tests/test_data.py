import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from foodcnn.data import decode
from foodcnn.data.decode import build_image_set
from foodcnn.data.reader import UnreadableImage, list_class_folders, load_image_tensor, read_rgb
from foodcnn.data.sample import CLASS_NAMES, write_sample
from foodcnn.data.split import scan, split_report, stratified_split
from foodcnn.data.tensors import ImageSet, save_image_set
from foodcnn.errors import DataError
from tests.conftest import NEAR_DUPLICATES, noise_image, png_16bit_rgb, save_image


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.jpg")))).hexdigest()


def test_sample_is_eleven_synthetic_classes_of_rgb_files_and_deterministic(tmp_path):
    counts = write_sample(tmp_path / "a", images_per_class=3, image_size=32, seed=1)
    write_sample(tmp_path / "b", images_per_class=3, image_size=32, seed=1)
    write_sample(tmp_path / "c", images_per_class=3, image_size=32, seed=2)
    assert len(counts) == 11 and set(counts.values()) == {3}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(CLASS_NAMES)
    assert all(name.startswith("synthetic_") for name in CLASS_NAMES)
    with Image.open(next((tmp_path / "a").rglob("*.jpg"))) as image:
        assert image.mode == "RGB" and image.size == (32, 32) and image.format == "JPEG"
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [
        ("L", ".png"),
        ("RGBA", ".png"),
        ("CMYK", ".jpg"),
        ("P", ".gif"),
        ("I;16", ".png"),
        ("RGB", ".webp"),
        ("RGB", ".bmp"),
        ("LA", ".png"),
        ("1", ".bmp"),
        ("P", ".png"),
        ("RGB", ".JPEG"),
    ],
)
def test_reader_turns_every_mode_into_rgb(tmp_path, mode, suffix):
    image = Image.new("RGB", (20, 10), (200, 100, 50))
    if mode == "I;16":
        image = Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16))
    else:
        image = image.convert(mode)
    rgb = read_rgb(save_image(image, tmp_path / f"image{suffix}"))
    assert rgb.mode == "RGB" and rgb.size == (20, 10)
    if mode == "I;16":
        assert rgb.getpixel((0, 0)) == (156, 156, 156)


def test_reader_composites_transparency_on_white(tmp_path):
    path = save_image(Image.new("RGBA", (4, 4), (255, 0, 0, 0)), tmp_path / "clear.png")
    assert read_rgb(path).getpixel((0, 0)) == (255, 255, 255)


def test_reader_composites_a_transparent_palette_entry_on_white(tmp_path):
    image = Image.new("P", (4, 2), 1)
    image.putpalette([0, 0, 0, 0, 160, 0] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 2, 2))  # left half: palette entry 0, the transparent one
    rgb = read_rgb(save_image(image, tmp_path / "palette.png", transparency=0))
    assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((3, 0)) == (0, 160, 0)


def test_reader_scales_16_bit_rgb_to_8_bit(tmp_path):
    path = tmp_path / "deep.png"
    path.write_bytes(png_16bit_rgb((65535, 32896, 1000)))
    assert read_rgb(path).getpixel((0, 0)) == (255, 128, 3)


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_reader_takes_the_first_frame_of_an_animation(tmp_path, suffix):
    frames = [Image.new("RGB", (8, 8), colour) for colour in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    path = save_image(frames[0], tmp_path / f"animated{suffix}", save_all=True, append_images=frames[1:], lossless=True)
    with Image.open(path) as image:
        assert image.n_frames == 3
    assert read_rgb(path).getpixel((4, 4)) == (255, 0, 0)


def test_reader_rejects_decompression_bombs(tmp_path, monkeypatch):
    path = save_image(Image.new("RGB", (64, 64)), tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UnreadableImage, match="cannot decode .*decompression bomb"):
        read_rgb(path)


def test_reader_applies_exif_orientation(tmp_path):
    image = Image.new("RGB", (30, 10), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    assert read_rgb(save_image(image, tmp_path / "rotated.jpg", exif=exif)).size == (10, 30)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.txt", b"hello", "not an image file type"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "cannot decode"),
        ("text.png", b"a text file with an image suffix", "cannot decode \\(not a known image format\\)"),
    ],
)
def test_reader_rejects_bad_files_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableImage, match=reason) as error:
        read_rgb(path)
    assert error.value.path == path


def test_reader_rejects_truncated_files(tmp_path):
    path = save_image(Image.effect_noise((64, 64), 50).convert("RGB"), tmp_path / "full.jpg")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UnreadableImage, match="cannot decode"):
        read_rgb(path)


@pytest.mark.parametrize("policy", ["crop", "pad"])
def test_image_tensor_has_the_requested_size(tmp_path, policy):
    path = save_image(Image.new("RGB", (40, 20), (10, 20, 30)), tmp_path / "wide.png")
    tensor = load_image_tensor(path, 16, policy)
    assert tensor.shape == (3, 16, 16) and tensor.dtype == torch.uint8
    corner = tensor[:, 0, 0].tolist()
    assert corner == ([10, 20, 30] if policy == "crop" else [0, 0, 0])


def make_folder(root: Path, counts: dict[str, int]) -> Path:
    for class_index, (label, count) in enumerate(counts.items()):
        for index in range(count):
            save_image(noise_image(1000 * class_index + index), root / label / f"{index}.png")
    return root


def test_hidden_files_and_folders_are_ignored(tmp_path):
    root = make_folder(tmp_path, {"a": 2, "b": 1})
    (root / "a" / ".DS_Store").write_bytes(b"junk")
    save_image(Image.new("RGB", (8, 8)), root / "a" / ".ipynb_checkpoints" / "x.png")
    save_image(Image.new("RGB", (8, 8)), root / ".hidden_class" / "x.png")
    folders = list_class_folders(root)
    assert sorted(folders) == ["a", "b"]
    assert [p.name for p in folders["a"]] == ["0.png", "1.png"]


def test_split_is_stratified_disjoint_and_deterministic(tmp_path):
    found = scan(make_folder(tmp_path, {"apple": 20, "pizza": 40, "sushi": 10}), NEAR_DUPLICATES)
    split = stratified_split(found, 0.2, 0.1, seed=3)
    rows = list(split.rows())
    assert rows == list(stratified_split(found, 0.2, 0.1, seed=3).rows())
    assert rows != list(stratified_split(found, 0.2, 0.1, seed=4).rows())
    paths = [path for path, _, _ in rows]
    assert len(paths) == len(set(paths)) == 70 and paths == sorted(paths)
    counts = split_report(split.counts(), [])["classes"]
    assert counts == {
        "apple": {"train": 14, "val": 4, "test": 2},
        "pizza": {"train": 28, "val": 8, "test": 4},
        "sushi": {"train": 7, "val": 2, "test": 1},
    }


def test_a_class_too_small_to_split_is_named(tmp_path):
    found = scan(make_folder(tmp_path, {"apple": 20, "omelette": 2}), NEAR_DUPLICATES)
    with pytest.raises(DataError, match="class 'omelette' has 2 usable images"):
        stratified_split(found, 0.15, 0.15, seed=0)


def test_an_empty_class_is_named(tmp_path):
    root = make_folder(tmp_path, {"apple": 5})
    (root / "ramen").mkdir()
    with pytest.raises(DataError, match="class 'ramen' has 0 usable images"):
        stratified_split(scan(root, NEAR_DUPLICATES), 0.15, 0.15, seed=0)


def test_scan_skips_bad_files_and_duplicates_with_reasons(tmp_path):
    root = make_folder(tmp_path, {"apple": 4, "pizza": 4})
    (root / "pizza" / "notes.txt").write_text("menu")
    (root / "pizza" / "zero.jpg").write_bytes(b"")
    (root / "apple" / "copy.png").write_bytes((root / "apple" / "0.png").read_bytes())
    found = scan(root, NEAR_DUPLICATES)
    assert found.files["apple"] == ["apple/0.png", "apple/1.png", "apple/2.png", "apple/3.png"]
    assert {(s.path, s.reason.split(" (")[0]) for s in found.skipped} == {
        ("apple/copy.png", "duplicate of apple/0.png"),
        ("pizza/notes.txt", "not an image file type"),
        ("pizza/zero.jpg", "empty file"),
    }


def test_build_image_set_in_worker_processes_gives_the_same_set_in_row_order(tmp_path, monkeypatch):
    root = make_folder(tmp_path, {"a": 5, "b": 4})
    rows = [(f"{label}/{index}.png", label) for label, count in [("b", 4), ("a", 5)] for index in range(count)]
    serial = build_image_set(root, rows, ("a", "b"), 8, "pad", tmp_path / "serial")
    monkeypatch.setattr(decode, "IMAGES_PER_WORKER", 1)
    parallel = build_image_set(root, rows, ("a", "b"), 8, "pad", tmp_path / "parallel", workers=2)
    assert torch.equal(parallel.images, serial.images) and torch.equal(parallel.labels, serial.labels)
    assert parallel.paths == serial.paths == tuple(path for path, _ in rows)


def test_build_image_set_labels_follow_the_class_order(tmp_path):
    root = make_folder(tmp_path, {"a": 1, "b": 1})
    image_set = build_image_set(root, [("b/0.png", "b"), ("a/0.png", "a")], ("a", "b"), 8, "crop", tmp_path / "pixels")
    assert image_set.images.shape == (2, 3, 8, 8)
    assert image_set.labels.tolist() == [1, 0]
    assert image_set.paths == ("b/0.png", "a/0.png")


def test_decoded_pixels_live_in_the_staging_file_and_save_as_the_same_bytes_as_in_memory(tmp_path):
    root = make_folder(tmp_path, {"a": 3, "b": 2})
    rows = [(f"{label}/{index}.png", label) for label, count in [("a", 3), ("b", 2)] for index in range(count)]
    staged = build_image_set(root, rows, ("a", "b"), 8, "crop", tmp_path / "pixels")
    assert (tmp_path / "pixels").read_bytes() == staged.images.numpy().tobytes()
    in_memory = ImageSet(staged.images.clone(), staged.labels, staged.classes, staged.paths)
    save_image_set(tmp_path / "staged.pt", staged)
    save_image_set(tmp_path / "in_memory.pt", in_memory)
    assert (tmp_path / "staged.pt").read_bytes() == (tmp_path / "in_memory.pt").read_bytes()
