"""Stratified train / val / test split of a class-folder image tree, deterministic from a seed.

The photos are held in flat arrays numbered in sorted path order (the order of the split table's rows), so
that memory grows by tens of bytes a photo, not by the ~1 KiB of a Python object or two each.
"""

import random
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foodcnn.data.duplicates import Duplicate, Fingerprints, find_duplicates, fingerprint
from foodcnn.data.reader import UnreadableImage, class_files, class_folders, read_rgb
from foodcnn.errors import DataError
from foodcnn.layout import SPLITS

LEFT_OUT = len(SPLITS)  # the split code of a duplicate


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


class PathList:
    """Paths in one buffer, each ended by a NUL (which no file name holds): about the path's length a photo,
    where a list of str costs some 60 bytes more each. Read in order, as the split table is written."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, path: str) -> None:
        self._buffer += path.encode("utf-8", "surrogateescape") + b"\0"  # surrogates: the file system's own bytes
        self._count += 1

    def __iter__(self) -> Iterator[str]:
        start = 0
        for _ in range(self._count):
            end = self._buffer.index(b"\0", start)
            yield self._buffer[start:end].decode("utf-8", "surrogateescape")
            start = end + 1


@dataclass(frozen=True)
class Photos:
    """The readable photos, numbered in sorted path order, class by class."""

    classes: list[str]  # in path order: by label + "/", so pie-x/ comes before pie/
    ends: list[int]  # where each class's photos end
    names: PathList  # paths within the class folder: its label is not repeated for each photo

    def bounds(self) -> list[tuple[str, int, int]]:
        """(label, first number, end) of each class, in path order."""
        return list(zip(self.classes, [0, *self.ends[:-1]], self.ends, strict=True))

    def labelled(self) -> Iterator[tuple[int, str, str]]:
        """(number, path, label) of every photo, in path order."""
        bounds = iter(zip(self.classes, self.ends, strict=True))
        label, end = "", 0
        for number, name in enumerate(self.names):
            while number == end:
                label, end = next(bounds)
            yield number, f"{label}/{name}", label


@dataclass(frozen=True)
class Scan:
    """The readable photos and, per photo, whether it was kept (not a duplicate) and is in the fixed test list;
    every file left out with why, and which of those were duplicates of a kept photo."""

    photos: Photos
    kept: np.ndarray  # bool per photo
    fixed: np.ndarray | None  # bool per photo; None without a fixed test list
    skipped: list[Skipped]
    duplicates: list[Duplicate]

    @property
    def files(self) -> dict[str, list[str]]:
        """The kept photos of each class, by label: a view for small folders (one str per photo)."""
        files: dict[str, list[str]] = {label: [] for label in sorted(self.photos.classes)}
        for number, path, label in self.photos.labelled():
            if self.kept[number]:
                files[label].append(path)
        return files


def scan(root: Path, near_duplicates: int | None, fixed_test: frozenset[str] | None = None) -> Scan:
    """Decode every file under root/<class>/ once; leave out unreadable files and duplicates of kept photos.

    near_duplicates is the difference-hash threshold in bits (None: pixel-identical copies only); with a
    fixed test list its photos are kept in preference to their copies (duplicates.find_duplicates).
    """
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist")
    classes = sorted(class_folders(root), key=lambda label: label + "/")
    if len(classes) < 2:
        raise DataError(f"image folder {root} needs at least 2 class sub-folders, found {len(classes)}")
    names, prints, fixed = PathList(), Fingerprints(), bytearray()
    ends, unreadable = [], []
    for label in classes:
        for name in sorted(class_files(root / label)):  # the order of f"{label}/{name}" too
            relative = f"{label}/{name}"
            try:
                prints.append(fingerprint(read_rgb(root / relative)))
            except UnreadableImage as error:
                unreadable.append(Skipped(relative, error.reason))
                continue
            names.append(name)
            if fixed_test is not None:
                fixed.append(relative in fixed_test)
        ends.append(len(names))
    flags = np.frombuffer(fixed, dtype=np.bool_) if fixed_test is not None else None
    found = find_duplicates(prints, near_duplicates, flags)
    del prints  # the fingerprints are done with; the split needs the paths only
    kept = np.ones(len(names), dtype=np.bool_)
    kept[[number for number, _, _ in found]] = False
    photos = Photos(classes, ends, names)
    duplicates = _named(found, photos)
    skipped = sorted(unreadable + [Skipped(d.path, d.reason) for d in duplicates], key=lambda s: s.path)
    return Scan(photos, kept, flags, skipped, duplicates)


def _named(found: list[tuple[int, int, int | None]], photos: Photos) -> list[Duplicate]:
    """The duplicates found by number, named and sorted by path (numbers are in path order)."""
    wanted = {number for duplicate in found for number in duplicate[:2]}
    paths = {number: path for number, path, _ in photos.labelled() if number in wanted}
    return [Duplicate(paths[number], paths[kept], distance) for number, kept, distance in sorted(found)]


def split_counts(total: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Images per split for one class: at least one in each of val and test, the rest in train."""
    test = max(1, round(total * test_fraction))
    val = max(1, round(total * val_fraction))
    return total - val - test, val, test


