import copy

import pytest
import yaml

from foodcnn.errors import ParamsError
from foodcnn.params import check_named_inputs, load, parse
from tests.conftest import REPO

DEFAULTS = yaml.safe_load((REPO / "params.yaml").read_text())


def with_value(dotted: str, value) -> dict:
    values = copy.deepcopy(DEFAULTS)
    *parents, key = dotted.split(".")
    section = values
    for parent in parents:
        section = section[parent]
    section[key] = value
    return values


def test_the_repository_params_are_valid():
    params = load(REPO / "params.yaml")
    assert params.grid.model == ("basic", "residual")
    assert params.grid.lr == (0.1, 0.01, 0.001)
    assert params.grid.batch_size == (32, 64)
    assert params.dropout == (0.3, 0.5)
    assert params.lr is None
    assert params.finetune.cases == {"A": 0, "B": 2}
    assert params.finetune.lr == 0.0005 and params.finetune.batch_size == 32
    assert params.train.seeds == (43, 44, 45) and params.grid.seeds == (42,)
    assert params.evaluate.bootstrap_resamples == 1000


def test_the_default_sources_are_the_sample_the_studys_food101_classes_and_a_folder_that_exists():
    data = load(REPO / "params.yaml").data
    assert data.source == "sample"
    assert data.food101.classes == (
        "apple_pie",
        "cheesecake",
        "chicken_curry",
        "french_fries",
        "fried_rice",
        "hamburger",
        "hot_dog",
        "ice_cream",
        "omelette",
        "pizza",
        "sushi",
    )
    assert data.food101.images_per_class is None and data.food101.official_test is False
    assert (REPO / data.folder.path).is_dir()  # the images stage depends on it whatever the source


def test_a_food101_cap_is_an_integer():
    assert parse(with_value("data.food101.images_per_class", 100)).data.food101.images_per_class == 100


@pytest.mark.parametrize(("value", "threshold"), [("off", None), (0, 0), (31, 31)])
def test_near_duplicates_is_a_number_of_bits_or_off(value, threshold):
    assert parse(with_value("split.near_duplicates", value)).split.near_duplicates == threshold


def test_weights_are_imagenet_none_or_a_file_under_weights():
    for value in ("imagenet", "none", "weights/backbone.pth", "weights/team/v2.pt"):
        assert parse(with_value("finetune.weights", value)).finetune.weights == value


