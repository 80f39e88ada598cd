"""Duplicate photos: pixel-identical copies and near-duplicates, so that no photo lands in two splits.

Each image is fingerprinted from the one decode the split stage makes anyway: a digest of its decoded
pixels (a re-saved copy with other bytes or metadata is the same photo) and, for re-compressed or resized
copies, a 64-bit difference hash (dHash: on a 9 x 8 thumbnail, whether each pixel is brighter than its left
neighbour) with the thumbnail's mean colour. Two photos are near-duplicates when their hashes differ in at
most `threshold` bits and their mean colours are close: the hash alone sees only brightness structure,
so it cannot tell two flat images of different colours apart.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

HASH_SIZE = (9, 8)  # 8 comparisons per row x 8 rows: 64 bits; exact area means (a reducing_gap halves the
# cost at 512 px but shifts the averaging blocks with the image size, and resized copies then drift 9-14 bits)
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's greyscale
COLOUR_TOLERANCE = 12.0  # levels of 255 per channel; a JPEG re-encode or a resize moves the mean 1-3 levels
ROWS_PER_CHUNK = 512  # of the pairwise hash comparison: 512 x 11,000 XORs at a time (45 MB)


@dataclass(frozen=True)
class Fingerprint:
    digest: str  # of the decoded size and RGB pixels
    dhash: int  # 64-bit difference hash
    colour: tuple[float, float, float]  # mean RGB of the hash's thumbnail


@dataclass(frozen=True)
class Duplicate:
    """A photo left out because it duplicates `kept`; distance None means pixel-identical."""

    path: str
    kept: str
    distance: int | None  # differing bits of the difference hashes

    @property
    def reason(self) -> str:
        if self.distance is None:
            return f"duplicate of {self.kept} (identical pixels)"
        return f"near-duplicate of {self.kept} (difference hash {self.distance} of 64 bits apart)"


def fingerprint(image: Image.Image) -> Fingerprint:
    """The digest, difference hash and mean colour of a decoded RGB image."""
    thumbnail = np.asarray(image.resize(HASH_SIZE, Image.Resampling.BOX), dtype=np.float64)
    grey = thumbnail @ LUMA
    bits = np.packbits(grey[:, 1:] > grey[:, :-1])
    digest = hashlib.blake2b(f"{image.width}x{image.height}:".encode(), digest_size=16)
    digest.update(image.tobytes())
    return Fingerprint(digest.hexdigest(), int.from_bytes(bits.tobytes(), "big"),
                       tuple(thumbnail.mean(axis=(0, 1)).tolist()))


def near_pairs(hashes: np.ndarray, colours: np.ndarray, threshold: int) -> list[tuple[int, int, int]]:
    """Every (i, j, distance) with i < j whose uint64 hashes differ in <= threshold bits and colours match.

    Vectorised in chunks of rows: 11,000 images are 60 million pairs, about a second in numpy.
    """
    pairs = []
    for start in range(0, len(hashes), ROWS_PER_CHUNK):
        rows = hashes[start : start + ROWS_PER_CHUNK]
        distances = np.bitwise_count(rows[:, None] ^ hashes[None, start:])
        first, second = np.nonzero(distances <= threshold)
        later = second > first  # the block starts at the diagonal: each pair once, not a photo with itself
        first, second = first[later] + start, second[later] + start
        close = np.abs(colours[first] - colours[second]).max(axis=1) <= COLOUR_TOLERANCE
        pairs += zip(first[close].tolist(), second[close].tolist(),
                     distances[first[close] - start, second[close] - start].tolist())
    return pairs


def find_duplicates(fingerprints: dict[str, Fingerprint], threshold: int | None,
                    preferred: frozenset[str] = frozenset()) -> list[Duplicate]:
    """The photos to leave out: of each group of copies, one photo is kept and the others are returned.

    Photos are taken in order, the `preferred` ones (a fixed test list) first, then the rest, each by sorted
    path; a photo is left out when it is pixel-identical to a photo already kept, or (threshold not None)
    within threshold bits of one, naming the first such photo in that order. No two kept photos are
    duplicates, and a fixed test photo is never left out in favour of a training photo.
    """
    order = sorted(fingerprints, key=lambda path: (path not in preferred, path))
    earlier: dict[int, list[tuple[int, int]]] = {}
    if threshold is not None and order:
        hashes = np.array([fingerprints[path].dhash for path in order], dtype=np.uint64)
        colours = np.array([fingerprints[path].colour for path in order], dtype=np.float64)
        for first, second, distance in sorted(near_pairs(hashes, colours, threshold)):
            earlier.setdefault(second, []).append((first, distance))
    kept_digests: dict[str, str] = {}
    kept: set[int] = set()
    duplicates = []
    for index, path in enumerate(order):
        digest = fingerprints[path].digest
        if digest in kept_digests:
            duplicates.append(Duplicate(path, kept_digests[digest], None))
            continue
        match = next(((first, distance) for first, distance in earlier.get(index, []) if first in kept), None)
        if match is not None:
            duplicates.append(Duplicate(path, order[match[0]], match[1]))
            continue
        kept.add(index)
        kept_digests[digest] = path
    return duplicates


def duplicate_report(duplicates: list[Duplicate], classes: list[str], threshold: int | None,
                     fixed_test: frozenset[str] | None) -> dict:
    """The duplicates left out per class, each group (the kept photo and its copies) and, with a fixed test
    list, the leaks: training photos left out as copies of a test photo."""
    per_class = {label: {"identical": 0, "near": 0} for label in sorted(classes)}
    groups: dict[str, list[dict]] = {}
    for duplicate in sorted(duplicates, key=lambda d: d.path):
        per_class[duplicate.path.split("/")[0]]["identical" if duplicate.distance is None else "near"] += 1
        groups.setdefault(duplicate.kept, []).append({"path": duplicate.path, "distance": duplicate.distance})
    leaks = None if fixed_test is None else sum(d.kept in fixed_test and d.path not in fixed_test for d in duplicates)
    return {
        "near_duplicates": "off" if threshold is None else threshold,
        "left_out": len(duplicates),
        "test_leaks": leaks,
        "per_class": per_class,
        "groups": [{"kept": kept, "copies": copies} for kept, copies in sorted(groups.items())],
    }
