"""Typed, validated settings: the only code that reads params.yaml."""

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from foodcnn.errors import ParamsError
from foodcnn.layout import WEIGHTS_DIR

MOBILENET = "mobilenet"
# The from-scratch architectures are the modules of foodcnn.models but these, each registering itself there
# under its module's name. Listed, not imported: a stage that checks a name would otherwise import, and so
# depend on, every architecture, and a new one would re-run it.
MODELS_PACKAGE = Path(__file__).with_name("models")
NOT_ARCHITECTURES = frozenset({"__init__", "head", MOBILENET})


def scratch_models(package: Path = MODELS_PACKAGE) -> tuple[str, ...]:
    """The names grid.model accepts: one per architecture module, in name order."""
    return tuple(sorted(path.stem for path in package.glob("*.py") if path.stem not in NOT_ARCHITECTURES))


SCRATCH_MODELS = scratch_models()
RANDOM_INIT = "none"  # finetune.weights: MobileNetV2 from random weights
IMAGENET = "imagenet"  # finetune.weights: torchvision's ImageNet weights
SOURCES = ("sample", "food101", "folder")
RESIZE_POLICIES = ("crop", "pad")
MOBILENET_BLOCKS = 19
AUTO = "auto"  # train.precision / train.channels_last: bf16 + channels_last on CUDA, fp32 + NCHW elsewhere
PRECISIONS = (AUTO, "fp32", "bf16")
# Decoded images are held as uint8 tensors, 3 x size x size bytes each: at 1024, Food-101's 11,000 photos take
# 35 GB, and beyond it a typo (100000: 30 GB per image) would end in an allocation failure, not a result.
MAX_IMAGE_SIZE = 1024
MAX_HASH_DISTANCE = 31  # of a 64-bit hash: from 32 bits on, unrelated photos match half the time
# Bootstrap resamples of the test images (evaluate, `foodcnn diff --resamples`): every resample keeps 8 bytes per
# metric, and beyond a million the Monte Carlo error of a 95 % interval's ends is below 0.02 points, far below
# the 0.1 points a table shows.
MAX_RESAMPLES = 1_000_000


@dataclass(frozen=True)
class SampleParams:
    images_per_class: int
    image_size: int


@dataclass(frozen=True)
class Food101Params:
    root: Path  # holds food-101/ (meta/, images/): torchvision downloads it there when missing
    classes: tuple[str, ...]
    images_per_class: int | None  # None: every image of the class
    official_test: bool  # Food-101's own test list becomes the test split


@dataclass(frozen=True)
class FolderParams:
    path: Path  # class sub-folders of images; absolute or relative to the repository


@dataclass(frozen=True)
class DataParams:
    source: str
    image_size: int
    resize: str
    sample: SampleParams
    food101: Food101Params
    folder: FolderParams


@dataclass(frozen=True)
class SplitParams:
    val_fraction: float
    test_fraction: float
    near_duplicates: int | None  # difference-hash bits within which photos are copies; None: identical pixels only


@dataclass(frozen=True)
class AugmentParams:
    crop_scale: tuple[float, float]
    rotation: float
    flip: bool


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    augment: AugmentParams
    seeds: tuple[int, ...]  # the study's models (winners, dropout retrains, fine-tunes) train once per seed
    precision: str  # auto, fp32, or bf16 autocast
    channels_last: bool | str  # true, false or auto


@dataclass(frozen=True)
class GridParams:
    model: tuple[str, ...]
    lr: tuple[float, ...]
    batch_size: tuple[int, ...]
    seeds: tuple[int, ...]  # every grid configuration trains once per seed; the winner has the best mean


@dataclass(frozen=True)
class FinetuneParams:
    weights: str
    augment: bool  # train.augment on the training images; false lets the frozen blocks run only once
    lr: float
    batch_size: int
    epochs: int
    cases: dict[str, int]


@dataclass(frozen=True)
class EvaluateParams:
    bootstrap_resamples: int


@dataclass(frozen=True)
class Params:
    seed: int
    threads: int  # CPU threads per training or evaluating process; results depend on it
    data: DataParams
    split: SplitParams
    train: TrainParams
    grid: GridParams
    lr: float | None
    dropout: tuple[float, ...]
    finetune: FinetuneParams
    evaluate: EvaluateParams


