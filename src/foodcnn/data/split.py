"""Stratified train / val / test split of a class-folder image tree, deterministic from a seed."""

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from foodcnn.data.reader import UnreadableImage, list_class_folders, read_rgb
from foodcnn.errors import DataError
from foodcnn.layout import SPLITS


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Scan:
    """The usable files of each class (paths relative to the root) and every file left out, with why."""

    files: dict[str, list[str]]
    skipped: list[Skipped]


def scan(root: Path) -> Scan:
    """Check every file under root/<class>/ decodes; leave out unreadable files and byte-identical copies."""
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist")
    files: dict[str, list[str]] = {}
    skipped: list[Skipped] = []
    first_seen: dict[str, str] = {}
    for label, paths in list_class_folders(root).items():
        files[label] = []
        for path in paths:
            relative = path.relative_to(root).as_posix()
            try:
                read_rgb(path)
            except UnreadableImage as error:
                skipped.append(Skipped(relative, error.reason))
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in first_seen:
                skipped.append(Skipped(relative, f"duplicate of {first_seen[digest]}"))
                continue
            first_seen[digest] = relative
            files[label].append(relative)
    if len(files) < 2:
        raise DataError(f"image folder {root} needs at least 2 class sub-folders, found {len(files)}")
    return Scan(files, skipped)


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
            chunks = {
                "test": [path for path in shuffled if path in fixed_test], "val": rest[:val], "train": rest[val:]
            }
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
