"""Duplicate photos: pixel-identical and near-duplicate copies are left out, one photo of each group kept."""

import io

import pytest
from PIL import Image, PngImagePlugin

from foodcnn.data.duplicates import (
    duplicate_report,
)
from foodcnn.data.reader import read_rgb
from foodcnn.data.sample import write_sample
from foodcnn.data.split import scan, stratified_split
from foodcnn.figures import duplicate_figure
from foodcnn.params import load
from foodcnn.report import duplicates_section
from tests.conftest import NEAR_DUPLICATES, PHOTOS, REPO, noise_image, save_image


def reencoded(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer)


def copies_of(image: Image.Image) -> dict[str, Image.Image]:
    """What the split must catch: JPEG re-encodes at quality 50-95 and copies resized to half."""
    copies = {f"jpeg{quality}.jpg": reencoded(image, quality) for quality in range(50, 100, 5)}
    half = (image.width // 2, image.height // 2)
    for resample in (
        Image.Resampling.NEAREST,
        Image.Resampling.BILINEAR,
        Image.Resampling.BICUBIC,
        Image.Resampling.LANCZOS,
    ):
        copies[f"half_{resample.name.lower()}.png"] = image.resize(half, resample)
    return copies


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_reencoded_and_resized_copies_of_a_photo_are_each_left_out_naming_the_photo(tmp_path, photo):
    original = read_rgb(PHOTOS[photo])
    save_image(original, tmp_path / "apple/photo.png")
    copies = copies_of(original)
    for name, copy in copies.items():
        save_image(copy, tmp_path / "pizza" / name, quality=95)
    found = scan(tmp_path, NEAR_DUPLICATES)
    assert found.files == {"apple": ["apple/photo.png"], "pizza": []}
    reasons = {skipped.path: skipped.reason for skipped in found.skipped}
    assert set(reasons) == {f"pizza/{name}" for name in copies}
    assert all(reason.startswith("near-duplicate of apple/photo.png (difference hash ") for reason in reasons.values())


def test_a_copy_with_other_metadata_or_an_exif_rotation_has_identical_pixels(tmp_path):
    photo = read_rgb(PHOTOS["grace_hopper"])
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at the diner")
    save_image(photo, tmp_path / "apple/photo.png", pnginfo=info)
    save_image(photo, tmp_path / "pizza/stripped.png")  # no metadata: other bytes, the same pixels
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned a quarter clockwise, shown upright again
    save_image(photo.transpose(Image.Transpose.ROTATE_270), tmp_path / "pizza/rotated.png", exif=exif)
    found = scan(tmp_path, None)
    assert {(s.path, s.reason) for s in found.skipped} == {
        ("pizza/rotated.png", "duplicate of apple/photo.png (identical pixels)"),
        ("pizza/stripped.png", "duplicate of apple/photo.png (identical pixels)"),
    }


def test_the_default_threshold_flags_no_pair_of_the_default_sample(tmp_path):
    settings = load(REPO / "params.yaml")
    write_sample(tmp_path, settings.data.sample.images_per_class, settings.data.sample.image_size, settings.seed)
    found = scan(tmp_path, settings.split.near_duplicates)
    assert found.duplicates == [] and found.skipped == []
    assert sum(map(len, found.files.values())) == 11 * settings.data.sample.images_per_class


def test_off_keeps_near_duplicates_and_still_leaves_out_identical_pixels(tmp_path):
    photo = read_rgb(PHOTOS["china"])
    save_image(photo, tmp_path / "apple/photo.png")
    save_image(photo, tmp_path / "apple/same.bmp")
    save_image(photo, tmp_path / "pizza/resaved.jpg", quality=80)
    assert {s.path for s in scan(tmp_path, NEAR_DUPLICATES).skipped} == {"apple/same.bmp", "pizza/resaved.jpg"}
    off = scan(tmp_path, None)
    assert [(s.path, s.reason) for s in off.skipped] == [
        ("apple/same.bmp", "duplicate of apple/photo.png (identical pixels)")
    ]
    assert off.files["pizza"] == ["pizza/resaved.jpg"]


def test_flat_images_are_near_duplicates_only_in_about_the_same_colour(tmp_path):
    save_image(Image.new("RGB", (16, 16), (200, 40, 40)), tmp_path / "apple/red.png")
    save_image(Image.new("RGB", (24, 24), (204, 42, 38)), tmp_path / "apple/red_bigger.png")
    save_image(Image.new("RGB", (16, 16), (40, 40, 200)), tmp_path / "pizza/blue.png")  # the same (empty) hash
    found = scan(tmp_path, NEAR_DUPLICATES)
    assert [(d.path, d.kept, d.distance) for d in found.duplicates] == [("apple/red_bigger.png", "apple/red.png", 0)]


def test_with_a_fixed_test_list_the_training_copy_is_left_out_and_counted_as_a_leak(tmp_path):
    for index in range(6):
        save_image(noise_image(index, (32, 32)), tmp_path / f"apple/{index}.png")
        save_image(noise_image(100 + index, (32, 32)), tmp_path / f"pizza/{index}.png")
    photo = read_rgb(PHOTOS["flower"])
    save_image(photo, tmp_path / "apple/a_train.jpg", quality=90)  # first in path order
    save_image(photo.resize((320, 213)), tmp_path / "apple/z_test.jpg", quality=70)
    fixed_test = frozenset({"apple/z_test.jpg", "apple/5.png", "pizza/5.png"})
    assert [d.path for d in scan(tmp_path, NEAR_DUPLICATES).duplicates] == ["apple/z_test.jpg"]  # no fixed list
    found = scan(tmp_path, NEAR_DUPLICATES, fixed_test)
    assert [(d.path, d.kept) for d in found.duplicates] == [("apple/a_train.jpg", "apple/z_test.jpg")]
    rows = list(stratified_split(found, 0.2, 0.2, seed=0).rows())
    assert ("apple/z_test.jpg", "apple", "test") in rows and "apple/a_train.jpg" not in {path for path, _, _ in rows}
    report = duplicate_report(found.duplicates, list(found.files), NEAR_DUPLICATES, fixed_test)
    assert report["test_leaks"] == 1 and report["left_out"] == 1
    assert report["per_class"] == {"apple": {"identical": 0, "near": 1}, "pizza": {"identical": 0, "near": 0}}
    distance = found.duplicates[0].distance
    assert report["groups"] == [
        {"kept": "apple/z_test.jpg", "copies": [{"path": "apple/a_train.jpg", "distance": distance}]}
    ]
    assert duplicate_report(found.duplicates, list(found.files), None, None)["test_leaks"] is None


def test_each_group_keeps_its_first_photo_in_path_order_whatever_order_the_files_come_in(tmp_path):
    files = {"b/2.png": 0, "a/9.png": 0, "c/1.png": 1, "a/10.png": 0}
    expected = [("a/9.png", "a/10.png"), ("b/2.png", "a/10.png")]  # "a/10.png" < "a/9.png" as strings
    for folder, order in (("written", files), ("reversed", dict(reversed(files.items())))):
        for path, seed in order.items():
            save_image(noise_image(seed, (32, 32)), tmp_path / folder / path)
        assert [(d.path, d.kept) for d in scan(tmp_path / folder, NEAR_DUPLICATES).duplicates] == expected


def test_the_report_counts_duplicates_per_class_and_shows_the_near_duplicate_pairs(tmp_path, monkeypatch):
    photo = read_rgb(PHOTOS["grace_hopper"])
    save_image(photo, tmp_path / "raw/apple/photo.png")
    save_image(photo, tmp_path / "raw/apple/same.bmp")
    save_image(photo.resize((256, 300)), tmp_path / "raw/pizza/small.jpg", quality=60)
    save_image(noise_image(0, (32, 32)), tmp_path / "raw/pizza/other.png")
    found = scan(tmp_path / "raw", NEAR_DUPLICATES)
    report = duplicate_report(found.duplicates, list(found.files), NEAR_DUPLICATES, None)
    section = duplicates_section(report)
    assert f"difference hashes at most {NEAR_DUPLICATES} of 64 bits apart" in section
    assert "2 photos left out" in section and "leaks" not in section
    assert "| apple | 1 | 0 |" in section and "| pizza | 0 | 1 |" in section
    monkeypatch.chdir(tmp_path)
    _, link = duplicate_figure(report, tmp_path / "raw")
    figure = tmp_path / "reports" / link
    assert link == "figures/near_duplicates.png" and figure.stat().st_size > 0
    leaks = duplicate_report([], ["apple", "pizza"], None, frozenset({"apple/photo.png"}))
    with_pairs = figure.read_bytes()
    assert duplicate_figure(leaks, tmp_path / "raw")[1] == link, "drawn without pairs too, replacing the last one"
    assert figure.read_bytes() != with_pairs
    assert "0 photos left out" in duplicates_section(leaks) and "The fixed test list had 0 leaks" in duplicates_section(
        leaks
    )
    assert "near-duplicates off" in duplicates_section(leaks) and "| apple |" not in duplicates_section(leaks)
