"""The data sources, Food-101 and any folder, through the reader, split and tensor cache, all offline."""

import dataclasses
import hashlib
import runpy
import socket
from pathlib import Path

import pytest
import yaml
from PIL import Image
from torchvision.datasets import Food101

from foodcnn.data.decode import build_image_set
from foodcnn.data.folder import copy_folder
from foodcnn.data.food101 import FOOD101_URL, write_food101
from foodcnn.data.raw import FIXED_TEST_FILE, read_fixed_test
from foodcnn.data.split import SPLITS, scan, split_report, stratified_split
from foodcnn.errors import DataError, ParamsError
from foodcnn.params import Food101Params, load
from foodcnn.report import describe_run
from tests.conftest import NEAR_DUPLICATES, REPO, noise_image, save_image, write_fake_food101, write_mixed_folder

FAKE_SIZES = {"apple_pie": (8, 3), "pizza": (9, 3), "ramen": (8, 3), "sushi": (8, 2)}


@pytest.fixture
def offline(monkeypatch):
    """No network, as on this project's machines: every host name lookup fails."""

    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "no network in the tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def food101(root: Path, classes=("apple_pie", "pizza", "sushi"), cap=None, official_test=False) -> Food101Params:
    return Food101Params(root=root, classes=tuple(classes), images_per_class=cap, official_test=official_test)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_food101_copy_in_place_is_used_without_any_download(tmp_path, offline):
    base = write_fake_food101(tmp_path / "food", FAKE_SIZES)
    raw = tmp_path / "raw"
    assert write_food101(raw, food101(tmp_path / "food"), seed=0) == {"apple_pie": 11, "pizza": 12, "sushi": 10}
    assert sorted(p.name for p in raw.iterdir()) == ["apple_pie", "pizza", "sushi"]
    copies = sorted(raw.rglob("*.jpg"))
    assert len(copies) == 33
    assert all(copy.read_bytes() == (base / "images" / copy.relative_to(raw)).read_bytes() for copy in copies)
    assert read_fixed_test(raw) is None


def test_food101_offline_without_a_copy_says_what_to_download_and_where(tmp_path, offline):
    root = tmp_path / "food"
    with pytest.raises(DataError) as error:
        write_food101(tmp_path / "raw", food101(root), seed=0)
    message = str(error.value)
    assert "\n" not in message
    assert f"download {FOOD101_URL} (5 GB) into {root}/" in message
    assert f"{root / 'food-101'}/meta/classes.txt" in message
    assert FOOD101_URL == Food101._URL  # the URL named is the one torchvision downloads


def test_food101_classes_must_be_in_its_class_list(tmp_path, offline):
    write_fake_food101(tmp_path / "food", FAKE_SIZES)
    with pytest.raises(ParamsError, match=r"data.food101.classes has ramen_soup, tacos, not in .*meta/classes.txt"):
        write_food101(tmp_path / "raw", food101(tmp_path / "food", ["pizza", "ramen_soup", "tacos"]), seed=0)


def test_an_incomplete_food101_copy_names_the_missing_image(tmp_path, offline):
    base = write_fake_food101(tmp_path / "food", FAKE_SIZES)
    (base / "images/pizza/1100.jpg").unlink()
    with pytest.raises(DataError, match=r"incomplete: .*images/pizza/1100.jpg is missing"):
        write_food101(tmp_path / "raw", food101(tmp_path / "food"), seed=0)


def test_the_food101_cap_draws_the_same_images_for_the_same_seed(tmp_path, offline):
    write_fake_food101(tmp_path / "food", FAKE_SIZES)

    def drawn(name: str, seed: int, official_test: bool = False) -> list[str]:
        counts = write_food101(tmp_path / name, food101(tmp_path / "food", cap=5, official_test=official_test), seed)
        assert set(counts.values()) == {5}
        return sorted(p.relative_to(tmp_path / name).as_posix() for p in (tmp_path / name).rglob("*.jpg"))

    assert drawn("a", seed=1) == drawn("b", seed=1) != drawn("c", seed=2)
    kept = drawn("d", seed=1, official_test=True)
    fixed = read_fixed_test(tmp_path / "d")
    assert fixed <= set(kept) and len(fixed) == 3  # 5 x 3/11 (or 3/12, 2/10) rounds to one test image a class


