"""Stratified train / val / test split of a class-folder image tree, deterministic from a seed."""

import random
from dataclasses import dataclass
from pathlib import Path

from foodcnn.data.duplicates import Duplicate, Fingerprint, find_duplicates, fingerprint
from foodcnn.data.reader import UnreadableImage, list_class_folders, read_rgb
from foodcnn.errors import DataError
from foodcnn.layout import SPLITS


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Scan:
    """The usable files of each class (paths relative to the root), every file left out with why, and which
    of those were duplicates of a kept photo."""

    files: dict[str, list[str]]
    skipped: list[Skipped]
    duplicates: list[Duplicate]


def scan(root: Path, near_duplicates: int | None, fixed_test: frozenset[str] | None = None) -> Scan:
    """Decode every file under root/<class>/ once; leave out unreadable files and duplicates of kept photos.

    near_duplicates is the difference-hash threshold in bits (None: pixel-identical copies only); with a
    fixed test list its photos are kept in preference to their copies (duplicates.find_duplicates).
    """
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist")
    readable: dict[str, list[str]] = {}
    unreadable: list[Skipped] = []
    fingerprints: dict[str, Fingerprint] = {}
    for label, paths in list_class_folders(root).items():
        readable[label] = []
        for path in paths:
            relative = path.relative_to(root).as_posix()
            try:
                fingerprints[relative] = fingerprint(read_rgb(path))
            except UnreadableImage as error:
                unreadable.append(Skipped(relative, error.reason))
                continue
            readable[label].append(relative)
    if len(readable) < 2:
        raise DataError(f"image folder {root} needs at least 2 class sub-folders, found {len(readable)}")
    duplicates = find_duplicates(fingerprints, near_duplicates, fixed_test or frozenset())
    left_out = {duplicate.path for duplicate in duplicates}
    files = {label: [path for path in paths if path not in left_out] for label, paths in readable.items()}
    skipped = sorted(unreadable + [Skipped(d.path, d.reason) for d in duplicates], key=lambda s: s.path)
    return Scan(files, skipped, sorted(duplicates, key=lambda d: d.path))


def split_counts(total: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Images per split for one class: at least one in each of val and test, the rest in train."""
    test = max(1, round(total * test_fraction))
    val = max(1, round(total * val_fraction))
    return total - val - test, val, test


def stratified_split(
    files: dict[str, list[str]],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    fixed_test: frozenset[str] | None = None,
) -> list[tuple[str, str, str]]:
    """Assign each file to a split, class by class; returns sorted (path, label, split) rows.

    With fixed_test, a source's own test list, those files are the test split (test_fraction is unused)
    and val_fraction of each class's images are drawn for val from its other files.
    """
    rows = []
    for label, paths in sorted(files.items()):
        shuffled = sorted(paths)
        random.Random(f"{seed}/{label}").shuffle(shuffled)
        if fixed_test is None:
            train, val, test = split_counts(len(paths), val_fraction, test_fraction)
            if train < 1:
                raise DataError(
                    f"class '{label}' has {len(paths)} usable images, too few for a train/val/test split "
                    f"(needs at least {len(paths) - train + 1})"
                )
            chunks = {"test": shuffled[:test], "val": shuffled[test : test + val], "train": shuffled[test + val :]}
        else:
            rest = [path for path in shuffled if path not in fixed_test]
            val = max(1, round(len(paths) * val_fraction))
            if len(rest) == len(paths):
                raise DataError(f"class '{label}' has 0 usable images in the fixed test list")
            if len(rest) <= val:
                raise DataError(
                    f"class '{label}' has {len(rest)} usable images outside the fixed test list, too few for a "
                    f"train/val split (needs at least {val + 1})"
                )
            chunks = {"test": [path for path in shuffled if path in fixed_test], "val": rest[:val], "train": rest[val:]}
        rows += [(path, label, split) for split, chunk in chunks.items() for path in chunk]
    return sorted(rows)


def split_report(rows: list[tuple[str, str, str]], skipped: list[Skipped]) -> dict:
    """Images per class and split, and every file that was left out with its reason."""
    counts: dict[str, dict[str, int]] = {}
    for _, label, split in rows:
        counts.setdefault(label, dict.fromkeys(SPLITS, 0))[split] += 1
    totals = {split: sum(c[split] for c in counts.values()) for split in SPLITS}
    return {
        "images": totals,
        "classes": counts,
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
    }