class _Section:
    """A mapping from params.yaml that remembers its dotted name, so errors can say which key is wrong, and
    which keys were read, so a key nothing reads (a typo, `-S +train.epoch=3`) is an error, not a no-op."""

    def __init__(self, values: Any, name: str) -> None:
        if not isinstance(values, dict):
            raise ParamsError(f"params.yaml: {name} must be a mapping, got {values!r}")
        self.values = values
        self.name = name
        self.read: set[str] = set()
        self.children: dict[str, _Section] = {}

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(self, key: str) -> Any:
        if key not in self.values:
            raise ParamsError(f"params.yaml: {self.key(key)} is missing")
        self.read.add(key)
        return self.values[key]

    def section(self, key: str) -> "_Section":
        if key not in self.children:
            self.children[key] = _Section(self.get(key), self.key(key))
        return self.children[key]

    def check_all_read(self) -> None:
        """Fail on the first key of this mapping, or of a mapping inside it, that no setting reads."""
        for key in self.values:
            if key not in self.read:
                close = difflib.get_close_matches(str(key), sorted(self.read), n=1)
                hint = f" (did you mean {self.key(close[0])}?)" if close else ""
                raise ParamsError(f"params.yaml: unknown key {self.key(str(key))}{hint}")
        for child in self.children.values():
            child.check_all_read()

    def fail(self, key: str, expected: str) -> ParamsError:
        return ParamsError(f"params.yaml: {self.key(key)} must be {expected}, got {self.get(key)!r}")

    def integer(self, key: str, minimum: int = 1, maximum: int | None = None, why: str = "") -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"an integer >= {minimum}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"at most {maximum} ({why})")
        return value

    def number(self, key: str, low: float = 0.0, high: float = float("inf"), value: Any = None) -> float:
        value = self.get(key) if value is None else value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not low < number < high:
            raise self.fail(key, f"a number in ({low:g}, {high:g})")
        return number

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.get(key)
        if value not in options:
            raise self.fail(key, "one of " + ", ".join(options))
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def path(self, key: str) -> Path:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a path")
        return Path(value)

    def nonempty_list(self, key: str) -> list[Any]:
        """A list of distinct values: a repeat would train, name and report the same thing twice."""
        value = self.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "a non-empty list (keep a single value as a one-item list)")
        repeated = next((item for index, item in enumerate(value) if item in value[:index]), None)
        if repeated is not None:
            raise self.fail(key, f"a list of distinct values ({repeated!r} is repeated)")
        return value


def _food101(section: _Section) -> Food101Params:
    classes = section.nonempty_list("classes")
    if any(not isinstance(name, str) or not name for name in classes):
        raise section.fail("classes", "a list of class names")
    if len(classes) < 2:
        raise section.fail("classes", "at least 2 class names")
    cap = section.get("images_per_class")
    if cap != "all" and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 3):
        raise section.fail("images_per_class", "all or an integer >= 3")
    return Food101Params(
        root=section.path("root"),
        classes=tuple(classes),
        images_per_class=None if cap == "all" else cap,
        official_test=section.boolean("official_test"),
    )


_DECODED = "a decoded image takes 3 x size x size bytes: 3 MB at 1024"


def _data(section: _Section) -> DataParams:
    sample = section.section("sample")
    return DataParams(
        source=section.choice("source", SOURCES),
        image_size=section.integer("image_size", minimum=8, maximum=MAX_IMAGE_SIZE, why=_DECODED),
        resize=section.choice("resize", RESIZE_POLICIES),
        sample=SampleParams(
            images_per_class=sample.integer("images_per_class", minimum=3),
            image_size=sample.integer("image_size", minimum=16, maximum=MAX_IMAGE_SIZE, why=_DECODED),
        ),
        food101=_food101(section.section("food101")),
        folder=FolderParams(path=section.section("folder").path("path")),
    )


def _split(section: _Section) -> SplitParams:
    val_fraction = section.number("val_fraction", 0.0, 1.0)
    test_fraction = section.number("test_fraction", 0.0, 1.0)
    if val_fraction + test_fraction >= 1.0:
        raise ParamsError("params.yaml: split.val_fraction + split.test_fraction must be below 1")
    near = section.get("near_duplicates")
    if near != "off" and (isinstance(near, bool) or not isinstance(near, int) or not 0 <= near <= MAX_HASH_DISTANCE):
        raise section.fail("near_duplicates", f"off or an integer from 0 to {MAX_HASH_DISTANCE} (bits of 64)")
    return SplitParams(val_fraction, test_fraction, None if near == "off" else near)


def _channels_last(section: _Section) -> bool | str:
    value = section.get("channels_last")
    if value != AUTO and not isinstance(value, bool):
        raise section.fail("channels_last", "auto, true or false")
    return value


def _seeds(section: _Section) -> tuple[int, ...]:
    seeds = section.nonempty_list("seeds")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise section.fail("seeds", "a list of integers >= 0")
    return tuple(seeds)


def _train(section: _Section) -> TrainParams:
    augment = section.section("augment")
    scale = augment.get("crop_scale")
    if not (isinstance(scale, list) and len(scale) == 2):
        raise augment.fail("crop_scale", "a list [low, high]")
    low, high = (augment.number("crop_scale", 0.0, 1.0 + 1e-9, value=v) for v in scale)
    if low > high:
        raise augment.fail("crop_scale", "[low, high] with low <= high")
    return TrainParams(
        epochs=section.integer("epochs"),
        augment=AugmentParams(
            crop_scale=(low, high),
            rotation=augment.number("rotation", -1e-9, 180.0),
            flip=augment.boolean("flip"),
        ),
        seeds=_seeds(section),
        precision=section.choice("precision", PRECISIONS),
        channels_last=_channels_last(section),
    )