@dataclass(frozen=True)
class Split:
    """Each readable photo's split (LEFT_OUT for a duplicate), in path order."""

    found: Scan
    codes: np.ndarray  # uint8 index into SPLITS per photo

    def rows(self) -> Iterator[tuple[str, str, str]]:
        """The split table's (path, label, split) rows, sorted by path, one at a time."""
        for number, path, label in self.found.photos.labelled():
            if self.codes[number] != LEFT_OUT:
                yield path, label, SPLITS[self.codes[number]]

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class and split, classes in the order of their rows."""
        counts = {}
        for label, start, end in self.found.photos.bounds():
            per_split = np.bincount(self.codes[start:end], minlength=LEFT_OUT + 1)[:LEFT_OUT]
            counts[label] = dict(zip(SPLITS, per_split.tolist(), strict=True))
        return counts


def stratified_split(found: Scan, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """Assign each kept photo to a split, class by class (the order of sorted(paths) shuffled from the seed).

    With a fixed test list (a source's own), its photos are the test split (test_fraction is unused) and
    val_fraction of each class's images are drawn for val from its other photos.
    """
    codes = np.full(len(found.kept), LEFT_OUT, dtype=np.uint8)
    for label, start, end in sorted(found.photos.bounds()):
        numbers = start + np.flatnonzero(found.kept[start:end])
        shuffled = array("i", range(len(numbers)))  # machine integers: a class may hold most of the photos
        random.Random(f"{seed}/{label}").shuffle(shuffled)
        order = numbers[np.frombuffer(shuffled, dtype=np.int32)]
        _assign(codes, order, label, val_fraction, test_fraction, found.fixed)
    return Split(found, codes)


def _assign(
    codes: np.ndarray,
    shuffled: np.ndarray,
    label: str,
    val_fraction: float,
    test_fraction: float,
    fixed: np.ndarray | None,
) -> None:
    """Set the split codes of one class's photos, numbered in shuffled order."""
    test_code, val_code, train_code = SPLITS.index("test"), SPLITS.index("val"), SPLITS.index("train")
    if fixed is None:
        train, val, test = split_counts(len(shuffled), val_fraction, test_fraction)
        if train < 1:
            raise DataError(
                f"class '{label}' has {len(shuffled)} usable images, too few for a train/val/test split "
                f"(needs at least {len(shuffled) - train + 1})"
            )
        codes[shuffled[:test]] = test_code
        codes[shuffled[test : test + val]] = val_code
        codes[shuffled[test + val :]] = train_code
        return
    in_test = fixed[shuffled]
    rest = shuffled[~in_test]
    val = max(1, round(len(shuffled) * val_fraction))
    if len(rest) == len(shuffled):
        raise DataError(f"class '{label}' has 0 usable images in the fixed test list")
    if len(rest) <= val:
        raise DataError(
            f"class '{label}' has {len(rest)} usable images outside the fixed test list, too few for a "
            f"train/val split (needs at least {val + 1})"
        )
    codes[shuffled[in_test]] = test_code
    codes[rest[:val]] = val_code
    codes[rest[val:]] = train_code


def split_report(counts: dict[str, dict[str, int]], skipped: Iterable[Skipped]) -> dict:
    """Images per class and split, and every file that was left out with its reason."""
    totals = {split: sum(c[split] for c in counts.values()) for split in SPLITS}
    return {
        "images": totals,
        "classes": counts,
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
    }