def test_food101_official_test_split_becomes_the_test_split(tmp_path, offline):
    base = write_fake_food101(tmp_path / "food", FAKE_SIZES)
    raw = tmp_path / "raw"
    write_food101(raw, food101(tmp_path / "food", official_test=True), seed=0)
    official = {f"{line}.jpg" for line in (base / "meta/test.txt").read_text().split() if not line.startswith("ramen")}
    assert (raw / FIXED_TEST_FILE).is_file() and read_fixed_test(raw) == official
    found = scan(raw, NEAR_DUPLICATES, read_fixed_test(raw))
    assert sorted(found.files) == ["apple_pie", "pizza", "sushi"] and not found.skipped
    split = stratified_split(found, 0.2, 0.15, seed=0)
    assert {path for path, _, name in split.rows() if name == "test"} == official
    assert split_report(split.counts(), [])["classes"] == {
        "apple_pie": {"train": 6, "val": 2, "test": 3},  # val: 20 % of the class's 11, from its 8 train images
        "pizza": {"train": 7, "val": 2, "test": 3},
        "sushi": {"train": 6, "val": 2, "test": 2},
    }


def test_a_fixed_test_list_missing_a_class_is_named(tmp_path):
    for index, path in enumerate(["apple/0.png", "apple/1.png", "apple/2.png", "pizza/0.png", "pizza/1.png"]):
        save_image(noise_image(index), tmp_path / path)
    fixed_test = frozenset({"apple/0.png"})
    with pytest.raises(DataError, match="class 'pizza' has 0 usable images in the fixed test list"):
        stratified_split(scan(tmp_path, NEAR_DUPLICATES, fixed_test), 0.2, 0.2, seed=0)
    fixed_test = frozenset({"apple/0.png", "apple/1.png", "pizza/0.png"})
    with pytest.raises(DataError, match="class 'apple' has 1 usable images outside the fixed test list"):
        stratified_split(scan(tmp_path, NEAR_DUPLICATES, fixed_test), 0.2, 0.2, seed=0)


def test_every_kind_of_input_in_a_folder_is_read_or_skipped_with_its_reason(tmp_path):
    good, bad = write_mixed_folder(tmp_path / "photos")
    raw = tmp_path / "raw"
    counts = copy_folder(tmp_path / "photos", raw)
    assert counts == {label: sum(p.startswith(f"{label}/") for p in [*good, *bad]) for label in ("apple", "pizza")}
    assert all(digest(raw / path) == digest(tmp_path / "photos" / path) for path in [*good, *bad])

    found = scan(raw, NEAR_DUPLICATES)
    split = stratified_split(found, 0.15, 0.15, seed=0)
    rows = list(split.rows())
    report = split_report(split.counts(), found.skipped)
    reasons = {entry["path"]: entry["reason"] for entry in report["skipped"]}
    assert set(reasons) == set(bad)
    assert all(reasons[path].startswith(start) for path, start in bad.items()), reasons
    assert {path for path, _, _ in rows} == set(good)

    for split in SPLITS:
        chosen = [(path, label) for path, label, name in rows if name == split]
        image_set = build_image_set(raw, chosen, ("apple", "pizza"), 8, "crop", tmp_path / split)
        for path, image in zip(image_set.paths, image_set.images, strict=True):
            colour, tolerance = good[path]
            difference = (image.int() - image.new_tensor(colour).int().view(3, 1, 1)).abs().max().item()
            assert difference <= tolerance, f"{path}: {image[:, 0, 0].tolist()} is not {colour}"