def test_a_numeric_top_level_lr_overrides_the_winner():
    assert parse(with_value("lr", 0.01)).lr == 0.01


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train.epochs", 0, "train.epochs must be an integer >= 1, got 0"),
        ("threads", 0, "threads must be an integer >= 1, got 0"),
        ("finetune.cases", {}, "finetune.cases must be at least one case, got {}"),
        ("threads", "auto", "threads must be an integer >= 1, got 'auto'"),
        ("grid.lr", 0.01, "grid.lr must be a non-empty list"),
        ("grid.lr", [0.1, "fast"], "grid.lr must be a number"),
        ("grid.model", ["basic", "vgg"], "grid.model must be a list of basic, residual"),
        ("grid.batch_size", [32, 0], "grid.batch_size must be a list of positive integers"),
        ("data.source", "imagenet", "data.source must be one of sample, food101, folder"),
        ("data.food101.classes", ["pizza"], "data.food101.classes must be at least 2 class names"),
        ("data.food101.classes", ["pizza", "sushi", "pizza"], "data.food101.classes must be a list of distinct"),
        ("data.food101.classes", "pizza", "data.food101.classes must be a non-empty list"),
        ("data.food101.images_per_class", 2, "data.food101.images_per_class must be all or an integer >= 3"),
        ("data.food101.images_per_class", "many", "data.food101.images_per_class must be all or an integer"),
        ("data.food101.official_test", "yes", "data.food101.official_test must be true or false"),
        ("data.food101.root", None, "data.food101.root must be a path"),
        ("data.folder.path", " ", "data.folder.path must be a path"),
        ("split.val_fraction", 0.9, "split.val_fraction \\+ split.test_fraction must be below 1"),
        ("lr", "fast", "lr must be auto or a number"),
        ("dropout.p", [0.3, 1.5], "dropout.p must be a number in \\(0, 1\\)"),
        ("train.augment.crop_scale", [0.9, 0.5], "crop_scale must be \\[low, high\\] with low <= high"),
        ("finetune.cases", {"A": {"trainable_blocks": 40}}, "finetune.cases.A.trainable_blocks must be at most 19"),
        ("seed", "x", "seed must be an integer"),
        ("train.seeds", 42, "train.seeds must be a non-empty list"),
        ("train.seeds", [1, 1], "train.seeds must be a list of distinct values \\(1 is repeated\\), got \\[1, 1\\]"),
        ("train.seeds", [1, -1], "train.seeds must be a list of integers >= 0"),
        ("grid.seeds", [], "grid.seeds must be a non-empty list"),
        ("grid.seeds", [7, "8"], "grid.seeds must be a list of integers >= 0"),
        ("grid.model", ["basic", "basic"], "grid.model must be a list of distinct values \\('basic' is repeated\\)"),
        ("grid.lr", [0.01, 0.1, 0.010], "grid.lr must be a list of distinct values \\(0.01 is repeated\\)"),
        ("grid.batch_size", [32, 32], "grid.batch_size must be a list of distinct values"),
        ("dropout.p", [0.5, 0.5], "dropout.p must be a list of distinct values"),
        (
            "data.image_size",
            100000,
            "data.image_size must be at most 1024 \\(a decoded image takes 3 x size x size "
            "bytes: 3 MB at 1024\\), got 100000",
        ),
        ("data.sample.image_size", 4096, "data.sample.image_size must be at most 1024"),
        ("evaluate.bootstrap_resamples", 10, "evaluate.bootstrap_resamples must be an integer >= 100"),
        ("evaluate.bootstrap_resamples", 10**8, "evaluate.bootstrap_resamples must be at most 1000000 \\(beyond it"),
        ("train.precision", "fp16", "train.precision must be one of auto, fp32, bf16, got 'fp16'"),
        ("train.channels_last", "yes", "train.channels_last must be auto, true or false, got 'yes'"),
        ("train.channels_last", 1, "train.channels_last must be auto, true or false, got 1"),
        ("finetune.augment", 1, "finetune.augment must be true or false"),
        (
            "finetune.weights",
            "/tmp/backbone.pth",
            "finetune.weights must be imagenet, none or a state-dict file under "
            "weights/ \\(the folder the backbone stage depends on",
        ),
        ("finetune.weights", "weights/../backbone.pth", "finetune.weights must be imagenet, none or a state-dict file"),
        ("finetune.weights", "weights", "finetune.weights must be imagenet, none or a state-dict file"),
        ("split.near_duplicates", "on", "split.near_duplicates must be off or an integer from 0 to 31"),
        ("split.near_duplicates", 32, "split.near_duplicates must be off or an integer from 0 to 31 \\(bits of 64\\)"),
        ("split.near_duplicates", -1, "split.near_duplicates must be off or an integer"),
        ("split.near_duplicates", True, "split.near_duplicates must be off or an integer"),
        ("split.near_duplicates", None, "split.near_duplicates must be off or an integer"),
    ],
)
def test_invalid_values_name_the_parameter(key, value, message):
    with pytest.raises(ParamsError, match=message) as error:
        parse(with_value(key, value))
    assert "\n" not in str(error.value)


def test_a_missing_key_is_named():
    values = copy.deepcopy(DEFAULTS)
    del values["finetune"]["lr"]
    with pytest.raises(ParamsError, match="finetune.lr is missing"):
        parse(values)


def test_an_unreadable_file_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: [unclosed")
    with pytest.raises(ParamsError, match=f"cannot read {path}"):
        load(path)


@pytest.mark.parametrize(
    ("dotted", "message"),
    [
        ("train.epoch", "params.yaml: unknown key train.epoch (did you mean train.epochs?)"),
        (
            "finetune.cases.A.trainable_block",
            "unknown key finetune.cases.A.trainable_block (did you mean finetune.cases.A.trainable_blocks?)",
        ),
        ("learning_rate", "params.yaml: unknown key learning_rate"),
        ("data.sample.images", "unknown key data.sample.images (did you mean data.sample.image_size?)"),
    ],
)
def test_a_key_nothing_reads_is_an_error_naming_it_and_the_closest_known_key(dotted, message):
    with pytest.raises(ParamsError) as error:
        parse(with_value(dotted, 3))
    assert message in str(error.value)


def test_a_missing_photo_folder_names_its_parameter_before_dvc_names_only_the_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = parse(with_value("data.folder.path", "data/nophotos"))
    with pytest.raises(
        ParamsError,
        match=r"^params.yaml: data.folder.path: data/nophotos is not a folder, and the "
        r"images stage depends on it whatever data.source",
    ):
        check_named_inputs(settings)


@pytest.mark.parametrize(("link", "target"), [("pizza/loop.jpg", "loop.jpg"), ("sushi/up", "..")])
def test_a_symbolic_link_loop_in_the_photo_folder_is_one_line_naming_it(tmp_path, monkeypatch, link, target):
    monkeypatch.chdir(tmp_path)
    for label in ("pizza", "sushi"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / "0.jpg").write_bytes(b"")
    settings = parse(with_value("data.folder.path", "photos"))
    check_named_inputs(settings)
    (tmp_path / "photos" / link).symlink_to(target)
    with pytest.raises(
        ParamsError,
        match=f"^params.yaml: data.folder.path: {link} in photos is a symbolic link that "
        "leads back to itself or to a folder holding it: remove it$",
    ):
        check_named_inputs(settings)
