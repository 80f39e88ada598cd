"""The Food-101 source: some of its classes, downloaded by torchvision or taken from a copy in place."""

import random
import shutil
from pathlib import Path

from foodcnn.data.raw import write_fixed_test
from foodcnn.errors import DataError, ParamsError
from foodcnn.params import Food101Params

FOOD101_URL = "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz"  # what torchvision downloads (5 GB)
META_FILES = ("classes.txt", "train.txt", "test.txt")


def is_complete(base: Path) -> bool:
    """Whether base (a food-101 folder) holds the meta lists and the images folder."""
    return all((base / "meta" / name).is_file() for name in META_FILES) and (base / "images").is_dir()


def locate(root: Path) -> Path:
    """The food-101 folder under root, downloaded and extracted there by torchvision when not in place."""
    base = root / "food-101"
    if not is_complete(base):
        from torchvision.datasets import Food101  # here, not at the top: a second of start-up for other sources

        try:
            Food101(root, split="train", download=True)
        except (OSError, RuntimeError) as error:
            reason = str(error).replace("\n", " ")
            raise DataError(
                f"Food-101 is not in {base} and the download failed ({reason}): download {FOOD101_URL} "
                f"(5 GB) into {root}/, or extract it there so that {base}/meta/classes.txt exists"
            ) from error
        if not is_complete(base):
            raise DataError(f"the Food-101 download in {root} has no meta/{{{','.join(META_FILES)}}} or images/")
    return base


def read_list(base: Path, name: str) -> list[str]:
    """A meta list of Food-101 (classes.txt, or train.txt / test.txt of '<class>/<id>' lines)."""
    return [line.strip() for line in (base / "meta" / name).read_text().splitlines() if line.strip()]


def by_class(entries: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for entry in entries:
        groups.setdefault(entry.split("/")[0], []).append(entry)
    return groups


def choose(ids: list[str], count: int, seed: int, label: str) -> list[str]:
    """`count` of ids, drawn from the seed; the same seed and ids always give the same images."""
    if count >= len(ids):
        return sorted(ids)
    return sorted(random.Random(f"{seed}/{label}").sample(sorted(ids), count))


def select(
    train: list[str], test: list[str], cap: int | None, official_test: bool, seed: int, label: str
) -> tuple[list[str], list[str]]:
    """One class's images as (Food-101 train ids, Food-101 test ids) after the cap.

    When the official test split is kept, the cap keeps its train:test proportions; otherwise the
    images are drawn from both lists together, since the split stage will split them anew.
    """
    if cap is None:
        return sorted(train), sorted(test)
    if not official_test:
        chosen = set(choose(train + test, cap, seed, label))
        return sorted(entry for entry in train if entry in chosen), sorted(entry for entry in test if entry in chosen)
    test_count = max(1, round(cap * len(test) / (len(train) + len(test))))
    return choose(train, cap - test_count, seed, f"{label}/train"), choose(test, test_count, seed, f"{label}/test")


def write_food101(raw: Path, settings: Food101Params, seed: int) -> dict[str, int]:
    """Copy the chosen Food-101 classes to raw/<class>/<id>.jpg; return the images per class.

    With settings.official_test, the Food-101 test images are also listed as the fixed test split.
    """
    base = locate(settings.root)
    known = set(read_list(base, "classes.txt"))
    unknown = [label for label in settings.classes if label not in known]
    if unknown:
        raise ParamsError(
            f"params.yaml: data.food101.classes has {', '.join(unknown)}, not in {base / 'meta' / 'classes.txt'}"
        )
    train_ids, test_ids = (by_class(read_list(base, f"{split}.txt")) for split in ("train", "test"))
    counts, fixed_test = {}, []
    for label in settings.classes:
        train, test = select(
            train_ids.get(label, []),
            test_ids.get(label, []),
            settings.images_per_class,
            settings.official_test,
            seed,
            label,
        )
        for entry in train + test:
            source = base / "images" / f"{entry}.jpg"
            if not source.is_file():
                raise DataError(f"the Food-101 copy in {base} is incomplete: {source} is missing")
            target = raw / f"{entry}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if settings.official_test:
            fixed_test += [f"{entry}.jpg" for entry in test]
        counts[label] = len(train) + len(test)
    if settings.official_test:
        write_fixed_test(raw, fixed_test)
    return counts