def _grid(section: _Section) -> GridParams:
    models = section.nonempty_list("model")
    for model in models:
        if model not in SCRATCH_MODELS:
            raise section.fail("model", "a list of " + ", ".join(SCRATCH_MODELS))
    batch_sizes = section.nonempty_list("batch_size")
    if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise section.fail("batch_size", "a list of positive integers")
    return GridParams(
        model=tuple(models),
        lr=tuple(section.number("lr", 0.0, 10.0, value=lr) for lr in section.nonempty_list("lr")),
        batch_size=tuple(batch_sizes),
        seeds=_seeds(section),
    )


def _under_weights_dir(path: str) -> bool:
    parts = Path(path).parts
    return len(parts) > 1 and Path(parts[0]) == WEIGHTS_DIR and ".." not in parts


def _finetune(section: _Section) -> FinetuneParams:
    weights = section.get("weights")
    if not isinstance(weights, str) or not (weights in (IMAGENET, RANDOM_INIT) or _under_weights_dir(weights)):
        raise section.fail(
            "weights",
            f"{IMAGENET}, {RANDOM_INIT} or a state-dict file under {WEIGHTS_DIR}/ (the "
            "folder the backbone stage depends on, so that a replaced file re-runs the fine-tunes)",
        )
    cases = section.section("cases")
    if not cases.values:
        raise section.fail("cases", "at least one case")
    blocks = {}
    for case in cases.values:
        case_section = cases.section(case)
        blocks[str(case)] = case_section.integer("trainable_blocks", minimum=0)
        if blocks[str(case)] > MOBILENET_BLOCKS:
            raise case_section.fail("trainable_blocks", f"at most {MOBILENET_BLOCKS}")
    return FinetuneParams(
        weights=weights,
        augment=section.boolean("augment"),
        lr=section.number("lr", 0.0, 10.0),
        batch_size=section.integer("batch_size"),
        epochs=section.integer("epochs"),
        cases=blocks,
    )


def parse(values: Any) -> Params:
    """Validate the contents of params.yaml and return typed settings."""
    root = _Section(values, "")
    lr = root.get("lr")
    if isinstance(lr, str) and lr != "auto":
        raise root.fail("lr", "auto or a number in (0, 10)")
    params = Params(
        seed=root.integer("seed", minimum=0),
        threads=root.integer("threads", minimum=1),
        data=_data(root.section("data")),
        split=_split(root.section("split")),
        train=_train(root.section("train")),
        grid=_grid(root.section("grid")),
        lr=None if lr == "auto" else root.number("lr", 0.0, 10.0),
        dropout=tuple(
            root.section("dropout").number("p", 0.0, 1.0, value=p) for p in root.section("dropout").nonempty_list("p")
        ),
        finetune=_finetune(root.section("finetune")),
        evaluate=EvaluateParams(
            bootstrap_resamples=root.section("evaluate").integer(
                "bootstrap_resamples", minimum=100, maximum=MAX_RESAMPLES, why="beyond it the intervals do not move"
            ),
        ),
    )
    root.check_all_read()
    return params


def load(path: str | Path = "params.yaml") -> Params:
    try:
        with open(path) as handle:
            values = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ParamsError(f"cannot read {path}: {error}") from error
    return parse(values)


def check_named_inputs(params: Params) -> None:
    """The inputs dvc.yaml takes from params.yaml exist and can be hashed: DVC would stop on a missing folder or a
    symbolic-link loop in it naming the path only, and the folder source would skip a loop without a word."""
    folder = params.data.folder.path
    if not folder.is_dir():
        raise ParamsError(
            f"params.yaml: data.folder.path: {folder} is not a folder, and the images stage depends on "
            f"it whatever data.source (point it at a folder of class sub-folders, or keep data/photos)"
        )
    loop = _link_loop(folder)
    if loop:
        raise ParamsError(
            f"params.yaml: data.folder.path: {loop} in {folder} is a symbolic link that leads back to "
            f"itself or to a folder holding it: remove it"
        )


def _link_loop(folder: Path) -> Path | None:
    """The first symbolic link under `folder` that loops: to itself, or to a folder that holds it."""
    for directory, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(directory) / name
            if not path.is_symlink():
                continue
            try:
                target = path.resolve(strict=True)
            except FileNotFoundError:  # a broken link: the split reports it as a file it cannot read
                continue
            except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError for a loop, later OSError (ELOOP)
                return path.relative_to(folder)
            if target.is_dir() and Path(directory).resolve().is_relative_to(target):
                return path.relative_to(folder)
    return None