def test_byte_identical_images_never_land_in_two_splits(tmp_path):
    source = tmp_path / "photos"
    for label in ("apple", "pizza"):
        for index in range(12):
            save_image(noise_image(index + (0 if label == "apple" else 100)), source / label / f"{index}.png")
    for index in range(6):  # copies within a class, across classes and under other names
        (source / "pizza" / f"copy{index}.png").write_bytes((source / "apple" / f"{index}.png").read_bytes())
        (source / "apple" / f"z{index}.png").write_bytes((source / "apple" / f"{index + 6}.png").read_bytes())
    copy_folder(source, tmp_path / "raw")
    found = scan(tmp_path / "raw", NEAR_DUPLICATES)
    rows = list(stratified_split(found, 0.25, 0.25, seed=0).rows())
    digests = [digest(tmp_path / "raw" / path) for path, _, _ in rows]
    assert len(rows) == 24 and len(set(digests)) == 24
    assert len(found.skipped) == 12 and all(s.reason.startswith("duplicate of apple/") for s in found.skipped)


def test_a_folder_source_must_be_a_folder_of_at_least_two_non_empty_classes(tmp_path):
    with pytest.raises(DataError, match=r"data.folder.path: .*missing is not a folder"):
        copy_folder(tmp_path / "missing", tmp_path / "raw")
    save_image(Image.new("RGB", (8, 8)), tmp_path / "one/pizza/0.png")
    with pytest.raises(DataError, match="needs at least 2 class sub-folders, found 1"):
        copy_folder(tmp_path / "one", tmp_path / "raw")
    (tmp_path / "one/ramen/.ipynb_checkpoints").mkdir(parents=True)
    with pytest.raises(DataError, match="class 'ramen' in .* has 0 files"):
        copy_folder(tmp_path / "one", tmp_path / "raw")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("Pizza/0.png", "pizza/1.png", "sushi/0.png"), "Pizza and pizza in .* differ only in case"),
        (
            ("pizza/IMG.png", "pizza/img.png", "sushi/0.png"),
            "pizza/IMG.png and pizza/img.png in .* differ only in case",
        ),
    ],
)
def test_names_that_differ_only_in_case_are_one_line_naming_both(tmp_path, names, message):
    for index, name in enumerate(names):
        save_image(noise_image(index), tmp_path / "photos" / name)
    with pytest.raises(DataError, match=message):
        copy_folder(tmp_path / "photos", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"source": "sample"}, "synthetic sample images (not food photos), 2 classes"),
        ({"source": "food101"}, "- Data: Food-101 photos, 2 classes"),
        (
            {"source": "food101", "food101": {"images_per_class": 100, "official_test": True}},
            "Food-101 photos (at most 100 per class, Food-101's official test split), 2 classes",
        ),
        (
            {"source": "folder", "folder": {"path": Path("/photos/mine")}},
            "images from the folder /photos/mine, 2 classes",
        ),
    ],
)
def test_the_report_names_the_data_source(data, expected):
    params = load(REPO / "params.yaml")
    food = dataclasses.replace(params.data.food101, **data.get("food101", {}))
    folder = dataclasses.replace(params.data.folder, **data.get("folder", {}))
    params = dataclasses.replace(
        params, data=dataclasses.replace(params.data, source=data["source"], food101=food, folder=folder)
    )
    split = {"images": {"train": 8, "val": 2, "test": 2}, "classes": {"a": {}, "b": {}}}
    assert expected in describe_run(params, split)


def test_the_images_stage_offline_without_food101_ends_with_one_line_naming_url_and_folder(
    tmp_path, monkeypatch, offline, capsys
):
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    values["data"]["source"] = "food101"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(REPO / "stages/images.py"), run_name="__main__")
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "error: Food-101 is not in data/food101/food-101 and the download failed (<urlopen error "
        f"[Errno {socket.EAI_NONAME}] no network in the tests>): download {FOOD101_URL} (5 GB) into "
        "data/food101/, or extract it there so that data/food101/food-101/meta/classes.txt exists\n"
    )
